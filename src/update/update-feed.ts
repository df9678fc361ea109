import type { KeyObject } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { join, relative, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { Metrics } from '../observability/metrics.js';
import { CHANNELS, readReleases, type Channel, type Release } from './release.js';
import { parsePublicKey, readArtifact, verifyBytes } from './signing.js';

/**
 * The client update feed: each channel's declared releases, checked against the artifacts in the
 * downloads folder (size, sha256, ed25519 signature). Only releases that pass are advertised;
 * the rest are reported in /status, in the log and in `nexy_update_artifact_valid`.
 */

export interface UpdateFeedOptions {
  readonly releasesDir: string;
  readonly downloadsDir: string;
  /** PEM or base64 raw key; empty: nothing can be verified, so nothing is advertised. */
  readonly publicKey: string;
  readonly enabled: Readonly<Record<Channel, boolean>>;
  readonly maxArtifactBytes: number;
  /** Re-read the release files this often (0: never); unchanged artifacts are not re-hashed. */
  readonly rescanIntervalMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ReleaseCheck {
  readonly release: Release;
  readonly valid: boolean;
  /** Why it is not advertised. */
  readonly problem?: string;
}

export interface ChannelState {
  readonly channel: Channel;
  readonly enabled: boolean;
  /** Every declared release, highest build first. */
  readonly releases: readonly ReleaseCheck[];
  /** The verified ones, highest build first: what the feeds list. */
  readonly advertised: readonly Release[];
  /** The newest declared release verified (true when none is declared; false while the file is broken). */
  readonly artifactValid: boolean;
  /** The release file could not be read at the last rescan; the state before it is kept. */
  readonly error?: string;
  readonly checkedAt: Date;
}

/** An artifact that may be downloaded: verified and part of an enabled channel. */
export interface ServableArtifact {
  readonly file: string;
  /** Resolved, inside the downloads folder. */
  readonly path: string;
  readonly size: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly sha256: string;
  /** The most stable enabled channel that advertises it (downloads are counted under it). */
  readonly channel: Channel;
}

/** The file a verified release points at, as it was when verified: a change means re-verify. */
interface Verified {
  readonly path: string;
  readonly size: number;
  /** Changes on every write and cannot be set back by hand (unlike mtime). */
  readonly ctimeMs: number;
  readonly ino: number;
}

type Outcome = { ok: true; artifact: Verified } | { ok: false; problem: string };

export class UpdateFeed {
  readonly #options: UpdateFeedOptions;
  readonly #publicKey: KeyObject | undefined;
  #states = new Map<Channel, ChannelState>();
  #verified = new Map<Channel, Map<string, Verified>>();
  #servable = new Map<string, ServableArtifact>();
  /** Verification results by (declared release, the file's identity and ctime): rescans skip re-hashing. */
  #cache = new Map<string, Outcome>();
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;

  private constructor(options: UpdateFeedOptions, publicKey: KeyObject | undefined) {
    this.#options = options;
    this.#publicKey = publicKey;
  }

  /**
   * Reads every enabled channel's releases and verifies their artifacts. A malformed release file
   * or public key is a configuration error (thrown, listing every problem); an artifact that fails
   * verification is not: it is left out of the feed and reported.
   */
  static async create(options: UpdateFeedOptions): Promise<UpdateFeed> {
    let key: KeyObject | undefined;
    if (options.publicKey.trim() !== '') {
      try {
        key = parsePublicKey(options.publicKey);
      } catch (error) {
        throw new ConfigError([`updates.ed25519_public_key: ${(error as Error).message}`]);
      }
    } else {
      options.logger.warn('updates.ed25519_public_key is empty: no update artifact can be verified, none is advertised');
    }
    const feed = new UpdateFeed(options, key);
    const problems = await feed.#load();
    if (problems.length > 0) throw new ConfigError(problems);
    if (options.rescanIntervalMs > 0) {
      feed.#timer = setInterval(() => void feed.reload(), options.rescanIntervalMs).unref();
    }
    return feed;
  }

  /** Re-reads the release files and re-verifies changed artifacts. A broken file keeps its channel's last state. */
  reload(): Promise<void> {
    this.#reloading ??= this.#load()
      .then((problems) => {
        for (const problem of problems) this.#options.logger.error({ problem }, 'release file not reloaded; the previous state is kept');
      })
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'update feed reload failed'))
      .finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  channel(channel: Channel): ChannelState {
    return this.#states.get(channel)!;
  }

  /** The artifact behind `/downloads/{file}`, when it is verified and advertised. */
  servable(file: string): ServableArtifact | undefined {
    return this.#servable.get(file);
  }

  /** Why the feed is not fully healthy (an enabled channel whose newest release failed), or undefined. */
  problem(): string | undefined {
    const bad = CHANNELS.map((c) => this.channel(c)).filter((s) => s.enabled && (!s.artifactValid || s.error !== undefined));
    if (bad.length === 0) return undefined;
    return bad
      .map((s) => (s.error !== undefined ? `${s.channel}: ${s.error}` : `${s.channel}: build ${s.releases[0]!.release.build} not advertised (${s.releases[0]!.problem})`))
      .join('; ');
  }

  /** Per channel, for /status and the operator page. */
  status(): Record<Channel, Record<string, unknown>> {
    const out = {} as Record<Channel, Record<string, unknown>>;
    for (const channel of CHANNELS) {
      const s = this.channel(channel);
      const latest = s.advertised[0];
      out[channel] = {
        enabled: s.enabled,
        state: !s.enabled ? 'disabled' : s.error !== undefined ? 'error' : !s.artifactValid ? 'invalid' : latest ? 'ok' : 'empty',
        latest: latest ? { version: latest.version, build: latest.build, file: latest.file, size: latest.size, critical: latest.critical ?? false } : null,
        releases: s.releases.map((r) => ({ version: r.release.version, build: r.release.build, file: r.release.file, valid: r.valid, ...(r.problem ? { problem: r.problem } : {}) })),
        ...(s.error !== undefined ? { error: s.error } : {}),
        checked_at: s.checkedAt.toISOString(),
      };
    }
    return out;
  }

  async #load(): Promise<string[]> {
    const { metrics, logger, enabled: enabledChannels, releasesDir } = this.#options;
    const problems: string[] = [];
    const usedKeys = new Set<string>();
    for (const channel of CHANNELS) {
      const enabled = enabledChannels[channel];
      const previous = this.#states.get(channel);
      if (!enabled) {
        this.#states.set(channel, { channel, enabled, releases: [], advertised: [], artifactValid: true, checkedAt: new Date() });
        this.#verified.set(channel, new Map());
        metrics.updateLatestBuild.remove({ channel });
        metrics.updateArtifactValid.remove({ channel });
        continue;
      }
      let releases: Release[];
      try {
        releases = (await readReleases(resolve(releasesDir), channel)).releases;
      } catch (error) {
        const lines = (error as Error).message.split('\n');
        problems.push(...lines);
        const kept = previous ?? { channel, enabled, releases: [], advertised: [], artifactValid: false, checkedAt: new Date() };
        // Still serving the last good state, but not what the operator declared: alert on it.
        this.#states.set(channel, { ...kept, artifactValid: false, error: lines[0]! });
        metrics.updateArtifactValid.set({ channel }, 0);
        continue;
      }
      releases.sort((a, b) => b.build - a.build);
      const checks: ReleaseCheck[] = [];
      const verified = new Map<string, Verified>();
      for (const release of releases) {
        const { outcome, key } = await this.#verify(release);
        if (key) usedKeys.add(key);
        if (outcome.ok) {
          checks.push({ release, valid: true });
          verified.set(release.file, outcome.artifact);
          continue;
        }
        checks.push({ release, valid: false, problem: outcome.problem });
        const before = previous?.releases.find((r) => r.release.build === release.build);
        if (before?.problem !== outcome.problem) {
          logger.warn({ channel, version: release.version, build: release.build, file: release.file, problem: outcome.problem }, 'update artifact not advertised');
        }
      }
      const advertised = checks.filter((c) => c.valid).map((c) => c.release);
      const artifactValid = checks[0]?.valid ?? true;
      this.#states.set(channel, { channel, enabled, releases: checks, advertised, artifactValid, checkedAt: new Date() });
      this.#verified.set(channel, verified);
      metrics.updateLatestBuild.set({ channel }, advertised[0]?.build ?? 0);
      metrics.updateArtifactValid.set({ channel }, artifactValid ? 1 : 0);
    }
    const servable = new Map<string, ServableArtifact>();
    for (const channel of CHANNELS) {
      for (const release of this.channel(channel).advertised) {
        const artifact = this.#verified.get(channel)?.get(release.file);
        if (artifact && !servable.has(release.file)) servable.set(release.file, { file: release.file, ...artifact, sha256: release.sha256, channel });
      }
    }
    this.#servable = servable;
    for (const key of this.#cache.keys()) if (!usedKeys.has(key)) this.#cache.delete(key);
    return problems;
  }

  /** Where the file is and what it is (cheap), then, unless that is unchanged since the last check, its bytes. */
  async #verify(release: Release): Promise<{ outcome: Outcome; key?: string }> {
    const folder = resolve(this.#options.downloadsDir);
    let artifact: Verified;
    try {
      const realFolder = await realpath(folder);
      const path = await realpath(join(folder, release.file));
      const inside = relative(realFolder, path);
      if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return { outcome: { ok: false, problem: 'resolves outside updates.downloads_dir' } };
      const info = await stat(path);
      if (!info.isFile()) return { outcome: { ok: false, problem: 'not a regular file' } };
      artifact = { path, size: info.size, ctimeMs: info.ctimeMs, ino: info.ino };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { outcome: { ok: false, problem: code === 'ENOENT' ? 'file missing from updates.downloads_dir' : `cannot read the file (${code ?? 'error'})` } };
    }
    const key = [release.file, release.size, release.sha256, release.ed25519, artifact.path, artifact.size, artifact.ctimeMs, artifact.ino].join('|');
    let outcome = this.#cache.get(key);
    if (!outcome) {
      outcome = await this.#check(release, artifact);
      this.#cache.set(key, outcome);
    }
    return { outcome, key };
  }

  async #check(release: Release, artifact: Verified): Promise<Outcome> {
    if (artifact.size !== release.size) return { ok: false, problem: `size is ${artifact.size} bytes, the release says ${release.size}` };
    if (!this.#publicKey) return { ok: false, problem: 'no updates.ed25519_public_key to verify the signature with' };
    try {
      const read = await readArtifact(artifact.path, this.#options.maxArtifactBytes);
      if (read.size !== release.size) return { ok: false, problem: `size is ${read.size} bytes, the release says ${release.size}` };
      if (read.sha256 !== release.sha256) return { ok: false, problem: "sha256 differs from the release's" };
      if (!(await verifyBytes(read.bytes, release.ed25519, this.#publicKey))) {
        return { ok: false, problem: 'ed25519 signature does not verify with updates.ed25519_public_key' };
      }
    } catch (error) {
      return { ok: false, problem: (error as Error).message };
    }
    return { ok: true, artifact };
  }
}

