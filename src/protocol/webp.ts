/**
 * Reads a WebP file's container and first image header: enough to know it is a real WebP image
 * and how large it is, without decoding pixels (screenshots arrive on the hot path).
 * Format: RIFF container (https://developers.google.com/speed/webp/docs/riff_container),
 * VP8 key frame header (RFC 6386 §9.1), VP8L header (WebP lossless bitstream spec §3).
 */
export interface WebpInfo {
  readonly format: 'lossy' | 'lossless' | 'extended';
  readonly width: number;
  readonly height: number;
}

export type WebpResult = { ok: true; info: WebpInfo } | { ok: false; reason: string };

const fail = (reason: string): WebpResult => ({ ok: false, reason });

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

function u24(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)) + bytes[at + 3] * 0x1000000;
}

function vp8(bytes: Uint8Array, at: number, size: number): WebpResult {
  if (size < 10) return fail('VP8 chunk too short');
  const frameTag = bytes[at];
  if ((frameTag & 1) !== 0) return fail('VP8 data is not a key frame');
  if (bytes[at + 3] !== 0x9d || bytes[at + 4] !== 0x01 || bytes[at + 5] !== 0x2a) return fail('VP8 start code missing');
  const width = u16(bytes, at + 6) & 0x3fff;
  const height = u16(bytes, at + 8) & 0x3fff;
  return { ok: true, info: { format: 'lossy', width, height } };
}

function vp8l(bytes: Uint8Array, at: number, size: number): WebpResult {
  if (size < 5) return fail('VP8L chunk too short');
  if (bytes[at] !== 0x2f) return fail('VP8L signature missing');
  const bits = u32(bytes, at + 1);
  const width = (bits & 0x3fff) + 1;
  const height = ((bits >>> 14) & 0x3fff) + 1;
  const version = bits >>> 29;
  if (version !== 0) return fail('VP8L version is not 0');
  return { ok: true, info: { format: 'lossless', width, height } };
}

/** Parses and checks a WebP file's headers. Pure; never throws. */
export function readWebp(bytes: Uint8Array): WebpResult {
  if (bytes.length < 20) return fail('too short to be a WebP image');
  if (fourcc(bytes, 0) !== 'RIFF' || fourcc(bytes, 8) !== 'WEBP') return fail('not a RIFF/WEBP file');
  const riffEnd = 8 + u32(bytes, 4);
  if (riffEnd > bytes.length) return fail('file is truncated');
  if (riffEnd < 20) return fail('RIFF size is too small');

  let extended: { width: number; height: number } | undefined;
  let imageFound: WebpInfo | undefined;
  for (let at = 12; at + 8 <= riffEnd; ) {
    const id = fourcc(bytes, at);
    const size = u32(bytes, at + 4);
    const data = at + 8;
    if (data + size > riffEnd) return fail(`chunk ${JSON.stringify(id)} overruns the file`);
    if (at === 12 && id !== 'VP8 ' && id !== 'VP8L' && id !== 'VP8X') return fail('first chunk is not VP8, VP8L or VP8X');
    if (id === 'VP8X') {
      if (size < 10) return fail('VP8X chunk too short');
      extended = { width: u24(bytes, data + 4) + 1, height: u24(bytes, data + 7) + 1 };
    } else if (id === 'VP8 ' || id === 'VP8L') {
      const result = id === 'VP8 ' ? vp8(bytes, data, size) : vp8l(bytes, data, size);
      if (!result.ok) return result;
      imageFound = result.info;
      break;
    } else if (id === 'ANMF' && extended) {
      // An animation's frames carry their own bitstreams; the canvas size is what matters here.
      imageFound = { format: 'extended', ...extended };
      break;
    }
    at = data + size + (size & 1);
  }
  if (!imageFound) return fail('no image data');
  const info: WebpInfo = extended ? { format: 'extended', ...extended } : imageFound;
  if (info.width < 1 || info.height < 1) return fail('image has no pixels');
  return { ok: true, info };
}
