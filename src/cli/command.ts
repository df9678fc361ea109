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
