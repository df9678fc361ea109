import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files made with the openssl CLI for TLS tests: a CA and what it signed. */
export interface TestCa {
  readonly caCert: string;
  readonly caKey: string;
  /** Signs a leaf for `commonName` (server: SAN localhost and 127.0.0.1); returns its files. */
  issue(name: string, kind: 'server' | 'client'): { readonly cert: string; readonly key: string };
  pem(): Buffer;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A throw-away CA in `dir` (EC P-256 keys: quick to make), valid for a day. */
export function makeCa(dir: string, name: string): TestCa {
  const caKey = join(dir, `${name}-ca.key`);
  const caCert = join(dir, `${name}-ca.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '1', '-subj', `/CN=${name} test CA`]);
  return {
    caCert,
    caKey,
    pem: () => readFileSync(caCert),
    issue(leaf, kind) {
      const key = join(dir, `${name}-${leaf}.key`);
      const csr = join(dir, `${name}-${leaf}.csr`);
      const cert = join(dir, `${name}-${leaf}.pem`);
      const ext = join(dir, `${name}-${leaf}.ext`);
      writeFileSync(
        ext,
        kind === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n',
      );
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${leaf}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext]);
      return { cert, key };
    },
  };
}
