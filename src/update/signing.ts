import { createHash, createPrivateKey, createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/**
 * Ed25519 signatures of update artifacts, the way Sparkle makes and checks them (EdDSA over the
 * whole file, base64), with node:crypto only. Signing and verifying run on libuv's thread pool, so
 * a large artifact does not block the event loop while it is checked.
 */

const RAW_KEY_BYTES = 32;
/** DER header of a PKCS#8 Ed25519 private key, followed by the 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function isEd25519(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ed25519';
}

/**
 * An Ed25519 key of `kind` from PEM text, or from the base64 form Sparkle uses (`fromRaw` checks
 * and converts the raw bytes). Throws an Error saying which form was expected.
 */
function parseKey(
  text: string,
  kind: 'public' | 'private',
  fromPem: (pem: string) => KeyObject,
  fromRaw: (raw: Buffer, base64: string) => KeyObject,
): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----BEGIN') ? fromPem(trimmed) : fromRaw(Buffer.from(trimmed, 'base64'), trimmed);
  if (!isEd25519(key)) throw new Error(`the ${kind} key is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
  return key;
}

/**
 * The public key from PEM text, or from base64 of the raw 32 bytes (what Sparkle's SUPublicEDKey
 * and `generate_keys` print). Throws an Error saying which form was expected.
 */
export function parsePublicKey(text: string): KeyObject {
  return parseKey(text, 'public', (pem) => createPublicKey(pem), (raw, base64) => {
    if (raw.length !== RAW_KEY_BYTES || raw.toString('base64') !== base64) {
      throw new Error('not an ed25519 public key (PEM, or base64 of the 32 raw bytes)');
    }
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  });
}

/** A private key from PEM (PKCS#8), or base64 of the 32-byte seed (Sparkle's exported key file). */
export function parsePrivateKey(text: string): KeyObject {
  return parseKey(text, 'private', (pem) => createPrivateKey(pem), (raw) => {
    // Older Sparkle key files hold seed + public key (64 bytes); the seed is the first half.
    if (raw.length !== RAW_KEY_BYTES && raw.length !== RAW_KEY_BYTES * 2) {
      throw new Error('not an ed25519 private key (PEM, or base64 of the 32-byte seed)');
    }
    return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, raw.subarray(0, RAW_KEY_BYTES)]), format: 'der', type: 'pkcs8' });
  });
}

/** Base64 of the raw 32 public-key bytes: the form Sparkle's SUPublicEDKey takes. */
export function rawPublicKeyBase64(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

export interface KeyPairPem {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  /** Base64 of the raw public key, for `updates.ed25519_public_key` or SUPublicEDKey. */
  readonly publicKeyBase64: string;
}

export async function generateSigningKeys(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) =>
    generateKeyPair('ed25519', {}, (error, pub, priv) => (error ? reject(error) : resolve({ privateKey: priv, publicKey: pub }))),
  );
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicKeyBase64: rawPublicKeyBase64(publicKey),
  };
}

/** Base64 ed25519 signature of the bytes. */
export function signBytes(bytes: Buffer, privateKey: KeyObject): Promise<string> {
  return new Promise((resolve, reject) =>
    sign(null, bytes, privateKey, (error, signature) => (error ? reject(error) : resolve(signature.toString('base64')))),
  );
}

/** True when `signatureBase64` is the key's ed25519 signature of the bytes. */
export function verifyBytes(bytes: Buffer, signatureBase64: string, publicKey: KeyObject): Promise<boolean> {
  const signature = Buffer.from(signatureBase64, 'base64');
  return new Promise((resolve, reject) =>
    verify(null, bytes, publicKey, signature, (error, ok) => (error ? reject(error) : resolve(ok))),
  );
}

export interface ArtifactBytes {
  readonly bytes: Buffer;
  readonly size: number;
  readonly sha256: string;
}

/**
 * The whole file with its size and sha256. Ed25519 (unlike Ed25519ph) signs the message itself,
 * so checking a signature needs every byte in memory: files over `maxBytes` are refused first.
 */
export async function readArtifact(path: string, maxBytes: number): Promise<ArtifactBytes> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error('not a regular file');
  if (info.size > maxBytes) throw new Error(`${info.size} bytes is over updates.max_artifact_bytes (${maxBytes})`);
  const bytes = await readFile(path);
  return { bytes, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
