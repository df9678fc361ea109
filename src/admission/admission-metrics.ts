import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Metrics of limits, quotas and device tokens, registered on the server's own registry (see
 * src/observability/metrics.ts) so that they appear in the same /metrics.
 */
export class AdmissionMetrics {
  readonly limitExceeded: Counter<'rpc' | 'limit'>;
  readonly bucketsEvicted: Counter;
  readonly buckets: Gauge;
  readonly quotaLimit: Gauge<'period' | 'resource'>;
  readonly quotaUsageRatio: Histogram<'period' | 'resource'>;
  readonly quotaCheckFailures: Counter;
  readonly authFailures: Counter<'rpc' | 'reason'>;
  /** What nexy_rate_buckets reads at each scrape (set by the CallGuard). */
  bucketCount: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    this.limitExceeded = new Counter({
      name: 'nexy_limit_exceeded_total',
      help: 'Calls refused or stopped by a limit or quota (RESOURCE_EXHAUSTED), by RPC and limit',
      labelNames: ['rpc', 'limit'] as const,
      registers,
    });
    this.bucketsEvicted = new Counter({
      name: 'nexy_rate_buckets_evicted_total',
      help: 'Rate buckets dropped before they were idle, to keep limits.max_buckets',
      registers,
    });
    const bucketCount = () => this.bucketCount();
    this.buckets = new Gauge({
      name: 'nexy_rate_buckets',
      help: 'Rate-limit buckets held now (per hardware id and per peer)',
      registers,
      collect() {
        this.set(bucketCount());
      },
    });
    this.quotaLimit = new Gauge({
      name: 'nexy_quota_limit',
      help: 'Configured quota per hardware id (0: none), by period and resource (answers, tokens)',
      labelNames: ['period', 'resource'] as const,
      registers,
    });
    this.quotaUsageRatio = new Histogram({
      name: 'nexy_quota_usage_ratio',
      help: "A device's use of its quota when it asked for an answer (1: at the limit, refused)",
      labelNames: ['period', 'resource'] as const,
      buckets: [0.1, 0.25, 0.5, 0.75, 0.9, 1],
      registers,
    });
    this.quotaCheckFailures = new Counter({
      name: 'nexy_quota_check_failures_total',
      help: 'Quota checks that failed or timed out (the answer was let through)',
      registers,
    });
    this.authFailures = new Counter({
      name: 'nexy_auth_failures_total',
      help: 'Calls refused by device-token auth, by RPC and reason (missing, invalid, other_device, unavailable)',
      labelNames: ['rpc', 'reason'] as const,
      registers,
    });
  }
}
