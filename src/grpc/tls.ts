import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';

type TlsSection = Config['grpc']['tls'];

/**
 * Server credentials whose certificate can be replaced while the server runs. grpc-js watches
 * its credentials' secure context (the `_addWatcher` hook its certificate providers use) and
 * calls `setSecureContext` on the listening HTTP/2 server: new connections get the new
 * certificate, open ones keep the one they shook hands with.
 */
class ReloadableServerCredentials extends ServerCredentials {
  constructor(mutualTls: boolean, initial: SecureContextOptions) {
    // mTLS: ask every client for a certificate and refuse one that the CA did not sign.
    super({ requestCert: mutualTls, rejectUnauthorized: mutualTls }, initial);
  }

  replace(options: SecureContextOptions): void {
    this.updateSecureContextOptions(options);
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

export interface GrpcCredentials {
  readonly credentials: ServerCredentials;
  readonly tls: boolean;
  /**
   * Re-reads the certificate, key and client CA. Throws (and keeps serving the previous ones)
   * when a file cannot be read or the pair does not load. False without TLS (nothing to do).
   */
  reload(): boolean;
}

/**
 * Plaintext when `grpc.tls` names no files, else TLS (mTLS with `client_ca_file`). Files that
 * do not load at start-up are a ConfigError (exit 2).
 */
export function grpcCredentials(section: TlsSection): GrpcCredentials {
  if (section.cert_file === '') return { credentials: ServerCredentials.createInsecure(), tls: false, reload: () => false };
  let initial: SecureContextOptions;
  try {
    initial = loadTlsFiles(section);
  } catch (error) {
    throw new ConfigError([`grpc.tls: ${describeTlsError(error)}`]);
  }
  const credentials = new ReloadableServerCredentials(section.client_ca_file !== '', initial);
  return {
    credentials,
    tls: true,
    reload: () => {
      credentials.replace(loadTlsFiles(section));
      return true;
    },
  };
}

/** One line about a file or key problem: the path and errno code, or OpenSSL's reason. */
export function describeTlsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.path === 'string') return `cannot read ${e.path} (${e.code ?? 'error'})`;
  return `the certificate files do not load: ${e instanceof Error ? e.message.split('\n')[0] : String(error)}`;
}

/** Reads the PEM files and checks that they make a secure context (a key matching its certificate). */
export function loadTlsFiles(section: TlsSection): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: readFileSync(section.cert_file),
    key: readFileSync(section.key_file),
    ...(section.client_ca_file !== '' ? { ca: readFileSync(section.client_ca_file) } : {}),
  };
  // Throws on a mismatched or malformed pair, before grpc-js would drop every new connection.
  createSecureContext(options);
  return options;
}
