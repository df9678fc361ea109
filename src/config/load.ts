import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PACKAGE_ROOT } from '../package-root.js';
import { configSchema, type Config } from './schema.js';

/** The shipped defaults: config/unified_config.yaml at the package root. */
export const DEFAULT_CONFIG_PATH = resolve(PACKAGE_ROOT, 'config/unified_config.yaml');

/** Every problem found while loading the configuration, one line each. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** A file merged over the defaults (`--config PATH`). Falls back to env NEXY_CONFIG. */
  overridePath?: string;
  /** Extra overrides merged last (tests, the CLI's in-process mode). */
  overrides?: DeepPartial<PlainConfig>;
  /** The environment used for ${VAR} substitution; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The defaults file; the shipped one when absent. */
  defaultsPath?: string;
}

type PlainConfig = { -readonly [K in keyof Config]: Config[K] };
export type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * Loads defaults, merges the override file and explicit overrides, substitutes ${VAR} and
 * ${VAR:-default} from the environment, validates, and returns a deeply frozen object.
 * Throws ConfigError listing every problem.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const defaults = readYaml(options.defaultsPath ?? DEFAULT_CONFIG_PATH, env, problems);
  let merged: unknown = defaults;
  const overridePath = options.overridePath ?? (env.NEXY_CONFIG || undefined);
  if (overridePath) merged = deepMerge(merged, readYaml(resolve(overridePath), env, problems));
  if (options.overrides) merged = deepMerge(merged, options.overrides);
  if (problems.length > 0) throw new ConfigError(problems);

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return deepFreeze(result.data);
}

function readYaml(path: string, env: LoadOptions['env'] & object, problems: string[]): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text) ?? {};
  } catch (error) {
    problems.push(`${path}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
    return {};
  }
  if (!isPlainObject(parsed)) {
    problems.push(`${path}: the top level must be a mapping`);
    return {};
  }
  return substituteEnv(parsed, env, problems, path);
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_VAR = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Substitutes variables inside string scalars only (never in raw YAML text, so a value cannot
 * inject structure). A scalar that is exactly one ${...} is re-read as a YAML scalar, so
 * `port: ${PORT:-50051}` stays a number.
 */
function substituteEnv(value: unknown, env: Record<string, string | undefined>, problems: string[], where: string): unknown {
  if (typeof value === 'string') {
    const replaced = value.replace(VAR, (_match, name: string, fallback: string | undefined) => {
      const fromEnv = env[name];
      if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
      if (fallback !== undefined) return fallback;
      problems.push(`${where}: environment variable ${name} is not set and has no default`);
      return '';
    });
    if (WHOLE_VAR.test(value) && replaced !== '') {
      const scalar: unknown = parseYaml(replaced);
      if (typeof scalar === 'number' || typeof scalar === 'boolean') return scalar;
    }
    return replaced;
  }
  if (Array.isArray(value)) return value.map((v) => substituteEnv(v, env, problems, where));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, problems, where)]));
  }
  return value;
}

/** Mappings merge key by key; anything else (scalars, lists) is replaced by the override. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
