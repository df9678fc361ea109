import type { Migration, MigrationProvider } from 'kysely';
import { initialMigration } from './001-initial.js';
import { admissionMigration } from './002-admission.js';

/**
 * Every migration, keyed by a name that sorts in the order they must run. Append only: a
 * migration that has shipped is never edited, a change is a new entry.
 */
const migrations: Readonly<Record<string, Migration>> = {
  '001-initial': initialMigration,
  '002-admission': admissionMigration,
};

/** In-code provider, so migrations ship inside the bundle and need no directory scan. */
export const memoryMigrations: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...migrations }),
};
