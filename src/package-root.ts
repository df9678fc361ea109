import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The install directory (where package.json and config/ are). Modules run from src/ (tsx) or
 * from dist/ (the compiled build, which mirrors src/ file for file); both sit one level below
 * it, so the package root is the parent of this module's folder either way.
 */
export const PACKAGE_ROOT: string = fileURLToPath(new URL('..', import.meta.url));

/** The version in package.json (/status, the operator page). */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
