import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PACKAGE_VERSION } from '../../src/package-root.js';
import { HARDWARE_ID, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

/**
 * The operator page in a real headless Chromium (Debian's `chromium`): it loads under its own
 * Content-Security-Policy, shows the version and a live stream count, and a screenshot is kept
 * in test-artifacts/ for a person to look at.
 */

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// CI must run it (.ci/run installs chromium); a developer machine without it skips.
const skip = !process.env.CI && !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed (apt-get install chromium)` : false;
const POLL_MS = 200;

describe('operator page at /', { skip }, () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const llm = new RecordingLlm('Hello there. This answer is held open by the test.');

  before(async () => {
    t = await startTestServer(testConfig({ http: { operator_page: { poll_interval_ms: POLL_MS } } }), { llm });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    // A CSP violation or a script error shows up here: the page must run clean.
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const text = (selector: string) => page.locator(selector).textContent();
  /**
   * Resolves once the element's text is (or, with `not`, stops being) `expected`; Playwright
   * re-checks every frame. A function, not a string: the page's CSP forbids eval.
   */
  const waitForText = (id: string, expected: string, not = false) =>
    page.waitForFunction(
      (a) => {
        type Doc = { getElementById(id: string): { textContent: string | null } | null };
        const doc = (globalThis as unknown as { document: Doc }).document;
        return (doc.getElementById(a.id)?.textContent === a.expected) !== a.not;
      },
      { id, expected, not },
    );

  test('loads, shows the version, health and the update feed per channel', async () => {
    const response = await page.goto(`${t.httpUrl}/`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/);
    await waitForText('version', `v${PACKAGE_VERSION}`);
    await waitForText('health', 'ready');
    assert.equal(await text('#active-streams'), '0');
    const rows = await page.locator('#updates tr').all();
    assert.deepEqual(await Promise.all(rows.map((r) => r.getAttribute('data-channel'))), ['stable', 'beta', 'alpha']);
    assert.equal(await text('#updates tr[data-channel="alpha"] .pill'), 'disabled');
  });

  test('first-audio latency appears once a turn has spoken', async () => {
    const done = await readStream(t.client.streamAudio({ prompt: 'hello', hardwareId: HARDWARE_ID, sessionId: 'page-0', phase: 2, chunkSeq: 0 }));
    assert.equal(done.status.code, 0);
    await waitForText('first-audio-p95', '–', true);
    assert.match((await text('#first-audio-p95')) ?? '', /^\d+ ms$|^\d+\.\d\d s$/);
    assert.ok(await page.locator('#chart polyline.p95').count() === 1);
  });

  test('the stream count goes live: 1 while a turn runs, 0 after', async () => {
    llm.hold();
    const started = llm.started();
    const running = readStream(t.client.streamAudio({ prompt: 'hello', hardwareId: HARDWARE_ID, sessionId: 'page-1', phase: 2, chunkSeq: 0 }));
    await started;
    await waitForText('active-streams', '1');
    await mkdir(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-artifacts/operator-page.png'), fullPage: true });
    llm.release();
    assert.equal((await running).status.code, 0);
    await waitForText('active-streams', '0');
    assert.deepEqual(problems, []);
  });
});
