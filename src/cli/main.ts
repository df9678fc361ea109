import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { ask } from './ask.js';
import { ExitCode, isParseArgsError, UsageError, type CliCommand, type CliContext } from './command.js';
import { describeFailure } from './connection.js';
import { forget } from './forget.js';
import { interrupt } from './interrupt.js';
import { release } from './release.js';
import { serve } from './serve.js';
import { token } from './token.js';
import { welcome } from './welcome.js';

const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'serve [--config PATH]    run the server (what `npm start` runs)',
  usage: 'usage: nexy serve [--config PATH]\n',
  async run(args) {
    const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
    return serve({ config: values.config });
  },
};

/** The command table: `nexy <name> ...`. */
const COMMANDS: readonly CliCommand[] = [serveCommand, ask, welcome, interrupt, release, forget, token];

const USAGE = `usage: nexy <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.summary}`).join('\n')}

\`nexy <command> --help\` describes a command.
`;

/** The process environment main reads: NEXY_SERVER and NEXY_TOKEN, handed to the commands as defaults. */
export interface MainEnvironment {
  readonly NEXY_SERVER?: string;
  readonly NEXY_TOKEN?: string;
}

/** The `nexy` command line. Resolves to the process exit code (2: bad usage). */
export async function main(argv: string[], env: MainEnvironment = { NEXY_SERVER: process.env.NEXY_SERVER, NEXY_TOKEN: process.env.NEXY_TOKEN }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    (name === undefined ? process.stderr : process.stdout).write(USAGE);
    return name === undefined ? ExitCode.badUsage : ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`nexy: unknown command ${JSON.stringify(name)}\n${USAGE}`);
    return ExitCode.badUsage;
  }
  const context: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    defaultServer: env.NEXY_SERVER,
    defaultToken: env.NEXY_TOKEN,
    signals: process,
  };
  try {
    return await command.run(rest, context);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      process.stderr.write(`nexy ${command.name}: ${error.message} (see nexy ${command.name} --help)\n`);
      return ExitCode.badUsage;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`nexy: ${error.message}\n`);
      return ExitCode.badUsage;
    }
    if (command === serveCommand) throw error;
    // A bug of the CLI itself: still one line, no stack, as for any other failure.
    process.stderr.write(`${describeFailure(error)}\n`);
    return ExitCode.localFailure;
  }
}
