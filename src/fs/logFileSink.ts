import { closeSync, constants, fchmodSync, fstatSync, openSync, writeSync } from 'node:fs';

/**
 * The optional log file, written by root on every node, at a path from the config. Opened on the
 * first line (a pull that logs nothing creates nothing), with `O_NOFOLLOW` (a symlink planted there
 * must not redirect root's appends), `O_NONBLOCK` (a FIFO must not block the exec past its
 * deadline), and checked on the descriptor: a regular file, ours, with one link (a hard link could
 * name /etc/shadow), then made 0600. A file that fails any of this is given up with one warning:
 * the kubelet needs the credential, not the log.
 */
const OPEN_FLAGS =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const FILE_MODE = 0o600;

/** Appends one finished line; never throws. `warn` gets one line the first time the file is unusable. */
export type LogFileSink = (line: string) => void;

export function createLogFileSink(path: string, warn: (problem: string) => void): LogFileSink {
  let fd: number | undefined;
  let givenUp = false;
  const giveUp = (reason: string): void => {
    givenUp = true;
    if (fd !== undefined) closeQuietly(fd);
    fd = undefined;
    warn(`log file ${path} not used (${reason}); logging to stderr only`);
  };
  return (line) => {
    if (givenUp) return;
    try {
      if (fd === undefined) {
        const opened = openSync(path, OPEN_FLAGS, FILE_MODE);
        fd = opened;
        const problem = unusable(opened);
        if (problem !== undefined) return giveUp(problem);
      }
      writeSync(fd, line);
    } catch (error) {
      giveUp(describeError(error));
    }
  };
}

/** Why the opened file must not be written, or undefined; tightens the mode of a file we own. */
function unusable(fd: number): string | undefined {
  const stat = fstatSync(fd);
  if (!stat.isFile()) return stat.isFIFO() ? 'a FIFO' : 'not a regular file';
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `owned by uid ${stat.uid}, not by this user`;
  if (stat.nlink > 1) return `${stat.nlink} hard links`;
  if ((stat.mode & 0o777) !== FILE_MODE) fchmodSync(fd, FILE_MODE);
  return undefined;
}

function describeError(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  if (code === 'ELOOP') return 'a symlink';
  if (code === 'EISDIR') return 'a directory';
  if (code === 'ENOENT') return 'its folder does not exist';
  if (code === 'ENXIO') return 'a FIFO';
  if (code === 'EROFS') return 'read-only filesystem';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? 'unknown error';
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing left to do with it.
  }
}
