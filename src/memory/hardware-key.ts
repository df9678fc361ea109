import { createHmac, randomBytes } from 'node:crypto';
import type { MemoryDb } from './db.js';

/** Maps a hardware id to the key its rows are stored under. */
export type HardwareKeyFn = (hardwareId: string) => string;

export interface HardwareKeyOptions {
  /** Store ids as given (`memory_management.store_raw_hardware_id`). */
  readonly storeRaw: boolean;
  /** HMAC key; '' means the key generated once and kept in the database. */
  readonly hashKey: string;
}

const META_HASH_KEY = 'hardware_id_hash_key';
// 256 bits: the HMAC-SHA256 block-size guidance, more than enough against guessing.
const GENERATED_KEY_BYTES = 32;

/** HMAC-SHA256 of the id, base64url (43 characters). */
export function hashHardwareId(key: string, hardwareId: string): string {
  return createHmac('sha256', key).update(hardwareId, 'utf8').digest('base64url');
}

/**
 * Builds the id → key mapping for a store. With no configured key it reads the database's own
 * key, generating it on the very first start; concurrent first starts of several instances
 * agree because only the first insert wins.
 */
export async function resolveHardwareKey(db: MemoryDb, options: HardwareKeyOptions): Promise<HardwareKeyFn> {
  if (options.storeRaw) return (id) => id;
  const key = options.hashKey !== '' ? options.hashKey : await databaseKey(db);
  return (id) => hashHardwareId(key, id);
}

async function databaseKey(db: MemoryDb): Promise<string> {
  await db
    .insertInto('memory_meta')
    .values({ name: META_HASH_KEY, value: randomBytes(GENERATED_KEY_BYTES).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('memory_meta').select('value').where('name', '=', META_HASH_KEY).executeTakeFirstOrThrow();
  return row.value;
}
