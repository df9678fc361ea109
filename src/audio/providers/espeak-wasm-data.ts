import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The embedded eSpeak build's data, read as the engine asks for it. The build's glue
 * (@echogarden/espeak-ng-emscripten 0.3.5, Emscripten's file packager) reads all of
 * `espeak-ng.data` (24 MB: the dictionaries of ~100 languages, `ru_dict` alone 8 MB) into memory
 * and keeps it as its in-memory file system, in every worker that loads the engine. Here the
 * package is handed to the glue with only the small files read (voices, phoneme tables: ~1 MB);
 * each `*_dict` file becomes a file whose bytes are read from disk when the engine reads it (it
 * reads a dictionary whole, when a voice of that language is chosen or when a word in another
 * script switches language). Such a read goes from the disk (the page cache, after the first)
 * straight into the engine's WASM memory: the engine's own copy of the dictionary is the only one
 * a worker holds, where a copy kept on the JavaScript side would double it (8 MB more for Russian).
 * The engine sees the same files with the same bytes.
 *
 * Relies on the glue's hooks (`getPreloadedPackage`, `FS_createDataFile`, `onRuntimeInitialized`,
 * its exported `FS`) and on its in-memory file system reading a file through the file node's
 * `stream_ops.read`, else its `contents` through `subarray` (index access for reads of a few
 * bytes): should the direct reads not attach, the first read of a dictionary loads it into
 * `contents` and keeps it. When the package's file table cannot be read from the glue,
 * `lazyDataOptions` returns no options and the glue loads everything as before.
 */

interface PackagedFile {
  readonly start: number;
  readonly end: number;
}

interface PackageTable {
  readonly dataPath: string;
  readonly size: number;
  readonly files: ReadonlyMap<string, PackagedFile>;
}

/** The glue's options (Emscripten `Module` fields) that load the data lazily; `{}` when unsure. */
export function lazyDataOptions(): Record<string, unknown> {
  const table = packageTable();
  if (table === undefined) return {};
  const lazy = (path: string) => path.endsWith('_dict');
  const module: Record<string, unknown> = {
    getPreloadedPackage: (_name: string, size: number): ArrayBuffer | null => {
      if (size !== table.size) return null; // another build: the glue reads the file itself
      // Zero-filled and not touched where the dictionaries go: those pages never become resident.
      const bytes = new Uint8Array(size);
      const fd = openSync(table.dataPath, 'r');
      try {
        for (const [path, file] of table.files) {
          if (!lazy(path)) readFully(fd, bytes.subarray(file.start, file.end), file.start);
        }
      } finally {
        closeSync(fd);
      }
      return bytes.buffer;
    },
  };
  // The glue publishes its file-creating function on the module object, and its packager looks
  // it up there for each packaged file: kept behind an accessor, so that dictionaries go in lazily.
  type Create = (parent: string, name: string | null, data: unknown, canRead: boolean, canWrite: boolean, canOwn: boolean) => void;
  let create: Create | undefined;
  // The packager passes each file's full path as `parent`, with no name.
  const lazyFiles = new Map<string, PackagedFile>();
  const wrapped: Create = (parent, name, data, canRead, canWrite, canOwn) => {
    const file = name === null && lazy(parent) ? table.files.get(parent) : undefined;
    if (file !== undefined && canOwn) lazyFiles.set(parent, file);
    create!(parent, name, file !== undefined && canOwn ? lazyBytes(table.dataPath, file) : data, canRead, canWrite, canOwn);
  };
  // The packaged files exist once the runtime is initialised (the package is handed over
  // synchronously, before the glue's run): each dictionary's node then reads from disk itself.
  module.onRuntimeInitialized = () => {
    const fs = (module as { FS?: EmscriptenFs }).FS;
    if (fs === undefined) return;
    for (const [path, file] of lazyFiles) directReads(fs, path, table.dataPath, file);
  };
  Object.defineProperty(module, 'FS_createDataFile', {
    configurable: true,
    enumerable: true,
    get: () => (create === undefined ? undefined : wrapped),
    // The glue also copies its options back onto the module (`undefined` here, or this wrapper).
    set: (fn: unknown) => {
      if (typeof fn === 'function' && fn !== wrapped) create = fn as Create;
    },
  });
  return module;
}

/**
 * A file's contents as the in-memory file system uses them: `length`, `subarray(begin, end)`,
 * and an index for tiny reads. The first `subarray(0, length)` is the file system taking
 * ownership at creation: it gets this object. Reads normally bypass it (`directReads`); should
 * one come here, it loads the bytes from disk and keeps them, as the engine reads the file again
 * at each switch back to its language.
 */
function lazyBytes(dataPath: string, file: PackagedFile): object {
  const length = file.end - file.start;
  let owned = false;
  let bytes: Uint8Array | undefined;
  const load = (): Uint8Array => {
    if (bytes === undefined) {
      const fd = openSync(dataPath, 'r');
      try {
        const read = new Uint8Array(length);
        readFully(fd, read, file.start);
        bytes = read;
      } finally {
        closeSync(fd);
      }
    }
    return bytes;
  };
  const target = {
    length,
    subarray(begin = 0, end = length): unknown {
      if (!owned && begin === 0 && end === length) {
        owned = true;
        return proxy;
      }
      return load().subarray(begin, end);
    },
  };
  const proxy: object = new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === 'string' && key !== '' && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) return load()[Number(key)];
      return Reflect.get(object, key, receiver);
    },
  });
  return proxy;
}

/** The part of the glue's file system used here. */
interface EmscriptenFs {
  lookupPath(path: string): { node: { stream_ops: Record<string, unknown> } };
}

/**
 * The file at `path` reads its bytes from `file`'s range of the data file, into the engine's
 * buffer (`buffer`: a view of the WASM memory). Its other operations stay the in-memory file
 * system's (it is read-only to the engine).
 */
function directReads(fs: EmscriptenFs, path: string, dataPath: string, file: PackagedFile): void {
  let node: { stream_ops: Record<string, unknown> };
  try {
    ({ node } = fs.lookupPath(path));
  } catch {
    return; // not there: the engine cannot read it either way
  }
  const length = file.end - file.start;
  node.stream_ops = {
    ...node.stream_ops,
    read(_stream: unknown, buffer: Int8Array | Uint8Array, offset: number, want: number, position: number): number {
      const size = Math.min(length - position, want);
      if (size <= 0) return 0;
      const fd = openSync(dataPath, 'r');
      try {
        readFully(fd, buffer.subarray(offset, offset + size), file.start + position);
      } finally {
        closeSync(fd);
      }
      return size;
    },
  };
}

function readFully(fd: number, into: Uint8Array | Int8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error('espeak-ng.data is shorter than its file table');
    done += n;
  }
}

let table: PackageTable | null | undefined;

/** The package's files (path → byte range), from the glue's own table; undefined if unreadable. */
function packageTable(): PackageTable | undefined {
  if (table !== undefined) return table ?? undefined;
  table = null;
  try {
    const glueUrl = import.meta.resolve('@echogarden/espeak-ng-emscripten');
    const gluePath = fileURLToPath(glueUrl);
    const dataPath = fileURLToPath(new URL('espeak-ng.data', glueUrl));
    const glue = readFileSync(gluePath, 'utf8');
    const size = Number(/remote_package_size:(\d+)/u.exec(glue)?.[1]);
    const files = new Map<string, PackagedFile>();
    for (const match of glue.matchAll(/\{filename:"([^"]+)",start:(\d+),end:(\d+)/gu)) {
      files.set(match[1]!, { start: Number(match[2]), end: Number(match[3]) });
    }
    const covered = [...files.values()].reduce((sum, f) => sum + (f.end - f.start), 0);
    if (files.size === 0 || covered !== size || statSync(dataPath).size !== size) return undefined;
    table = { dataPath, size, files };
    return table;
  } catch {
    return undefined;
  }
}
