import type { Logger } from 'pino';
import { AuthRefusal, type TokenAuth } from '../auth/token-auth.js';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { AdmissionMetrics } from './admission-metrics.js';
import type { AdmissionClock } from './clock.js';
import type { Quotas } from './quotas.js';
import { RateLimiter, type BucketSpec } from './rate-limiter.js';

/** The calls admission knows; `usage` (ReportUsage) is checked for its token only. */
export type GuardedCall = 'commit' | 'collect' | 'welcome' | 'interrupt' | 'usage';

const RPC_NAME: Readonly<Record<GuardedCall, string>> = {
  commit: 'StreamAudio',
  collect: 'StreamAudio',
  welcome: 'GenerateWelcomeAudio',
  interrupt: 'InterruptSession',
  usage: 'ReportUsage',
};

interface BucketConfig {
  readonly burst: number;
  readonly per_minute: number;
}
interface RpcRates {
  readonly per_peer: BucketConfig;
  readonly per_hardware_id?: BucketConfig;
}

/** Who is calling: what the transport knows, free of its types. */
export interface CallIdentity {
  readonly call: GuardedCall;
  /** The peer as the transport reports it (`1.2.3.4:5678`, `[::1]:5678`, `ipv4:…`). */
  readonly peer: string;
  /** The hardware id the call acts for; none for the welcome. */
  readonly hardwareId?: string;
  /** The `authorization` metadata, when sent. */
  readonly authorization?: string;
}

/** A running answer's hold on its slot; `end` gives it back (idempotent) and counts the answer. */
export interface AnswerTicket {
  end(answered: boolean): void;
}

export interface CallGuardOptions {
  readonly limits: Config['limits'];
  readonly metrics: AdmissionMetrics;
  readonly logger: Logger;
  readonly clock: AdmissionClock;
  readonly auth?: TokenAuth;
  readonly quotas?: Quotas;
}

/**
 * Admission of every call, in the order that keeps the costly checks behind the cheap ones:
 * the peer's rate bucket, the device token, the hardware id's bucket; then for a COMMIT its
 * answer slot (concurrent answers per hardware id), the quota and the stream duration timer.
 * Refusals are AppError `limit`, `unauthenticated` or `denied`, counted in metrics.
 */
export class CallGuard {
  readonly #options: CallGuardOptions;
  readonly #rates: RateLimiter;
  readonly #answers = new Map<string, number>();

  constructor(options: CallGuardOptions) {
    this.#options = options;
    this.#rates = new RateLimiter({
      idleMs: options.limits.bucket_idle_ms,
      maxBuckets: options.limits.max_buckets,
      now: () => options.clock.now(),
      onEvicted: () => options.metrics.bucketsEvicted.inc(),
    });
    options.metrics.bucketCount = () => this.#rates.size;
  }

  /** Rate limits and the device token of one call. */
  async admit(identity: CallIdentity): Promise<void> {
    const { call } = identity;
    const rates: RpcRates | undefined = this.#options.limits.enabled && call !== 'usage' ? this.#options.limits.rates[call] : undefined;
    if (rates) this.#take(call, 'peer', peerAddress(identity.peer), rates.per_peer);
    try {
      await this.#options.auth?.authorize(identity.authorization, identity.hardwareId);
    } catch (error) {
      if (error instanceof AuthRefusal) this.#options.metrics.authFailures.inc({ rpc: RPC_NAME[call], reason: error.reason });
      throw error;
    }
    if (rates?.per_hardware_id !== undefined && identity.hardwareId !== undefined) {
      this.#take(call, 'hardware_id', identity.hardwareId, rates.per_hardware_id);
    }
  }

  /**
   * A COMMIT's answer: takes one of the device's concurrent-answer slots, checks its quota and
   * arms the stream duration limit on `controller`. The slot is given back by `end`, or here
   * when a later check refuses.
   */
  async beginAnswer(hardwareId: string, controller: AbortController, log: Logger): Promise<AnswerTicket> {
    const { limits, metrics, quotas } = this.#options;
    const max = limits.enabled ? limits.max_concurrent_answers_per_hardware_id : 0;
    const running = this.#answers.get(hardwareId) ?? 0;
    if (max > 0 && running >= max) {
      metrics.limitExceeded.inc({ rpc: 'StreamAudio', limit: 'concurrent_answers' });
      throw new AppError('limit', `too many answers running for this device (at most ${max} at once): wait for one to finish`);
    }
    this.#answers.set(hardwareId, running + 1);
    let ended = false;
    let cancelTimer: (() => void) | undefined;
    const end = (answered: boolean) => {
      if (ended) return;
      ended = true;
      cancelTimer?.();
      const left = (this.#answers.get(hardwareId) ?? 1) - 1;
      if (left > 0) this.#answers.set(hardwareId, left);
      else this.#answers.delete(hardwareId);
      if (answered) quotas?.recordAnswer(hardwareId, log);
    };
    try {
      await quotas?.check(hardwareId, log);
    } catch (error) {
      end(false);
      throw error;
    }
    const maxMs = limits.enabled ? limits.max_stream_duration_ms : 0;
    if (maxMs > 0) {
      cancelTimer = this.#options.clock.after(maxMs, () => {
        metrics.limitExceeded.inc({ rpc: 'StreamAudio', limit: 'stream_duration' });
        controller.abort(new AppError('limit', `the answer was stopped: a stream may stay open at most ${Math.round(maxMs / 1000)} s`));
      });
    }
    return { end };
  }

  /** Devices with answers running now, and buckets held (/status). */
  status(): Record<string, unknown> {
    let answers = 0;
    for (const n of this.#answers.values()) answers += n;
    return { enabled: this.#options.limits.enabled, answering_devices: this.#answers.size, answers_running: answers, rate_buckets: this.#rates.size };
  }

  /** Answers running now for one hardware id (tests: no slot leaks). */
  answersRunning(hardwareId: string): number {
    return this.#answers.get(hardwareId) ?? 0;
  }

  #take(call: GuardedCall, scope: 'peer' | 'hardware_id', subject: string, spec: BucketConfig): void {
    const bucket: BucketSpec = { burst: spec.burst, perMinute: spec.per_minute };
    const verdict = this.#rates.take(`${call}:${scope}:${subject}`, bucket);
    if (verdict.ok) return;
    this.#options.metrics.limitExceeded.inc({ rpc: RPC_NAME[call], limit: `rate_${scope}` });
    const who = scope === 'peer' ? 'from this address' : 'for this device';
    const what = call === 'commit' ? 'COMMIT' : call === 'collect' ? 'COLLECT' : call;
    throw new AppError('limit', `too many ${what} requests ${who}: try again in ${Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))} s`);
  }
}

/**
 * The address part of a transport peer: `ipv4:1.2.3.4:5678` and `1.2.3.4:5678` → `1.2.3.4`,
 * `[::1]:5678` → `::1`. Anything else (a unix socket) is kept whole.
 */
export function peerAddress(peer: string): string {
  const bare = peer.replace(/^(?:ipv4|ipv6):/, '');
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(bare);
  // An IPv4 client of a dual-stack socket is one peer, whichever form it arrives in.
  if (v6) return v6[1].replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const v4 = /^([^:]+):\d+$/.exec(bare);
  return v4 ? v4[1] : bare;
}
