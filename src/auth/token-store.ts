import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { admissionDb, type AdmissionDb } from '../memory/admission-tables.js';
import type { MemoryDb } from '../memory/db.js';
import type { HardwareKeyFn } from '../memory/hardware-key.js';

/** Every token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = 'nexy_';
// 256 bits of randomness: guessing is hopeless, so an unsalted SHA-256 is a sound stored form.
const TOKEN_BYTES = 32;
const ID_BYTES = 6;
/** The stored marker of a token that may act for any hardware id. */
export const ANY_HARDWARE = '*';

/** SHA-256 of the token, hex: what the database keeps and lookups use. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What a lookup finds for a token. */
export interface TokenGrant {
  readonly id: string;
  readonly label: string;
  /** Hardware keys (see memory_management.store_raw_hardware_id) it may act for. */
  readonly hardwareKeys: ReadonlySet<string>;
  readonly anyHardware: boolean;
}

export interface TokenListing {
  readonly id: string;
  readonly label: string;
  readonly devices: number | 'any';
  readonly createdAt: Date;
  readonly revokedAt?: Date;
}

/**
 * Device tokens in the memory database (table device_tokens): issued once (the plain token is
 * shown only then), stored as SHA-256, each bound to hardware ids kept as the store's keys.
 */
export class TokenStore {
  readonly #db: AdmissionDb;
  readonly #keyOf: HardwareKeyFn;

  constructor(db: MemoryDb, keyOf: HardwareKeyFn) {
    this.#db = admissionDb(db);
    this.#keyOf = keyOf;
  }

  /** Creates a token for `hardwareIds` (or any device); returns its id and the plain token. */
  async issue(input: { label: string; hardwareIds: readonly string[] | 'any'; now: Date }): Promise<{ id: string; token: string }> {
    const token = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
    const id = `tok_${randomBytes(ID_BYTES).toString('hex')}`;
    const keys = input.hardwareIds === 'any' ? [ANY_HARDWARE] : [...new Set(input.hardwareIds.map((h) => this.#keyOf(h)))];
    await run(() =>
      this.#db
        .insertInto('device_tokens')
        .values({
          id,
          token_hash: hashToken(token),
          label: input.label,
          hardware_keys: JSON.stringify(keys),
          created_at: input.now.getTime(),
          revoked_at: null,
        })
        .execute(),
    );
    return { id, token };
  }

  /** Revokes by id; false when there is no such (unrevoked) token. */
  async revoke(id: string, now: Date): Promise<boolean> {
    const result = await run(() =>
      this.#db.updateTable('device_tokens').set({ revoked_at: now.getTime() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async list(): Promise<TokenListing[]> {
    const rows = await run(() => this.#db.selectFrom('device_tokens').selectAll().orderBy('created_at').execute());
    return rows.map((row) => {
      const keys = JSON.parse(row.hardware_keys) as string[];
      return {
        id: row.id,
        label: row.label,
        devices: keys.includes(ANY_HARDWARE) ? 'any' : keys.length,
        createdAt: new Date(Number(row.created_at)),
        ...(row.revoked_at === null ? {} : { revokedAt: new Date(Number(row.revoked_at)) }),
      };
    });
  }

  /** The grant of a valid (issued, unrevoked) token; undefined otherwise. */
  async lookup(token: string): Promise<TokenGrant | undefined> {
    const row = await run(() =>
      this.#db
        .selectFrom('device_tokens')
        .select(['id', 'label', 'hardware_keys'])
        .where('token_hash', '=', hashToken(token))
        .where('revoked_at', 'is', null)
        .executeTakeFirst(),
    );
    if (row === undefined) return undefined;
    const keys = JSON.parse(row.hardware_keys) as string[];
    return { id: row.id, label: row.label, hardwareKeys: new Set(keys), anyHardware: keys.includes(ANY_HARDWARE) };
  }

  /** The key a hardware id is bound under (for checking a grant). */
  keyOf(hardwareId: string): string {
    return this.#keyOf(hardwareId);
  }
}

async function run<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw error instanceof AppError ? error : new AppError('unavailable', 'token database unavailable', { cause: error });
  }
}
