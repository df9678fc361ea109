import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Document, isSeq, parseDocument, YAMLSeq } from 'yaml';
import { z } from 'zod';

/** The update channels, most stable first. */
export const CHANNELS = ['stable', 'beta', 'alpha'] as const;
export type Channel = (typeof CHANNELS)[number];

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** An artifact's file name in the downloads folder: one path segment, no dot-dot, no separators. */
export const ARTIFACT_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;

export function isArtifactFileName(name: string): boolean {
  return ARTIFACT_FILE_NAME.test(name) && !name.includes('..');
}

// Versions are strings: YAML would read 2.10 as the number 2.1, so a bare number is refused.
const versionText = z.string({ error: 'must be a quoted string' }).regex(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/, 'not a version');

/** One release of a channel, as its release file declares it. */
export const releaseSchema = z.strictObject({
  /** Shown to users (Sparkle's shortVersionString). */
  version: versionText,
  /** Compared by clients to decide what is newer (Sparkle's version, CFBundleVersion). */
  build: z.number().int().positive(),
  /** The artifact's name in `updates.downloads_dir`. */
  file: z.string().refine(isArtifactFileName, 'a plain file name (letters, digits, . _ + -)'),
  /** Where clients download it when not from this server (a CDN); the local file is what is verified. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  /** Base64 ed25519 signature of the whole file (Sparkle's edSignature). */
  ed25519: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'a base64 ed25519 signature (88 characters)'),
  minimum_system_version: versionText.optional(),
  notes_url: z.url({ protocol: /^https?$/ }).optional(),
  critical: z.boolean().optional(),
  published_at: z.iso.datetime({ offset: true }).optional(),
});

export type Release = z.infer<typeof releaseSchema>;

const releaseFileSchema = z
  .strictObject({ releases: z.array(releaseSchema).nullable().optional() })
  .superRefine((file, ctx) => {
    const seen = new Set<number>();
    for (const [index, release] of (file.releases ?? []).entries()) {
      if (seen.has(release.build)) ctx.addIssue({ code: 'custom', path: ['releases', index, 'build'], message: `build ${release.build} is declared twice` });
      seen.add(release.build);
    }
  });

const EXTENSIONS = ['yaml', 'yml', 'json'] as const;

/** The release file of a channel: the first of `{channel}.yaml|.yml|.json` that exists. */
export async function findReleaseFile(dir: string, channel: Channel): Promise<{ path: string; text: string } | undefined> {
  for (const ext of EXTENSIONS) {
    const path = join(dir, `${channel}.${ext}`);
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return undefined;
}

/**
 * Parses a release file (YAML; JSON is YAML too). Throws an Error listing every problem, each
 * prefixed with the file's path, so a typo is reported like a config error.
 */
export function parseReleaseFile(path: string, text: string): Release[] {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new Error(`${path}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  const result = releaseFileSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    throw new Error(result.error.issues.map((i) => `${path}: ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n'));
  }
  return result.data.releases ?? [];
}

/** The releases of a channel; none when it has no release file. */
export async function readReleases(dir: string, channel: Channel): Promise<{ path?: string; releases: Release[] }> {
  const found = await findReleaseFile(dir, channel);
  if (!found) return { releases: [] };
  return { path: found.path, releases: parseReleaseFile(found.path, found.text) };
}

const NEW_FILE_HEADER = (channel: Channel) =>
  ` Releases of the ${channel} channel (written by \`nexy release add\`; hand edits are kept).
 The appcast lists the verified ones, highest build first; clients take the first.`;

/**
 * Adds a release to its channel's file, keeping the file's comments and other entries; a file is
 * created when the channel has none. Refuses a build the channel already declares. The file is
 * replaced atomically (written beside it, then renamed), so a running server never reads half.
 */
export async function appendRelease(dir: string, channel: Channel, release: Release): Promise<string> {
  const found = await findReleaseFile(dir, channel);
  const path = found?.path ?? join(dir, `${channel}.yaml`);
  const existing = found ? parseReleaseFile(path, found.text) : [];
  if (existing.some((r) => r.build === release.build)) throw new Error(`${path}: build ${release.build} is already declared`);
  releaseSchema.parse(release);

  let doc: Document;
  if (found && !path.endsWith('.json')) {
    doc = parseDocument(found.text);
    if (!doc.contents || doc.get('releases') === null || doc.get('releases') === undefined) doc.set('releases', new YAMLSeq());
  } else {
    doc = new Document({ releases: existing });
    if (!found) doc.commentBefore = NEW_FILE_HEADER(channel);
  }
  const releases = doc.get('releases', true);
  if (!isSeq(releases)) throw new Error(`${path}: releases must be a list`);
  // Block style even when the file says `releases: []`.
  releases.flow = false;
  releases.add(doc.createNode(release));
  const text = path.endsWith('.json') ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : doc.toString({ lineWidth: 0 });
  await mkdir(dir, { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, 'utf8');
  await rename(temp, path);
  return path;
}
