import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';

/**
 * The hardware id `nexy ask` sends by default: stable for this machine, shaped like the id the
 * deployed Mac client sends (an uppercase UUID, docs/COMPATIBILITY.md), so the server's per-device memory and
 * interrupts work the same for the CLI.
 *
 * On a Mac it is that very id (IOPlatformUUID), so the CLI and the Nexy app share a memory.
 * Elsewhere it is derived from the machine id (or host name and MAC addresses) through a hash
 * with a fixed prefix: systemd asks applications not to send /etc/machine-id itself.
 */

/** Where the id comes from; tests pass fakes. */
export interface MachineSources {
  readonly platform: NodeJS.Platform;
  /** The file's text, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  /** IOPlatformUUID on macOS, or undefined. */
  platformUuid(): string | undefined;
  hostname(): string;
  /** MAC addresses of the non-internal interfaces. */
  macs(): string[];
}

const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];
/** Keeps the derived id specific to Nexy: the same machine id gives other apps other ids. */
const DERIVATION_PREFIX = 'nexy-cli-hardware-id:';
const UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const UUID_BYTES = 16;
/** RFC 9562 UUIDv8 (custom layout): version nibble 8 and variant bits 10. */
const VERSION_8 = 0x80;
const VARIANT_RFC = 0x80;
/** ioreg answers in milliseconds; a hang must not hold the command. */
const IOREG_TIMEOUT_MS = 2000;
const NULL_MAC = '00:00:00:00:00:00';

/** Formats 16 bytes of a hash as an uppercase UUIDv8. */
export function uuidFromHash(digest: Uint8Array): string {
  const bytes = Buffer.from(digest.subarray(0, UUID_BYTES));
  bytes[6] = (bytes[6] & 0x0f) | VERSION_8;
  bytes[8] = (bytes[8] & 0x3f) | VARIANT_RFC;
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The stable hardware id of the machine the sources describe. */
export function hardwareIdOf(sources: MachineSources): string {
  if (sources.platform === 'darwin') {
    const uuid = sources.platformUuid()?.trim().toUpperCase();
    if (uuid && UUID.test(uuid)) return uuid;
  }
  let basis: string | undefined;
  for (const path of MACHINE_ID_FILES) {
    const text = sources.readFile(path)?.trim();
    if (text) {
      basis = `machine-id:${text}`;
      break;
    }
  }
  basis ??= `host:${sources.hostname()}|${[...new Set(sources.macs())].sort().join(',')}`;
  return uuidFromHash(createHash('sha256').update(DERIVATION_PREFIX + basis).digest());
}

/** The sources of the machine this process runs on. */
export const thisMachine: MachineSources = {
  platform: process.platform,
  readFile: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  platformUuid: () => {
    try {
      const out = execFileSync('ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice'], {
        encoding: 'utf8',
        timeout: IOREG_TIMEOUT_MS,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return /"IOPlatformUUID"\s*=\s*"([^"]+)"/.exec(out)?.[1];
    } catch {
      return undefined;
    }
  },
  hostname: () => hostname(),
  macs: () =>
    Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((i) => !i.internal && i.mac !== NULL_MAC)
      .map((i) => i.mac),
};

/** The stable hardware id of this machine. */
export function machineHardwareId(): string {
  return hardwareIdOf(thisMachine);
}
