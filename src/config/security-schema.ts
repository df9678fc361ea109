import { z } from 'zod';

/**
 * The config sections of admission and access: rate limits, quotas, device tokens and the gRPC
 * port's TLS. Kept beside schema.ts (which composes them) so that the main schema stays short.
 */

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().min(0);

/** One token bucket: `burst` calls at once, refilled at `per_minute`. `burst: 0` turns it off. */
const bucket = z.strictObject({ burst: nonNegativeInt, per_minute: nonNegativeInt }).refine((b) => b.burst === 0 || b.per_minute > 0, {
  message: 'per_minute must be positive when burst is (a bucket that never refills locks a device out for good)',
});
const rpcRate = z.strictObject({ per_hardware_id: bucket, per_peer: bucket });

export const limitsSection = z.strictObject({
  enabled: z.boolean(),
  // GenerateWelcomeAudio carries no hardware id: only the peer's bucket applies to it.
  rates: z.strictObject({ commit: rpcRate, collect: rpcRate, welcome: z.strictObject({ per_peer: bucket }), interrupt: rpcRate }),
  max_concurrent_answers_per_hardware_id: nonNegativeInt,
  max_stream_duration_ms: nonNegativeInt,
  bucket_idle_ms: positiveInt,
  max_buckets: positiveInt,
}).refine((l) => Object.values(l.rates).every((r) => Object.values(r).every((b: z.infer<typeof bucket>) => b.burst === 0 || (b.burst / b.per_minute) * 60_000 <= l.bucket_idle_ms)), {
  message: 'bucket_idle_ms must be at least the longest refill (burst / per_minute): a dropped bucket starts full again',
  path: ['bucket_idle_ms'],
});

const quotaPeriod = z.strictObject({ answers: nonNegativeInt, tokens: nonNegativeInt });

export const quotasSection = z.strictObject({
  enabled: z.boolean(),
  day: quotaPeriod,
  week: quotaPeriod,
  month: quotaPeriod,
  unlimited_hardware_ids: z.array(z.string().min(1)),
  check_timeout_ms: positiveInt,
  status_timeout_ms: positiveInt,
  prune_interval_ms: positiveInt,
  max_devices_in_process: positiveInt,
});

export const authSection = z.strictObject({
  mode: z.enum(['none', 'token']),
  cache_ttl_ms: nonNegativeInt,
  cache_max_entries: positiveInt,
  lookup_timeout_ms: positiveInt,
});

export const tlsSection = z
  .strictObject({
    cert_file: z.string(),
    key_file: z.string(),
    client_ca_file: z.string(),
  })
  .refine((t) => (t.cert_file === '') === (t.key_file === ''), {
    message: 'cert_file and key_file go together: set both (TLS) or neither (plaintext)',
  })
  .refine((t) => t.client_ca_file === '' || t.cert_file !== '', { message: 'client_ca_file needs cert_file and key_file (TLS)' });
