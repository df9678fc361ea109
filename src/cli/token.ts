import { existsSync } from 'node:fs';
import { TokenStore } from '../auth/token-store.js';
import { loadConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import { SqlMemoryStore } from '../memory/sql-memory-store.js';
import { hardwareIdProblem } from '../protocol/validation.js';
import { defineCommand, ExitCode, UsageError, type CliContext } from './command.js';
import { withMemoryDatabase } from './memory-database.js';

const USAGE = `usage: nexy token issue (--hardware-id ID ... | --any-hardware-id) [--label TEXT] [--config PATH]
       nexy token revoke TOKEN_ID [--config PATH]
       nexy token list [--config PATH]

Device tokens for auth.mode token (SECURITY.md). Opens the memory database of the
configuration directly (memory_management: sqlite or postgres), so it works with the server
running or stopped; a running server sees a revocation within auth.cache_ttl_ms.

  issue    prints the new token alone on stdout (it is shown only this once: the database
           keeps its SHA-256) and its id on stderr. --hardware-id may be repeated: the token
           acts for those devices only; --any-hardware-id: for every device (operators).
  revoke   revokes the token with that id (tok_…, as issue and list show it)
  list     id, label, devices, created and revoked time of every token; never the tokens

options:
  --hardware-id ID     a device the token may act for (repeatable)
  --any-hardware-id    the token may act for any device
  --label TEXT         a name to recognise the token by (default: empty)
  --config PATH        a config file merged over config/unified_config.yaml

exit codes: 0 done, 2 bad usage or configuration, 3 the memory database cannot be reached
            or (revoke) no such token
`;

const MAX_LABEL_CHARS = 200;

/** `nexy token issue|revoke|list`: device tokens in the memory database. */
export const token = defineCommand(
  {
    name: 'token',
    usage: USAGE,
    allowPositionals: true,
    options: {
      'hardware-id': { type: 'string', multiple: true },
      'any-hardware-id': { type: 'boolean' },
      label: { type: 'string' },
      config: { type: 'string' },
    },
  },
  async ({ values, positionals }, context) => {
    const [action, ...rest] = positionals;
    const hardwareIds = values['hardware-id'] ?? [];
    let work: (store: TokenStore) => Promise<number>;
    switch (action) {
      case 'issue': {
        if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
        if (values['any-hardware-id'] === true && hardwareIds.length > 0) throw new UsageError('give --hardware-id or --any-hardware-id, not both');
        if (values['any-hardware-id'] !== true && hardwareIds.length === 0) throw new UsageError('--hardware-id (or --any-hardware-id) is required');
        for (const id of hardwareIds) {
          const problem = hardwareIdProblem(id);
          if (problem) throw new UsageError(`--hardware-id ${JSON.stringify(id)}: ${problem}`);
        }
        const label = values.label ?? '';
        if (label.length > MAX_LABEL_CHARS) throw new UsageError(`--label is longer than ${MAX_LABEL_CHARS} characters`);
        work = async (store) => {
          const issued = await store.issue({ label, hardwareIds: values['any-hardware-id'] === true ? 'any' : hardwareIds, now: new Date() });
          context.stdout.write(`${issued.token}\n`);
          const scope = values['any-hardware-id'] === true ? 'any device' : `${new Set(hardwareIds).size} device(s)`;
          context.stderr.write(`issued ${issued.id} for ${scope}; the token above is shown only this once\n`);
          return ExitCode.ok;
        };
        break;
      }
      case 'revoke': {
        if (rest.length !== 1) throw new UsageError('revoke takes one TOKEN_ID');
        const id = rest[0];
        work = async (store) => {
          if (await store.revoke(id, new Date())) {
            context.stdout.write(`revoked ${id}\n`);
            return ExitCode.ok;
          }
          context.stderr.write(`nexy token: no unrevoked token with id ${id}\n`);
          return ExitCode.serverError;
        };
        break;
      }
      case 'list':
        if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
        work = async (store) => {
          for (const t of await store.list()) {
            const revoked = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : 'active';
            context.stdout.write(`${t.id}\t${revoked}\tdevices: ${t.devices}\tcreated ${t.createdAt.toISOString()}\t${t.label}\n`);
          }
          return ExitCode.ok;
        };
        break;
      default:
        throw new UsageError(action === undefined ? 'issue, revoke or list is required' : `unknown action ${JSON.stringify(action)}`);
    }
    return withTokenStore(values.config, context, action === 'issue', work);
  },
);

async function withTokenStore(
  configPath: string | undefined,
  context: CliContext,
  creates: boolean,
  work: (store: TokenStore) => Promise<number>,
): Promise<number> {
  const section = loadConfig({ overridePath: configPath }).memory_management;
  if (section.backend === 'none') {
    throw new UsageError('device tokens live in the memory database: memory_management.backend is none (set sqlite or postgres)');
  }
  // Only issue may create the database; list and revoke on a wrong path should say so instead.
  if (!creates && section.backend === 'sqlite' && !existsSync(section.sqlite.path)) {
    context.stderr.write(`nexy token: no memory database at ${section.sqlite.path}\n`);
    return ExitCode.serverError;
  }
  return withMemoryDatabase('token', section, context, async (memory) => {
    if (!(memory instanceof SqlMemoryStore)) throw new AppError('unavailable', 'no memory database');
    const { db, keyOf } = memory.database;
    return work(new TokenStore(db, keyOf));
  });
}
