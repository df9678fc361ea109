import { parseArgs } from 'node:util';
import { ExitCode, isParseArgsError, UsageError, type CliCommand, type CliContext } from './command.js';

/**
 * A `nexy <name>` command as the table lists it: its module is imported only when it runs, so
 * `nexy --help` loads none of them (no server, gRPC, SDKs or sharp) and each command loads only
 * its own graph.
 */
interface CommandEntry {
  readonly name: string;
  /** One line for `nexy --help`. */
  readonly summary: string;
  load(): Promise<CliCommand>;
}

const serveCommand: CliCommand = {
  name: 'serve',
  usage: 'usage: nexy serve [--config PATH]\n',
  async run(args) {
    const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
    const { serve } = await import('./serve.js');
    return serve({ config: values.config });
  },
};

/** The command table: `nexy <name> ...`. */
const COMMANDS: readonly CommandEntry[] = [
  { name: 'serve', summary: 'serve [--config PATH]    run the server (what `npm start` runs)', load: async () => serveCommand },
  {
    name: 'ask',
    summary: 'ask "prompt" [--screenshot FILE] [--out reply.wav] [--play] [--interim TEXT ...]',
    load: async () => (await import('./ask.js')).ask,
  },
  {
    name: 'welcome',
    summary: 'welcome [--text TEXT] [--voice VOICE] [--language LANG] [--out hi.wav] [--play]',
    load: async () => (await import('./welcome.js')).welcome,
  },
  { name: 'interrupt', summary: 'interrupt [--hardware-id ID]', load: async () => (await import('./interrupt.js')).interrupt },
  {
    name: 'release',
    summary: 'release add|keygen ...    publish a client update, make its signing key',
    load: async () => (await import('./release.js')).release,
  },
  {
    name: 'forget',
    summary: 'forget --hardware-id ID    remove everything remembered about a device',
    load: async () => (await import('./forget.js')).forget,
  },
  {
    name: 'token',
    summary: 'token issue|revoke|list    device tokens (auth.mode token)',
    load: async () => (await import('./token.js')).token,
  },
];

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
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
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
    return await (await entry.load()).run(rest, context);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      process.stderr.write(`nexy ${entry.name}: ${error.message} (see nexy ${entry.name} --help)\n`);
      return ExitCode.badUsage;
    }
    // Loaded here, not up front: the command that threw has already imported both.
    const { ConfigError } = await import('../config/load.js');
    if (error instanceof ConfigError) {
      process.stderr.write(`nexy: ${error.message}\n`);
      return ExitCode.badUsage;
    }
    if (entry.name === 'serve') throw error;
    // A bug of the CLI itself: still one line, no stack, as for any other failure.
    const { describeFailure } = await import('./connection.js');
    process.stderr.write(`${describeFailure(error)}\n`);
    return ExitCode.localFailure;
  }
}
