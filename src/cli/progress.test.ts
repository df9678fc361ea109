import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Progress, type ProgressTimers } from './progress.js';

const OPTIONS = { afterMs: 500, intervalMs: 100 };

describe('Progress', () => {
  let clock = 0;
  const timers: ProgressTimers = {
    setInterval: (cb, ms) => setInterval(cb, ms),
    clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
    setTimeout: (cb, ms) => setTimeout(cb, ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    now: () => clock,
  };
  beforeEach(() => {
    clock = 0;
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  });
  afterEach(() => mock.timers.reset());

  function advance(ms: number) {
    clock += ms;
    mock.timers.tick(ms);
  }

  test('on a terminal: nothing for short answers, then time and audio, erased on clear and stop', () => {
    const writes: string[] = [];
    const progress = new Progress({ isTTY: true, write: (s) => writes.push(String(s)) > 0 }, { ...OPTIONS, timers });
    progress.start();
    advance(OPTIONS.afterMs - 1);
    assert.equal(writes.length, 0);
    advance(1);
    assert.equal(writes.length, 1);
    assert.match(writes[0], /0\.5 s/);
    progress.setAudioSeconds(2.25);
    advance(OPTIONS.intervalMs);
    assert.match(writes[1], /0\.6 s · 2\.3 s of audio/);
    // Drawn with the cursor saved and restored, so text on stdout continues where it was.
    assert.ok(writes[1].startsWith('\x1b7') && writes[1].endsWith('\x1b8'));
    progress.clear();
    assert.equal(writes[2], '\x1b7\x1b[K\x1b8');
    progress.clear();
    assert.equal(writes.length, 3, 'nothing to erase twice');
    progress.stop();
    advance(10 * OPTIONS.intervalMs);
    assert.equal(writes.length, 3, 'stopped');
  });

  test('piped: never writes', () => {
    const writes: string[] = [];
    const progress = new Progress({ isTTY: false, write: (s) => writes.push(String(s)) > 0 }, { ...OPTIONS, timers });
    progress.start();
    advance(10 * OPTIONS.afterMs);
    progress.stop();
    assert.deepEqual(writes, []);
  });
});
