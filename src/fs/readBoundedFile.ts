import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { errnoCode } from '../errno.ts';
import { fsp, type FileHandle } from './promises.ts';

/**
 * Reading a file without trusting what the path names: `O_NONBLOCK` so a FIFO does not hang the
 * exec, the type and size checked on the opened descriptor (`fstat`, so the file cannot be swapped
 * between the check and the read), and never more than `maxBytes` read, so `/dev/zero` or a 100 MB
 * file cannot grow memory. Symlinks are followed only when asked: Kubernetes mounts configs and
 * tokens through symlinks, while a shared cache directory must not follow planted ones.
 */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const NON_BLOCK = constants.O_NONBLOCK ?? 0;

/**
 * Cap for every file the provider reads as input (settings YAML, OCI config, keys, CA, token files):
 * the largest of them, a CA bundle, is a few hundred KiB.
 */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024;

export interface BoundedReadOptions {
  readonly maxBytes: number;
  /** Follow a symlink at `path` (config files) or refuse it (files in a directory others can write). */
  readonly followSymlinks: boolean;
}

export type BoundedRead =
  | { readonly ok: true; readonly bytes: Buffer; readonly stat: Stats }
  | {
      readonly ok: false;
      readonly missing: boolean;
      /** The Node error code (`ENOENT`, `EACCES`, `EISDIR`) or a short phrase for a refusal (`not a regular file: a FIFO`). */
      readonly code: string;
    };

/** Reads at most `maxBytes` of a regular file. Never throws: every failure comes back as `ok: false`. */
export async function readBoundedFile(path: string, options: BoundedReadOptions): Promise<BoundedRead> {
  let handle: FileHandle | undefined;
  try {
    if (!options.followSymlinks && NO_FOLLOW === 0) {
      // No O_NOFOLLOW on this platform (Windows): an lstat first is the best we can do.
      if ((await fsp().lstat(path)).isSymbolicLink()) return refused('a symlink');
    }
    handle = await fsp().open(path, constants.O_RDONLY | NON_BLOCK | (options.followSymlinks ? 0 : NO_FOLLOW));
    const stat = await handle.stat();
    const wrong = refusal(stat, options.maxBytes);
    if (wrong !== undefined) return wrong;
    // Sized by the fstat, plus one byte, so a file that grows after the fstat is noticed and still capped.
    const into = boundedBuffer(stat, options.maxBytes);
    for (;;) {
      const { bytesRead } = await handle.read(into.buffer, into.length, into.buffer.length - into.length, into.length);
      const done = into.took(bytesRead);
      if (done !== undefined) return done;
    }
  } catch (error) {
    return failed(error, options);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * The same read, synchronously: for the shared cache, a few KiB on a local disk read by every
 * exec, where the first asynchronous call alone (the thread pool) costs more than the whole read.
 * Inputs that may sit on a slow mount (settings, keys) use the asynchronous form, which the exec's
 * deadline can interrupt.
 */
export function readBoundedFileSync(path: string, options: BoundedReadOptions): BoundedRead {
  let fd: number | undefined;
  try {
    if (!options.followSymlinks && NO_FOLLOW === 0 && lstatSync(path).isSymbolicLink()) return refused('a symlink');
    fd = openSync(path, constants.O_RDONLY | NON_BLOCK | (options.followSymlinks ? 0 : NO_FOLLOW));
    const stat = fstatSync(fd);
    const wrong = refusal(stat, options.maxBytes);
    if (wrong !== undefined) return wrong;
    const into = boundedBuffer(stat, options.maxBytes);
    for (;;) {
      const done = into.took(readSync(fd, into.buffer, into.length, into.buffer.length - into.length, null));
      if (done !== undefined) return done;
    }
  } catch (error) {
    return failed(error, options);
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // nothing was written through it: a failed close loses nothing
      }
    }
  }
}

/**
 * The buffer both reads fill, and what each read's count means, so the two differ only in how they
 * read: sized from the fstat plus the one byte that proves a file over the cap, grown for a file
 * that grew after its fstat, never past that.
 */
function boundedBuffer(stat: Stats, maxBytes: number): { readonly buffer: Buffer; readonly length: number; took(count: number): BoundedRead | undefined } {
  let buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
  let length = 0;
  return {
    get buffer() {
      return buffer;
    },
    get length() {
      return length;
    },
    /** After a read of `count` bytes: the result (end of file, or over the cap), or undefined to read on. */
    took(count) {
      if (count === 0) return { ok: true, bytes: buffer.subarray(0, length), stat };
      length += count;
      if (length > maxBytes) return refused(`larger than ${maxBytes} bytes`);
      if (length === buffer.length) {
        const bigger = Buffer.alloc(Math.min(buffer.length * 2, maxBytes + 1));
        buffer.copy(bigger);
        buffer = bigger;
      }
      return undefined;
    },
  };
}

/** Why an opened file is refused (a directory, not regular, over the cap), or undefined. */
function refusal(stat: Stats, maxBytes: number): BoundedRead | undefined {
  if (stat.isDirectory()) return refused('EISDIR');
  if (!stat.isFile()) return refused(`not a regular file: ${kindOf(stat)}`);
  if (stat.size > maxBytes) return refused(`larger than ${maxBytes} bytes`);
  return undefined;
}

function failed(error: unknown, options: BoundedReadOptions): BoundedRead {
  const code = errnoCode(error) ?? 'unknown error';
  if (code === 'ENOENT') return { ok: false, missing: true, code };
  if (code === 'ELOOP' && !options.followSymlinks) return refused('a symlink');
  return refused(code);
}

/** An error for a `FileReader` caller: `code` is the Node code or the refusal, so existing `(${code})` messages read well. */
export class FileRefusedError extends Error {
  readonly code: string;
  constructor(path: string, code: string) {
    super(`${path}: ${code}`);
    this.code = code;
  }
}

/** The file's text (UTF-8), or a rejection with a `FileRefusedError` whose `code` says why. Follows symlinks. */
export async function readBoundedText(path: string, maxBytes: number): Promise<string> {
  return textOf(path, await readBoundedFile(path, { maxBytes, followSymlinks: true }));
}

/** `readBoundedText`, synchronously: for the warm answer, which checks the inputs an earlier exec read before anything else runs. */
export function readBoundedTextSync(path: string, maxBytes: number): string {
  return textOf(path, readBoundedFileSync(path, { maxBytes, followSymlinks: true }));
}

function textOf(path: string, read: BoundedRead): string {
  if (!read.ok) throw new FileRefusedError(path, read.code);
  return new TextDecoder().decode(read.bytes);
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symlink';
  return 'a special file';
}

function refused(code: string): BoundedRead {
  return { ok: false, missing: false, code };
}
