import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { generateSigningKeys, parsePrivateKey, parsePublicKey, rawPublicKeyBase64, signBytes, verifyBytes } from './signing.js';

test('a signature made with the private key verifies with the public key in PEM and in raw base64 form', async () => {
  const keys = await generateSigningKeys();
  const bytes = Buffer.from('the artifact');
  const signature = await signBytes(bytes, parsePrivateKey(keys.privateKeyPem));
  assert.equal(Buffer.from(signature, 'base64').length, 64);
  assert.equal(await verifyBytes(bytes, signature, parsePublicKey(keys.publicKeyPem)), true);
  assert.equal(await verifyBytes(bytes, signature, parsePublicKey(keys.publicKeyBase64)), true);
  assert.equal(await verifyBytes(Buffer.from('the artifacT'), signature, parsePublicKey(keys.publicKeyBase64)), false);
  const other = await generateSigningKeys();
  assert.equal(await verifyBytes(bytes, signature, parsePublicKey(other.publicKeyBase64)), false);
});

test("Sparkle's exported private key (base64 seed, or seed + public key) signs like the PEM", async () => {
  const keys = await generateSigningKeys();
  const pem = parsePrivateKey(keys.privateKeyPem);
  const seed = Buffer.from(pem.export({ format: 'jwk' }).d!, 'base64url');
  const pub = Buffer.from(keys.publicKeyBase64, 'base64');
  const bytes = Buffer.from('x');
  for (const text of [seed.toString('base64'), Buffer.concat([seed, pub]).toString('base64')]) {
    const key = parsePrivateKey(text);
    assert.equal(rawPublicKeyBase64(key), keys.publicKeyBase64);
    assert.equal(await signBytes(bytes, key), await signBytes(bytes, pem));
  }
});

test('keys that are not ed25519, or not keys, are refused with a reason', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => parsePublicKey(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString()), /not ed25519/);
  assert.throws(() => parsePrivateKey(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()), /not ed25519/);
  assert.throws(() => parsePublicKey('c2hvcnQ='), /not an ed25519 public key/);
  assert.throws(() => parsePrivateKey('nope'), /not an ed25519 private key/);
});
