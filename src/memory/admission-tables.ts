import type { Kysely } from 'kysely';
import type { MemoryDb } from './db.js';

/** Rows of migration 002 (quota counters, device tokens), as both dialects return them. */
export interface QuotaUsageRow {
  hardware_key: string;
  period: string;
  period_start: number;
  answers: number;
  tokens: number;
  updated_at: number;
}

export interface DeviceTokenRow {
  id: string;
  token_hash: string;
  label: string;
  hardware_keys: string;
  created_at: number;
  revoked_at: number | null;
}

// A type alias, not an interface: Kysely's withTables wants an indexable record type.
export type AdmissionTables = {
  quota_usage: QuotaUsageRow;
  device_tokens: DeviceTokenRow;
};

export type AdmissionDb = Kysely<AdmissionTables>;

/** The memory database seen with the admission tables (same connection, same schema). */
export function admissionDb(db: MemoryDb): AdmissionDb {
  return db.withTables<AdmissionTables>() as unknown as AdmissionDb;
}
