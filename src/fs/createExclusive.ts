import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { errnoCode } from '../errno.ts';

/** Create only: never open an existing file, never follow a symlink planted at the path. */
export const CREATE_EXCLUSIVE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Creates `path` holding `bytes`, synchronously: false when something is already there (EEXIST).
 * Any other failure throws, after removing the file when it was created: it is ours (created
 * exclusively), and a partial one would be taken for whole by others. Not synced: for the small
 * files of the cache directory (its tag, a lock's holder record), on the local disk it lives on,
 * where the thread pool of an asynchronous call would cost more than the write.
 */
export function createExclusiveSync(path: string, bytes: Uint8Array, mode: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, CREATE_EXCLUSIVE_FLAGS, mode);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
  let open = true;
  try {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    // Never closed twice: after a failed close(2) the descriptor is gone, and its number may be another's.
    open = false;
    closeSync(fd);
    return true;
  } catch (error) {
    if (open) {
      try {
        closeSync(fd);
      } catch {
        // the file is removed below either way
      }
    }
    try {
      unlinkSync(path);
    } catch {
      // left behind: its owner's reader judges it (a lock by its age, a temp file by the sweep)
    }
    throw error;
  }
}
