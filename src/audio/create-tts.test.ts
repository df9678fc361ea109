import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { createTts, ttsChain } from './create-tts.js';
import { FallbackTts } from './providers/fallback.js';

describe('ttsChain', () => {
  const cases: ReadonlyArray<readonly [string, Parameters<typeof ttsChain>[0], string[]]> = [
    ['eSpeak alone (the default)', { provider: 'espeak', fallback: [] }, ['espeak']],
    ['eSpeak is added last', { provider: 'openai_speech', fallback: [] }, ['openai_speech', 'espeak']],
    ['fallbacks in order', { provider: 'edge', fallback: ['openai_speech'] }, ['edge', 'openai_speech', 'espeak']],
    ['eSpeak where listed', { provider: 'edge', fallback: ['espeak', 'openai_speech'] }, ['edge', 'espeak', 'openai_speech']],
    ['duplicates once', { provider: 'edge', fallback: ['edge', 'espeak'] }, ['edge', 'espeak']],
  ];
  for (const [name, audio, chain] of cases) it(name, () => assert.deepEqual(ttsChain(audio), chain));
});

describe('createTts', () => {
  it('the shipped config: eSpeak itself, no chain', () => {
    assert.equal(createTts(loadConfig({ env: {} }).audio_generation).name, 'espeak');
  });

  it('a primary with fallbacks: one chain in order', () => {
    const config = loadConfig({ env: {}, overrides: { audio_generation: { provider: 'edge', fallback: ['openai_speech'] } } });
    const tts = createTts(config.audio_generation);
    assert.ok(tts instanceof FallbackTts);
    assert.deepEqual(tts.chain, ['edge', 'openai_speech', 'espeak']);
  });
});
