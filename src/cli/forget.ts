import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { hardwareIdProblem } from '../protocol/validation.js';
import { defineCommand, ExitCode, UsageError } from './command.js';
import { withMemoryDatabase } from './memory-database.js';

const USAGE = `usage: nexy forget --hardware-id ID [--config PATH]

Removes everything the server remembers about a device: its turns, facts, summary and usage
records. Opens the memory database of the configuration directly (memory_management), so it
works with the server running or stopped. A running server also offers this as
DELETE /admin/memory/{hardware_id} on its HTTP port (see admin.token).

options:
  --hardware-id ID     the device to forget (required)
  --config PATH        a config file merged over config/unified_config.yaml

exit codes: 0 forgotten (also when nothing was stored), 2 bad usage or configuration,
            3 the memory database cannot be reached
`;

/** `nexy forget`: the `forget` operation of the memory store, from the command line. */
export const forget = defineCommand(
  { name: 'forget', usage: USAGE, options: { 'hardware-id': { type: 'string' }, config: { type: 'string' } } },
  async ({ values }, context) => {
    const hardwareId = values['hardware-id'];
    if (hardwareId === undefined) throw new UsageError('--hardware-id is required');
    const problem = hardwareIdProblem(hardwareId);
    if (problem) throw new UsageError(`--hardware-id: ${problem}`);
    const section = loadConfig({ overridePath: values.config }).memory_management;

    if (section.backend === 'none') {
      context.stdout.write('memory_management.backend is none: nothing is stored\n');
      return ExitCode.ok;
    }
    // Opening would create an empty database; a wrong path should say so instead.
    if (section.backend === 'sqlite' && !existsSync(section.sqlite.path)) {
      context.stdout.write(`nothing stored: ${section.sqlite.path} does not exist\n`);
      return ExitCode.ok;
    }
    return withMemoryDatabase('forget', section, context, async (store) => {
      await store.forget(hardwareId);
      context.stdout.write(`forgot everything stored for ${hardwareId} (${store.name})\n`);
      return ExitCode.ok;
    });
  },
);
