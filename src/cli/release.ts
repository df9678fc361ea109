import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { appendRelease, CHANNELS, isArtifactFileName, isChannel, releaseSchema, type Release } from '../update/release.js';
import { generateSigningKeys, parsePrivateKey, parsePublicKey, readArtifact, signBytes, verifyBytes } from '../update/signing.js';
import { ExitCode, UsageError, type CliCommand, type CliContext } from './command.js';

const USAGE = `usage: nexy release add --channel CHANNEL --version VERSION --build BUILD --file FILE
                        (--key PRIVATE.pem | --signature BASE64) [options]
       nexy release keygen [--out DIR]

add     Publishes a client update: computes the file's size, sha256 and ed25519 signature,
        copies it into updates.downloads_dir and adds the release to CHANNEL's file in
        updates.releases_dir. A running server advertises it at its next rescan.
  --channel CHANNEL     ${CHANNELS.join(' | ')}
  --version VERSION     what users see, e.g. 2.1.0 (Sparkle's shortVersionString)
  --build BUILD         a positive integer clients compare (Sparkle's version), e.g. 2100
  --file FILE           the artifact (.dmg, .zip, ...)
  --key FILE            the ed25519 private key to sign with (PEM, or Sparkle's exported key)
  --signature BASE64    a signature made elsewhere instead (Sparkle's sign_update edSignature)
  --name NAME           its file name on the server (default: FILE's name with -VERSION added)
  --url URL             clients download from here instead of this server (same bytes)
  --min-os VERSION      minimum macOS version (sparkle:minimumSystemVersion)
  --notes-url URL       release notes page
  --critical            a critical update
  --config PATH         a config file merged over config/unified_config.yaml

keygen  Makes an ed25519 key pair for signing updates: DIR/nexy-update-ed25519.pem (private,
        mode 600; keep it off the server) and DIR/nexy-update-ed25519.pub.pem, and prints the
        public key for updates.ed25519_public_key and the app's SUPublicEDKey.
  --out DIR             where the files go (default: the current directory)

exit codes: 0 done, 1 a file could not be read or written, or the signature does not verify, 2 bad usage
`;

const PRIVATE_KEY_FILE = 'nexy-update-ed25519.pem';
const PUBLIC_KEY_FILE = 'nexy-update-ed25519.pub.pem';

/** A local failure: one line on stderr and exit code 1. */
class ReleaseError extends Error {}

/** The artifact's name on the server: FILE's name, with `-VERSION` before the extension unless it has it. */
export function artifactName(file: string, version: string): string {
  const name = basename(file);
  if (name.includes(version)) return name;
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)}-${version}${ext}`;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ReleaseError(`cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function add(args: string[], context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      channel: { type: 'string' },
      version: { type: 'string' },
      build: { type: 'string' },
      file: { type: 'string' },
      key: { type: 'string' },
      signature: { type: 'string' },
      name: { type: 'string' },
      url: { type: 'string' },
      'min-os': { type: 'string' },
      'notes-url': { type: 'string' },
      critical: { type: 'boolean' },
      config: { type: 'string' },
    },
  });
  for (const required of ['channel', 'version', 'build', 'file'] as const) {
    if (values[required] === undefined) throw new UsageError(`--${required} is required`);
  }
  const channel = values.channel!;
  if (!isChannel(channel)) throw new UsageError(`--channel must be one of ${CHANNELS.join(', ')}`);
  if (!/^[1-9]\d{0,14}$/.test(values.build!)) throw new UsageError('--build must be a positive integer');
  if ((values.key === undefined) === (values.signature === undefined)) throw new UsageError('give exactly one of --key and --signature');
  const name = values.name ?? artifactName(values.file!, values.version!);
  if (!isArtifactFileName(name)) throw new UsageError(`the file name ${JSON.stringify(name)} is not plain letters, digits and . _ + - (use --name)`);

  const updates = loadConfig({ overridePath: values.config }).updates;
  let artifact;
  try {
    artifact = await readArtifact(values.file!, updates.max_artifact_bytes);
  } catch (error) {
    throw new ReleaseError(`cannot use --file ${values.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let signature = values.signature;
  if (values.key !== undefined) {
    const keyText = await readText(values.key, '--key');
    let key;
    try {
      key = parsePrivateKey(keyText);
    } catch (error) {
      throw new ReleaseError(`--key ${values.key}: ${(error as Error).message}`);
    }
    signature = await signBytes(artifact.bytes, key);
  }
  const entry: Release = {
    version: values.version!,
    build: Number(values.build),
    file: name,
    ...(values.url !== undefined ? { url: values.url } : {}),
    size: artifact.size,
    sha256: artifact.sha256,
    ed25519: signature!,
    ...(values['min-os'] !== undefined ? { minimum_system_version: values['min-os'] } : {}),
    ...(values['notes-url'] !== undefined ? { notes_url: values['notes-url'] } : {}),
    ...(values.critical ? { critical: true } : {}),
    published_at: new Date().toISOString(),
  };
  const checked = releaseSchema.safeParse(entry);
  if (!checked.success) {
    const flag: Record<string, string> = { minimum_system_version: 'min-os', notes_url: 'notes-url', ed25519: 'signature' };
    throw new UsageError(checked.error.issues.map((i) => `--${flag[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
  }

  if (updates.ed25519_public_key.trim() === '') {
    context.stderr.write('nexy release: updates.ed25519_public_key is empty: the server advertises no release until it is set\n');
  } else if (!(await verifyBytes(artifact.bytes, entry.ed25519, parsePublicKey(updates.ed25519_public_key)))) {
    throw new ReleaseError('the signature does not verify with updates.ed25519_public_key (another key?); nothing was written');
  }

  const downloads = resolve(updates.downloads_dir);
  const target = join(downloads, name);
  await mkdir(downloads, { recursive: true });
  if (resolve(values.file!) !== target) {
    const existing = await readFile(target).catch(() => undefined);
    if (existing && createHash('sha256').update(existing).digest('hex') !== artifact.sha256) {
      throw new ReleaseError(`${target} exists with other content; choose another --name`);
    }
    if (!existing) {
      // Copied beside, then renamed: a running server never sees half a file.
      await copyFile(values.file!, `${target}.partial`);
      await rename(`${target}.partial`, target);
    }
  }
  let path;
  try {
    path = await appendRelease(resolve(updates.releases_dir), channel, entry);
  } catch (error) {
    throw new ReleaseError((error as Error).message);
  }
  context.stdout.write(
    `added ${channel} ${entry.version} (build ${entry.build}): ${name}, ${entry.size} bytes, sha256 ${entry.sha256}\n` +
      `  release: ${path}\n  artifact: ${target}\n` +
      `  a running server advertises it within updates.rescan_interval_ms (${updates.rescan_interval_ms} ms; 0: at its next start)\n`,
  );
  return ExitCode.ok;
}

async function keygen(args: string[], context: CliContext): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { out: { type: 'string' } } });
  const dir = resolve(values.out ?? '.');
  const keys = await generateSigningKeys();
  await mkdir(dir, { recursive: true });
  const privatePath = join(dir, PRIVATE_KEY_FILE);
  const publicPath = join(dir, PUBLIC_KEY_FILE);
  try {
    // `wx`: never overwrite a key that may already sign published releases.
    await writeFile(privatePath, keys.privateKeyPem, { flag: 'wx', mode: 0o600 });
    await writeFile(publicPath, keys.publicKeyPem, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ReleaseError(code === 'EEXIST' ? `a key already exists in ${dir}; nothing was overwritten` : `cannot write the keys in ${dir} (${code ?? 'error'})`);
  }
  context.stdout.write(
    `private key: ${privatePath} (keep it secret and off the server)\npublic key:  ${publicPath}\n\n` +
      `public key (base64, for updates.ed25519_public_key / NEXY_UPDATE_PUBLIC_KEY and the app's SUPublicEDKey):\n${keys.publicKeyBase64}\n`,
  );
  return ExitCode.ok;
}

/** `nexy release add|keygen`: publishing client updates. */
export const release: CliCommand = {
  name: 'release',
  usage: USAGE,
  async run(args, context) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '-h' || sub === '--help') {
      (sub === undefined ? context.stderr : context.stdout).write(USAGE);
      return sub === undefined ? ExitCode.badUsage : ExitCode.ok;
    }
    if (rest.includes('-h') || rest.includes('--help')) {
      context.stdout.write(USAGE);
      return ExitCode.ok;
    }
    try {
      if (sub === 'add') return await add(rest, context);
      if (sub === 'keygen') return await keygen(rest, context);
    } catch (error) {
      if (!(error instanceof ReleaseError)) throw error;
      context.stderr.write(`nexy release ${sub}: ${error.message}\n`);
      return ExitCode.localFailure;
    }
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (add, keygen)`);
  },
};
