import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * What every `nexy` subcommand shares: exit codes, the usage error, and the context main.ts hands
 * in (the only place that reads process.env is main.ts).
 */

/** Exit codes of the `nexy` command (README.md, "Exit codes"). */
export const ExitCode = {
  ok: 0,
  /** Something failed on this machine (writing --out, a player that crashed). */
  localFailure: 1,
  badUsage: 2,
  /** An error from the server, or no connection to it. */
  serverError: 3,
  /** Ctrl-C: 128 + SIGINT (2), the shell convention. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in the command line or its arguments: one line on stderr and exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The writable side of a terminal or a pipe; `isTTY` decides between progress and plain output. */
export interface OutputStream {
  write(chunk: string | Uint8Array): boolean;
  readonly isTTY?: boolean;
}

export interface CliContext {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** NEXY_SERVER, read by main.ts: the server when --server is not given. */
  readonly defaultServer?: string;
  /** NEXY_TOKEN, read by main.ts: the device token when --token is not given. */
  readonly defaultToken?: string;
  /** Where SIGINT is listened for; `process` outside tests. */
  readonly signals: Pick<NodeJS.Process, 'on' | 'off'>;
}

export interface CliCommand {
  readonly name: string;
  /** The full usage text of `nexy <name> --help`. */
  readonly usage: string;
  /** Resolves to the exit code. Throws UsageError for bad usage. */
  run(args: string[], context: CliContext): Promise<number>;
}

/** True for the TypeError node:util's parseArgs throws on unknown or malformed options. */
export function isParseArgsError(error: unknown): error is TypeError {
  return error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS');
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;
type ParsedArgs<O extends OptionsConfig, P extends boolean> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof HELP; strict: true; allowPositionals: P }>
>;

/**
 * A `nexy` subcommand whose arguments are parsed strictly with `options` (positionals only when
 * `allowPositionals`) before `run` sees them; `-h`/`--help` prints `usage` and exits 0.
 */
export function defineCommand<const O extends OptionsConfig, const P extends boolean = false>(
  spec: { readonly name: string; readonly usage: string; readonly options: O; readonly allowPositionals?: P },
  run: (parsed: ParsedArgs<O, P>, context: CliContext) => Promise<number>,
): CliCommand {
  return {
    name: spec.name,
    usage: spec.usage,
    async run(args, context) {
      const options = { ...spec.options, ...HELP };
      const parsed = parseArgs({ args, options, strict: true, allowPositionals: spec.allowPositionals ?? false }) as ParsedArgs<O, P>;
      if ((parsed.values as { help?: boolean }).help) {
        context.stdout.write(spec.usage);
        return ExitCode.ok;
      }
      return run(parsed, context);
    },
  };
}
