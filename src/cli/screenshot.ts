import { readFile } from 'node:fs/promises';
import type { GateScreenshot } from '../client/collect-commit-gate.js';
import { UsageError } from './command.js';

/** The formats `--screenshot` takes; the wire carries WebP only (docs/PROTOCOL.md). */
const ACCEPTED_FORMATS = new Set(['png', 'jpeg', 'webp']);

/**
 * Reads a PNG, JPEG or WebP file and returns it as the base64 WebP the protocol carries, with its
 * size in pixels as the screen size. A WebP file is sent as it is: re-encoding would only lose
 * quality. A file that cannot be read or is no such image is a usage error.
 */
export async function loadScreenshot(path: string): Promise<GateScreenshot> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read screenshot ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const sharp = await loadSharp();
  let format: string | undefined;
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ format, width, height } = await sharp(bytes).metadata());
  } catch {
    throw new UsageError(`screenshot ${path} is not an image`);
  }
  if (!format || !ACCEPTED_FORMATS.has(format)) {
    throw new UsageError(`screenshot ${path} is ${format ?? 'of an unknown format'}; PNG, JPEG or WebP expected`);
  }
  // EXIF orientation is applied so that the model sees the picture the way a viewer shows it.
  const webp = format === 'webp' ? bytes : await sharp(bytes).rotate().webp().toBuffer({ resolveWithObject: true });
  if (!Buffer.isBuffer(webp)) {
    return { base64: webp.data.toString('base64'), width: webp.info.width, height: webp.info.height };
  }
  return { base64: webp.toString('base64'), width, height };
}

/**
 * sharp (native libvips, ~20 MB resident) is an optional dependency used only here: imported when
 * a screenshot is attached, never by the server or the other commands.
 */
async function loadSharp(): Promise<typeof import('sharp').default> {
  try {
    return (await import('sharp')).default;
  } catch (error) {
    throw new Error('--screenshot needs the optional package sharp, which is not installed (npm install sharp)', { cause: error });
  }
}
