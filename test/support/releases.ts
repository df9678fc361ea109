import { createHash } from 'node:crypto';
import type { Release } from '../../src/update/release.js';
import { parsePrivateKey, signBytes } from '../../src/update/signing.js';

/** A release entry for `bytes` with their size, sha256 and ed25519 signature, as `nexy release add` computes them. */
export async function signedRelease(bytes: Buffer, privateKeyPem: string, fields: Pick<Release, 'version' | 'build' | 'file'>): Promise<Release> {
  return {
    ...fields,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ed25519: await signBytes(bytes, parsePrivateKey(privateKeyPem)),
  };
}
