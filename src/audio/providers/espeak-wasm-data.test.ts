import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import init from '@echogarden/espeak-ng-emscripten';
import { lazyDataOptions } from './espeak-wasm-data.js';

/** Samples of each text, in order, from one engine: voices switch, so dictionaries are read (again). */
async function speakAll(options: Record<string, unknown>, texts: ReadonlyArray<readonly [string, string]>): Promise<number[]> {
  const engine = new (await init(options)).eSpeakNGWorker();
  return texts.map(([voice, text]) => {
    assert.equal(engine.set_voice(voice), 0, `voice ${voice}`);
    let samples = 0;
    engine.synthesize(text, (block) => {
      samples += block.length;
      return false;
    });
    return samples;
  });
}

describe('the WASM eSpeak data, dictionaries read when the engine uses them', () => {
  it('finds the package file table in the glue (a glue update that moves it shows here)', () => {
    const options = lazyDataOptions();
    assert.equal(typeof options.getPreloadedPackage, 'function');
    assert.ok('FS_createDataFile' in options);
  });

  it('speaks as the fully loaded engine does: each language, switches back and forth, a word in another script', async () => {
    const texts = [
      ['en-us', 'Hello there, this is a short test.'],
      ['ru', 'Привет! Это проверка синтезатора речи.'],
      ['de', 'Guten Tag, wie geht es dir heute?'],
      ['en-us', 'Back to English, with a Russian word: привет.'],
      ['ru', 'Снова по-русски.'],
    ] as const;
    const lazy = await speakAll(lazyDataOptions(), texts);
    const full = await speakAll({}, texts);
    for (const [i, [voice]] of texts.entries()) {
      assert.ok(lazy[i]! > 0, `${voice}: no audio`);
      // eSpeak's audio varies by a few samples from call to call; a missing dictionary would not.
      assert.ok(Math.abs(lazy[i]! - full[i]!) <= full[i]! * 0.02, `${voice} #${i}: ${lazy[i]} vs ${full[i]} samples`);
    }
  });

  it('reads a dictionary from disk into the engine, byte for byte, whole or from an offset', async () => {
    type Fs = {
      lookupPath(path: string): { node: { stream_ops: { read: unknown } } };
      readFile(path: string): Uint8Array;
      open(path: string, flags: number): unknown;
      read(stream: unknown, buffer: Uint8Array, offset: number, length: number, position: number): number;
      close(stream: unknown): void;
    };
    const lazyFs = ((await init(lazyDataOptions())) as unknown as { FS: Fs }).FS;
    const fullFs = ((await init({})) as unknown as { FS: Fs }).FS;
    const path = '/usr/share/espeak-ng-data/ru_dict';
    // Attached: the file reads through its own operation, not the in-memory file system's.
    assert.notEqual(lazyFs.lookupPath(path).node.stream_ops.read, fullFs.lookupPath(path).node.stream_ops.read);
    const expected = fullFs.readFile(path);
    assert.ok(expected.length > 1_000_000);
    assert.deepEqual(lazyFs.readFile(path), expected);
    const stream = lazyFs.open(path, 0);
    const part = new Uint8Array(4096 + 16);
    // Past the end: only what is there.
    assert.equal(lazyFs.read(stream, part, 16, part.length, expected.length - 100), 100);
    assert.deepEqual(part.subarray(16, 116), expected.subarray(expected.length - 100));
    assert.equal(lazyFs.read(stream, part, 0, part.length, expected.length), 0);
    assert.equal(lazyFs.read(stream, part, 0, 4096, 12345), 4096);
    assert.deepEqual(part.subarray(0, 4096), expected.subarray(12345, 12345 + 4096));
    lazyFs.close(stream);
  });
});
