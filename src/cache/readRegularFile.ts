import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { errnoCode } from '../errno.ts';

/**
 * Reading a file in a directory we share with other processes, without trusting what is there:
 * `O_NOFOLLOW` so a planted symlink is not followed, `O_NONBLOCK` so a planted FIFO does not hang
 * the read, and the checks done on the opened descriptor (`fstat`), not on the path, so the file
 * cannot be swapped between the check and the read.
 *
 * Synchronous on purpose: the files are a few KiB on a local disk, and a cache hit is most of an
 * exec answered from the cache, where the first asynchronous fs call alone (thread pool, wake-ups)
 * costs more CPU than the whole read.
 */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const READ_FLAGS = constants.O_RDONLY | NO_FOLLOW | (constants.O_NONBLOCK ?? 0);

export type RegularFileRead =
  | { readonly ok: true; readonly bytes: Buffer; readonly stat: Stats }
  | { readonly ok: false; readonly missing: boolean; readonly reason: string };

/**
 * Reads at most `maxBytes` of a regular file at `path`. Never throws: a missing file, a symlink,
 * a directory or other non-regular file, a file over `maxBytes`, or any I/O error comes back as
 * `ok: false` with a short reason.
 */
export function readRegularFile(path: string, maxBytes: number): Promise<RegularFileRead> {
  return Promise.resolve(readRegularFileSync(path, maxBytes));
}

export function readRegularFileSync(path: string, maxBytes: number): RegularFileRead {
  let fd: number | undefined;
  try {
    if (NO_FOLLOW === 0) {
      // No O_NOFOLLOW on this platform (Windows): an lstat first is the best we can do.
      if (lstatSync(path).isSymbolicLink()) return refused('a symlink');
    }
    fd = openSync(path, READ_FLAGS);
    const stat = fstatSync(fd);
    if (!stat.isFile()) return refused('not a regular file');
    if (stat.size > maxBytes) return refused(`larger than ${maxBytes} bytes`);
    // Read one byte more than allowed, so a file that grew after the fstat is still caught.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) return refused(`larger than ${maxBytes} bytes`);
    }
    return { ok: true, bytes: buffer.subarray(0, length), stat };
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return { ok: false, missing: true, reason: 'missing' };
    if (code === 'ELOOP') return refused('a symlink');
    return refused(`unreadable (${code ?? 'error'})`);
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

function refused(reason: string): RegularFileRead {
  return { ok: false, missing: false, reason };
}
