import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { AppError } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { AdmissionMetrics } from './admission-metrics.js';
import { CallGuard } from './call-guard.js';
import { ManualClock } from './clock.js';
import { InProcessQuotaStore, type QuotaStore } from './quota-store.js';
import { Quotas } from './quotas.js';

const logger = createLogger('silent');
const config = loadConfig({ env: {}, overrides: { quotas: { enabled: true, day: { answers: 1 }, check_timeout_ms: 5 } } });

function quotas(store: QuotaStore, metrics = new AdmissionMetrics(new Registry())): Quotas {
  return new Quotas({ section: config.quotas, store, metrics, logger, now: () => Date.parse('2026-01-05T12:00:00Z') });
}

async function failures(metrics: AdmissionMetrics): Promise<number> {
  return (await metrics.quotaCheckFailures.get()).values[0]?.value ?? 0;
}

test('a quota database that fails or hangs lets the answer through, counted and logged, instead of silencing every device', async () => {
  const failing: QuotaStore = {
    name: 'failing',
    usage: () => Promise.reject(new AppError('unavailable', 'quota database unavailable')),
    add: () => Promise.resolve(),
    overview: () => Promise.reject(new AppError('unavailable', 'quota database unavailable')),
    prune: () => Promise.resolve(0),
  };
  const hanging: QuotaStore = { ...failing, name: 'hanging', usage: () => new Promise(() => undefined) };
  for (const store of [failing, hanging]) {
    const metrics = new AdmissionMetrics(new Registry());
    const q = quotas(store, metrics);
    await q.check('DEVICE-1', logger);
    assert.equal(await failures(metrics), 1, store.name);
    await q.close();
  }
});

test('a refused quota check gives the answer slot back', async () => {
  const q = quotas(new InProcessQuotaStore(10));
  const guard = new CallGuard({ limits: { ...config.limits, max_concurrent_answers_per_hardware_id: 1 }, metrics: new AdmissionMetrics(new Registry()), logger, clock: new ManualClock(), quotas: q });
  const first = await guard.beginAnswer('DEVICE-1', new AbortController(), logger);
  first.end(true);
  await q.flush();
  await assert.rejects(guard.beginAnswer('DEVICE-1', new AbortController(), logger), /daily limit exceeded/);
  assert.equal(guard.answersRunning('DEVICE-1'), 0);
  first.end(true); // idempotent: the answer is not counted twice, the slot not freed twice
  assert.equal(guard.answersRunning('DEVICE-1'), 0);
  await q.close();
});
