import { hardwareIdProblem } from '../protocol/validation.js';
import { defineCommand, ExitCode, UsageError } from './command.js';
import { connect, CONNECTION_USAGE, connectionOptions, describeFailure, loadCliConfig } from './connection.js';
import { machineHardwareId } from './machine-id.js';

const USAGE = `usage: nexy interrupt [options]

Stops every answer the server is giving to a device (InterruptSession).

options:
  --hardware-id ID     the device (default: this machine's id, as nexy ask sends it)
${CONNECTION_USAGE}

exit codes: 0 done (also when nothing was running), 2 bad usage, 3 server error or no connection
`;

/** `nexy interrupt`: InterruptSession for a hardware id. */
export const interrupt = defineCommand(
  { name: 'interrupt', usage: USAGE, options: { ...connectionOptions, 'hardware-id': { type: 'string' } } },
  async ({ values }, context) => {
    const hardwareId = values['hardware-id'] ?? machineHardwareId();
    const problem = hardwareIdProblem(hardwareId);
    if (problem) throw new UsageError(`--hardware-id: ${problem}`);
    const config = loadCliConfig(values);
    const client = connect(values, context, config);
    try {
      const response = await client.interrupt(hardwareId);
      const sessions = response.interruptedSessions;
      context.stdout.write(
        sessions.length === 0 ? 'nothing was running\n' : `interrupted ${sessions.length} session(s): ${sessions.join(', ')}\n`,
      );
      return ExitCode.ok;
    } catch (error) {
      context.stderr.write(`${describeFailure(error, client.address)}\n`);
      return ExitCode.serverError;
    } finally {
      client.close();
    }
  },
);
