import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fullGc, IdleTrim, loadMallocTrim } from './malloc-trim.js';

describe('giving free C heap memory back while idle', () => {
  it("finds glibc's malloc_trim on this Linux host, and calling it is harmless", async () => {
    const trim = await loadMallocTrim();
    assert.ok(trim !== undefined, 'malloc_trim not found (glibc and koffi expected here)');
    // Garbage from a burst of native allocations, then a trim: the process goes on working.
    for (let i = 0; i < 50; i++) Buffer.alloc(1 << 16).fill(i);
    assert.equal(typeof trim(), 'boolean');
    assert.equal(Buffer.from('still fine').toString(), 'still fine');
    assert.equal(await loadMallocTrim(), trim);
  });

  it('trims when started, then only when idle after turns ran since the last trim', () => {
    let active = 0;
    let started = 0;
    let trims = 0;
    const idleTrim = new IdleTrim({
      everyMs: 60_000,
      isIdle: () => active === 0,
      turnsStarted: () => started,
      trim: () => {
        trims++;
        return true;
      },
    });
    idleTrim.start();
    assert.equal(trims, 1, 'once warm');
    assert.equal(idleTrim.check(), false, 'nothing ran since');
    started++;
    active++;
    assert.equal(idleTrim.check(), false, 'a turn is running');
    active--;
    assert.equal(idleTrim.check(), true, 'idle after a turn');
    assert.equal(idleTrim.check(), false);
    assert.equal(trims, 2);
    idleTrim.stop();
  });

  it('collects garbage on demand, without giving other code a global gc', async () => {
    const hadGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
    const gc = fullGc();
    let ref: WeakRef<object> | undefined = (() => new WeakRef({ big: new Array(1000).fill(1) }))();
    // A WeakRef's target lives until the current job ends.
    await nextTurn();
    gc();
    assert.equal(ref.deref(), undefined);
    ref = undefined;
    assert.equal(typeof (globalThis as { gc?: unknown }).gc === 'function', hadGc);
  });
});
