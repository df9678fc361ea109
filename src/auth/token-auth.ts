import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { TokenGrant, TokenStore } from './token-store.js';

export interface TokenAuthOptions {
  readonly section: Config['auth'];
  readonly store: Pick<TokenStore, 'lookup' | 'keyOf'>;
  /** Monotonic milliseconds (cache expiry). */
  readonly now: () => number;
}

export type RefusalReason = 'missing' | 'invalid' | 'other_device' | 'unavailable';

/** A call refused by token auth: an AppError whose `reason` the metrics count. */
export class AuthRefusal extends AppError {
  readonly reason: RefusalReason;
  constructor(kind: 'unauthenticated' | 'denied' | 'unavailable', reason: RefusalReason, message: string, cause?: unknown) {
    super(kind, message, { cause });
    this.name = 'AuthRefusal';
    this.reason = reason;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
// Longer than any token we issue by far; a bigger header is not worth hashing.
const MAX_TOKEN_CHARS = 512;

interface CacheEntry {
  readonly grant: TokenGrant | undefined;
  readonly until: number;
}

/**
 * `auth.mode: token`: every call carries `authorization: Bearer <token>`; the token must be
 * issued and unrevoked, and bound to the hardware id the call acts for. Lookups (found or
 * not) are cached for `cache_ttl_ms` in a bounded map, so a flood of bad tokens costs the
 * database one query per distinct token per TTL at most.
 */
export class TokenAuth {
  readonly #options: TokenAuthOptions;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(options: TokenAuthOptions) {
    this.#options = options;
  }

  /**
   * Throws AppError `unauthenticated` (no or unknown token), `denied` (the token may not act
   * for `hardwareId`) or `unavailable` (the token database cannot be asked).
   */
  async authorize(authorization: string | undefined, hardwareId: string | undefined): Promise<void> {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined || token.length > MAX_TOKEN_CHARS) {
      throw new AuthRefusal('unauthenticated', 'missing', 'a device token is required: send the metadata "authorization: Bearer <token>"');
    }
    const grant = await this.#grant(token);
    if (grant === undefined) {
      throw new AuthRefusal('unauthenticated', 'invalid', 'the device token is not valid (unknown or revoked)');
    }
    if (hardwareId !== undefined && !grant.anyHardware && !grant.hardwareKeys.has(this.#options.store.keyOf(hardwareId))) {
      throw new AuthRefusal('denied', 'other_device', 'this device token may not act for that hardware_id');
    }
  }

  async #grant(token: string): Promise<TokenGrant | undefined> {
    const now = this.#options.now();
    const cached = this.#cache.get(token);
    if (cached !== undefined && cached.until > now) return cached.grant;
    this.#cache.delete(token);
    const { section } = this.#options;
    let timer: NodeJS.Timeout | undefined;
    let grant: TokenGrant | undefined;
    try {
      grant = await Promise.race([
        this.#options.store.lookup(token),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AppError('unavailable', 'token database did not answer in time')), section.lookup_timeout_ms);
        }),
      ]);
    } catch (error) {
      throw new AuthRefusal('unavailable', 'unavailable', error instanceof AppError ? error.message : 'token database unavailable', error);
    } finally {
      clearTimeout(timer);
    }
    if (section.cache_ttl_ms > 0) {
      this.#cache.set(token, { grant, until: now + section.cache_ttl_ms });
      for (const key of this.#cache.keys()) {
        if (this.#cache.size <= section.cache_max_entries) break;
        this.#cache.delete(key);
      }
    }
    return grant;
  }
}
