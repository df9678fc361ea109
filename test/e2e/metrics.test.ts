import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

/** Prometheus metrics as an operator scrapes them, before and after real turns over gRPC. */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAX_ACTIVE_TURNS = 7;

interface Scrape {
  /** `name{labels}` → value, exactly as in the exposition text. */
  readonly values: Map<string, number>;
  /** Every metric name /metrics exposes (a histogram's _bucket, _sum and _count included). */
  readonly names: Set<string>;
}

async function scrape(t: TestServer): Promise<Scrape> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const values = new Map<string, number>();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      const suffixes = kind === 'histogram' ? ['_bucket', '_sum', '_count'] : kind === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const s of suffixes) names.add(`${name}${s}`);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { values, names };
}

const value = (s: Scrape, series: string) => s.values.get(series) ?? 0;
const grew = (before: Scrape, after: Scrape, series: string) => value(after, series) - value(before, series);

const commit = (sessionId: string, prompt = 'hello') => ({ prompt, hardwareId: HARDWARE_ID, sessionId, phase: 2, chunkSeq: 0 });

describe('metrics during end-to-end turns', () => {
  let t: TestServer;
  const llm = new RecordingLlm('Hello there. This is a test answer.');
  before(async () => {
    t = await startTestServer(testConfig({ grpc: { max_active_turns: MAX_ACTIVE_TURNS } }), { llm });
  });
  after(() => t.close());

  test('a completed turn moves the latency histograms and the request counter; nothing stays active', async () => {
    const before = await scrape(t);
    const result = await readStream(t.client.streamAudio(commit('metrics-turn')));
    assert.equal(kinds(result.messages).at(-1), 'endMessage');
    const after = await scrape(t);
    for (const histogram of ['nexy_first_audio_seconds', 'nexy_llm_first_token_seconds', 'nexy_turn_seconds']) {
      assert.equal(grew(before, after, `${histogram}_count`), 1, histogram);
      assert.ok(grew(before, after, `${histogram}_sum`) > 0, histogram);
    }
    // Two sentences, each spoken.
    assert.equal(grew(before, after, 'nexy_tts_first_audio_seconds_count'), 2);
    assert.equal(grew(before, after, 'nexy_requests_total{rpc="StreamAudio",status="OK"}'), 1);
    assert.equal(value(after, 'nexy_active_streams'), 0);
    assert.equal(grew(before, after, 'nexy_interrupts_total'), 0);
  });

  test('a running stream is counted while it runs; an interrupt is counted and ends it CANCELLED', async () => {
    llm.hold();
    const started = llm.started();
    const running = readStream(t.client.streamAudio(commit('metrics-held')));
    await started;
    const during = await scrape(t);
    assert.equal(value(during, 'nexy_active_streams'), 1);

    await new Promise<void>((done, fail) => t.client.interruptSession({ hardwareId: HARDWARE_ID }, (e) => (e ? fail(e) : done())));
    const result = await running;
    llm.release();
    assert.equal(result.status.code, 1);
    const after = await scrape(t);
    assert.equal(grew(during, after, 'nexy_interrupts_total'), 1);
    assert.equal(grew(during, after, 'nexy_errors_total{kind="interrupted"}'), 1);
    assert.equal(grew(during, after, 'nexy_requests_total{rpc="StreamAudio",status="CANCELLED"}'), 1);
    assert.equal(value(after, 'nexy_active_streams'), 0);
  });

  test('COLLECT buffers are counted until their COMMIT takes them', async () => {
    const before = await scrape(t);
    await readStream(t.client.streamAudio({ ...commit('metrics-collect', ''), phase: 1, chunkSeq: 1, chunkText: 'what is' }));
    const collected = await scrape(t);
    assert.equal(value(collected, 'nexy_collect_buffers') - value(before, 'nexy_collect_buffers'), 1);
    await readStream(t.client.streamAudio(commit('metrics-collect', 'the time')));
    assert.equal(value(await scrape(t), 'nexy_collect_buffers'), value(before, 'nexy_collect_buffers'));
  });

  test('readiness, the stream limit, provider hooks and process metrics are exposed', async () => {
    const s = await scrape(t);
    assert.equal(value(s, 'nexy_ready'), 1);
    assert.equal(value(s, 'nexy_max_active_streams'), MAX_ACTIVE_TURNS);
    for (const name of [
      'nexy_provider_fallbacks_total',
      'nexy_provider_breaker_open',
      'nexy_update_downloads_total',
      'nexy_update_latest_build',
      'nexy_update_artifact_valid',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.ok(s.names.has(name), name);
    }
    t.server.metrics.providerFallbacks.inc({ area: 'llm', from: 'openai', to: 'gemini' });
    t.server.metrics.providerBreakerOpen.set({ area: 'llm', provider: 'openai' }, 1);
    const after = await scrape(t);
    assert.equal(value(after, 'nexy_provider_fallbacks_total{area="llm",from="openai",to="gemini"}'), 1);
    assert.equal(value(after, 'nexy_provider_breaker_open{area="llm",provider="openai"}'), 1);
  });

  test('deploy/prometheus/alerts.yml: every rule is complete and uses only metrics /metrics exposes', async () => {
    const rules = (parseYaml(await readFile(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels?: { severity?: string }; annotations?: { summary?: string } }> }>;
    }).groups.flatMap((g) => g.rules);
    const exposed = (await scrape(t)).names;
    const alerts = new Set(rules.map((r) => r.alert));
    for (const wanted of ['NexyUpdateArtifactInvalid', 'NexyFirstAudioSlow', 'NexyErrorRatioHigh', 'NexyStreamsSaturated', 'NexyProviderBreakerOpen', 'NexyNotReady']) {
      assert.ok(alerts.has(wanted), wanted);
    }
    for (const rule of rules) {
      assert.ok(rule.for && rule.labels?.severity && rule.annotations?.summary, `${rule.alert}: for, severity and summary`);
      const names = metricNames(rule.expr);
      assert.ok(names.length > 0, `${rule.alert}: no metric in ${rule.expr}`);
      for (const name of names) assert.ok(exposed.has(name), `${rule.alert}: ${name} is not exposed by /metrics`);
    }
  });
});

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects: identifiers that are not functions, keywords or label names. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b\d+(?:ms|s|m|h|d|w|y)\b/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\(?))/g)) {
    if (match[1] === '(' || PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

test('metricNames finds selectors and skips functions, keywords, label lists and numbers', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.95, sum by (instance, le) (rate(a_bucket{x="y z"}[5m]))) / on(instance) b > 1.5e3 and c offset 5m'),
    ['a_bucket', 'b', 'c'],
  );
});
