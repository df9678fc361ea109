import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  edgeTimestamp,
  edgeUrl,
  longVoiceName,
  parseBinaryMessage,
  secMsGec,
  speechConfigMessage,
  ssmlMessage,
  ssmlText,
  textMessagePath,
} from './edge-protocol.js';

const TOKEN = '6A5AA1D4EAFF4E9FB37E23D68491D6F4';
// 2023-11-14 22:13:20 UTC; its 5-minute window runs from 22:10:00 to 22:15:00.
const T = 1_700_000_000_000;

describe('edge protocol', () => {
  it('Sec-MS-GEC: SHA-256 of the 5-minute Windows file time and the token (vector from edge-tts drm.py)', () => {
    // Computed independently with Python: hashlib.sha256(f"{ticks}{token}") for ticks 133444734000000000.
    assert.equal(secMsGec(T, TOKEN), '42301B335578FEFDAE2637DED1ABD614505D432559EC08032B82048483726AFF');
    assert.equal(secMsGec(T + 99_999, TOKEN), secMsGec(T, TOKEN));
    assert.equal(secMsGec(T + 100_000, TOKEN), 'AE4CF72E466874182A75878E20EADA83D29A1C12CAD9C3E0E014CCE0BFA55880');
  });

  it('URL: token, GEC, its version and the connection id as query parameters', () => {
    const url = new URL(edgeUrl({ baseUrl: 'wss://example.test/edge/v1', trustedClientToken: TOKEN, chromiumVersion: '130.0.2849.68' }, T, 'abc'));
    assert.equal(url.origin + url.pathname, 'wss://example.test/edge/v1');
    assert.equal(url.searchParams.get('TrustedClientToken'), TOKEN);
    assert.equal(url.searchParams.get('Sec-MS-GEC'), secMsGec(T, TOKEN));
    assert.equal(url.searchParams.get('Sec-MS-GEC-Version'), '1-130.0.2849.68');
    assert.equal(url.searchParams.get('ConnectionId'), 'abc');
  });

  it('timestamps in the Date.toString() shape, UTC', () => {
    assert.equal(edgeTimestamp(T), 'Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)');
    assert.equal(edgeTimestamp(Date.UTC(2024, 0, 5, 3, 4, 5)), 'Fri Jan 05 2024 03:04:05 GMT+0000 (Coordinated Universal Time)');
  });

  const voices: ReadonlyArray<readonly [string, string]> = [
    ['en-US-AriaNeural', 'Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)'],
    ['ru-RU-SvetlanaNeural', 'Microsoft Server Speech Text to Speech Voice (ru-RU, SvetlanaNeural)'],
    ['zh-CN-liaoning-XiaobeiNeural', 'Microsoft Server Speech Text to Speech Voice (zh-CN-liaoning, XiaobeiNeural)'],
    ['Microsoft Server Speech Text to Speech Voice (en-GB, SoniaNeural)', 'Microsoft Server Speech Text to Speech Voice (en-GB, SoniaNeural)'],
  ];
  for (const [short, long] of voices) {
    it(`voice ${short} → the long form Edge sends`, () => assert.equal(longVoiceName(short), long));
  }

  it('SSML text: XML escaped, control characters the service rejects become spaces', () => {
    assert.equal(ssmlText(`a < b & "c" 'd' > e`), 'a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt; e');
    assert.equal(ssmlText('tab\there\u000bvt\nnl'), 'tab\there vt\nnl');
  });

  it('speech.config asks for the raw PCM format', () => {
    const message = speechConfigMessage('raw-24khz-16bit-mono-pcm', T);
    assert.equal(textMessagePath(message), 'speech.config');
    const body = JSON.parse(message.split('\r\n\r\n')[1]!) as { context: { synthesis: { audio: { outputFormat: string } } } };
    assert.equal(body.context.synthesis.audio.outputFormat, 'raw-24khz-16bit-mono-pcm');
  });

  it('ssml message: headers, the voice, prosody and the escaped text', () => {
    const message = ssmlMessage('Fish & chips', 'en-GB-SoniaNeural', { rate: '+10%', pitch: '-2Hz', volume: '+0%' }, 'req1', T);
    assert.equal(textMessagePath(message), 'ssml');
    assert.match(message, /^X-RequestId:req1\r\nContent-Type:application\/ssml\+xml\r\nX-Timestamp:.*Z\r\n/u);
    assert.match(message, /xml:lang='en-GB'/u);
    assert.match(message, /<voice name='Microsoft Server Speech Text to Speech Voice \(en-GB, SoniaNeural\)'>/u);
    assert.match(message, /<prosody pitch='-2Hz' rate='\+10%' volume='\+0%'>Fish &amp; chips<\/prosody>/u);
  });

  it('text messages: the Path header, any case', () => {
    assert.equal(textMessagePath('X-RequestId:1\r\nPath:turn.end\r\n\r\n{}'), 'turn.end');
    assert.equal(textMessagePath('path:turn.start\r\n\r\n'), 'turn.start');
    assert.equal(textMessagePath('no headers'), undefined);
  });

  it('binary messages: 2-byte big-endian header length, headers, then the audio', () => {
    const header = Buffer.from('X-RequestId:1\r\nContent-Type:audio/x-wav\r\nPath:audio\r\n');
    const frame = Buffer.concat([Buffer.from([header.length >> 8, header.length & 0xff]), header, Buffer.from([1, 2, 3, 4])]);
    const parsed = parseBinaryMessage(frame);
    assert.equal(parsed?.path, 'audio');
    assert.deepEqual([...parsed!.body], [1, 2, 3, 4]);
    assert.equal(parseBinaryMessage(Buffer.from([0])), undefined);
    assert.equal(parseBinaryMessage(Buffer.from([0, 50, 1])), undefined);
  });
});
