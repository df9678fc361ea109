import { endianness } from 'node:os';

const bigEndianHost = endianness() === 'BE';

/**
 * Little-endian int16 PCM arriving as bytes in pieces of any length: each piece's whole samples
 * now, an odd trailing byte kept for the next piece.
 */
export class PcmBytes {
  #pending: number | undefined;

  /** The samples completed by `bytes` (a copy, aligned, in host order). */
  push(bytes: Uint8Array): Int16Array {
    const carried = this.#pending === undefined ? 0 : 1;
    const total = carried + bytes.length;
    const whole = total - (total % 2);
    const out = new Uint8Array(whole);
    if (whole > 0) {
      if (carried === 1) out[0] = this.#pending!;
      out.set(bytes.subarray(0, whole - carried), carried);
    }
    if (total % 2 === 0) this.#pending = undefined;
    else if (bytes.length > 0) this.#pending = bytes[bytes.length - 1];
    if (bigEndianHost) Buffer.from(out.buffer, out.byteOffset, out.byteLength).swap16();
    return new Int16Array(out.buffer, 0, whole / 2);
  }

  /** True when half a sample is waiting: the stream ended on an odd byte. */
  get pendingByte(): boolean {
    return this.#pending !== undefined;
  }
}
