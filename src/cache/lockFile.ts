import { lstatSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.ts';
import { errnoCode } from '../errno.ts';
import { createExclusiveSync } from '../fs/createExclusive.ts';
import { fsp } from '../fs/promises.ts';
import { encodeRecord, holderState, MAX_RECORD_BYTES, ownRecord, parseRecord } from './holderRecord.ts';
import { readBoundedFileSync } from '../fs/readBoundedFile.ts';
import { randomHex } from '../webCrypto.ts';

/*
 * The on-disk half of the lock: one file, `<name>.lock`, whose existence means "held".
 *
 * Who may change the file, and why that is race-free:
 * - An acquirer only ever creates it, with O_EXCL: of all concurrent creators exactly one wins,
 *   and no creator can replace an existing file.
 * - The holder only ever deletes it if it still carries the holder's token. Between that check and
 *   the unlink nobody else can replace it: creators cannot (it exists), and breakers (below) act
 *   only on a lock whose holder is dead or whose record is missing, and ours is alive and complete.
 * - A breaker deletes a stale lock (holder dead, or no record after a grace period) only while
 *   holding the break mutex `<name>.lock.break`, and only after re-reading the lock under the mutex
 *   and finding the very file it judged stale (same inode, mtime and content). Without the mutex,
 *   two waiters that both judged the same stale file could interleave as "A deletes it, C creates
 *   a new lock, B deletes C's live lock, D creates another", and C and D would run at once. (Renaming the
 *   stale file aside instead does not help: the rename wakes every waiter, and one of them creates
 *   a new lock before a breaker that renamed a live lock by mistake can put it back.)
 * - The break mutex is itself a file that names its holder, taken and released like the lock, so
 *   a breaker SIGKILLed inside its critical section is noticed as quickly as a dead lock holder.
 *
 * Residual races, accepted because each needs a process to stall or die inside a window of a few
 * file operations, and the worst outcome is two processes refreshing the same token (the store's
 * atomic writes keep the cache consistent either way):
 * - A holder that stalls for more than `UNWRITTEN_LOCK_GRACE_MS` between creating the file and
 *   writing its record (or whose record is not written when the wall clock steps forward by that
 *   much) is taken for dead, and later runs alongside the new holder.
 * - A dead breaker's mutex is cleared with the same check-then-unlink as a stale lock, but with no
 *   mutex above it: two waiters clearing it at the same moment can interleave as "A clears it and
 *   takes the mutex, B (which judged the dead one) deletes A's", and both then break at once, which
 *   reopens the interleaving the mutex prevents. This needs a breaker to die inside its critical
 *   section of a few file operations first.
 *
 * Not a race but a delay: a holder or breaker SIGKILLed between creating its file and writing its
 * record leaves a file that is judged only by age, so waiters stall for the grace period (5 s).
 * Writing the record to a temp file and link(2)-ing it into place would close that window, at the
 * price of a temp file left behind by every kill in the other window, between link and unlink.
 */

/** Where the lock file and its break mutex live, absolute. */
export interface LockPaths {
  readonly dir: string;
  readonly fileName: string;
  readonly path: string;
  readonly breakFileName: string;
  readonly breakPath: string;
}

/** A lock file without a readable record this old was left by a holder killed between create and write. */
export const UNWRITTEN_LOCK_GRACE_MS = 5_000;

/** A break mutex without a readable record this old was left by a breaker killed between create and write. */
export const UNWRITTEN_BREAK_GRACE_MS = 5_000;

const FILE_MODE = 0o600;

/** Tokens of the locks this process holds right now, to judge lock files that carry our own pid. */
const heldTokens = new Set<string>();

/** Tokens of the break mutexes this process holds right now. */
const breakingTokens = new Set<string>();

export function lockPaths(dir: string, name: string): LockPaths {
  const fileName = `${name}.lock`;
  const breakFileName = `${fileName}.break`;
  const absolute = resolve(dir);
  return { dir: absolute, fileName, path: join(absolute, fileName), breakFileName, breakPath: join(absolute, breakFileName) };
}

/**
 * Creates the lock file if nobody holds it; returns our token, or undefined when it exists.
 * Rejects with the fs error for anything else (missing or read-only directory).
 */
export function tryCreate(lock: LockPaths): Promise<string | undefined> {
  return claim(lock.path, heldTokens);
}

/** What a lock file looked like when judged, to recognise the same file later. */
interface Snapshot {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly bytes: Uint8Array;
}

export type Inspection =
  | { readonly kind: 'gone' }
  | { readonly kind: 'held'; readonly pid: number | undefined }
  | { readonly kind: 'stale'; readonly pid: number | undefined; readonly why: string; readonly snapshot: Snapshot };

/** Reads the lock file and judges its holder. */
export function inspect(lock: LockPaths, nowMs: number): Promise<Inspection> {
  return judge(lock.path, nowMs, heldTokens, UNWRITTEN_LOCK_GRACE_MS);
}

/**
 * Deletes the stale lock judged in `stale`, if it is still that very file. Returns false when
 * another process is breaking it right now (the caller waits), true when the caller should retry
 * at once (broken, changed since it was judged, or a dead breaker's mutex cleared).
 */
export async function breakStale(lock: LockPaths, stale: Extract<Inspection, { kind: 'stale' }>, nowMs: number, log: Logger): Promise<boolean> {
  const token = await claim(lock.breakPath, breakingTokens);
  if (token === undefined) return clearDeadBreaker(lock, nowMs, log);
  try {
    if (!(await removeIfSame(lock.path, stale.snapshot))) return true;
    log.info('took over a stale cache lock', { lock: lock.path, holderPid: stale.pid, reason: stale.why });
    return true;
  } finally {
    await unclaim(lock.breakPath, token, breakingTokens).catch(() => undefined);
  }
}

/**
 * Deletes the lock file if it still carries `token`, then forgets the token. Never rejects: a
 * failed release is logged, and the lock is then taken over once this process has exited.
 */
export async function release(lock: LockPaths, token: string, log: Logger): Promise<void> {
  try {
    const outcome = await unclaim(lock.path, token, heldTokens);
    if (outcome === 'another holder') log.warn('cache lock was no longer ours when released; left it alone', { lock: lock.path });
    // Its directory was removed (the memo has said so, once), or another process judged us dead and is done.
    if (outcome === 'gone') log.debug('cache lock was gone when released', { lock: lock.path });
  } catch (error) {
    log.warn('could not release cache lock', { lock: lock.path, code: errnoCode(error) });
  }
}

/** Removes the break mutex of a breaker that died inside its critical section; true if it did. */
async function clearDeadBreaker(lock: LockPaths, nowMs: number, log: Logger): Promise<boolean> {
  const marker = await judge(lock.breakPath, nowMs, breakingTokens, UNWRITTEN_BREAK_GRACE_MS);
  if (marker.kind !== 'stale' || !(await removeIfSame(lock.breakPath, marker.snapshot))) return false;
  log.warn('removed the break mutex of a dead process', { lock: lock.path, breakerPid: marker.pid, reason: marker.why });
  return true;
}

/**
 * Creates `path` exclusively with our holder record and remembers the token in `held`; undefined
 * when the file exists. On a failed write the file is removed again: it is ours (created
 * exclusively), and without a record it would block others for the grace period.
 */
async function claim(path: string, held: Set<string>): Promise<string | undefined> {
  const token = randomHex(16);
  // Encoded before the create, so the file is empty (and looks unwritten to others) for one write only.
  const record = Buffer.from(encodeRecord(await ownRecord(token)), 'utf8');
  // Synchronous, like every read of the cache directory: an asynchronous create would start the
  // thread pool, the largest part of what a process that follows a leader pays.
  if (!createExclusiveSync(path, record, FILE_MODE)) return undefined;
  held.add(token);
  return token;
}

/** Deletes `path` if it still carries `token`, then forgets the token; says what it found. */
async function unclaim(path: string, token: string, held: Set<string>): Promise<'released' | 'gone' | 'another holder'> {
  try {
    const file = readBoundedFileSync(path, { maxBytes: MAX_RECORD_BYTES, followSymlinks: false });
    if (!file.ok && file.missing) return 'gone';
    if (!file.ok || parseRecord(file.bytes)?.token !== token) return 'another holder';
    try {
      await fsp().unlink(path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return 'gone';
      throw error;
    }
    return 'released';
  } finally {
    // Only after the unlink: until then the file is ours, and must look alive to this process too.
    held.delete(token);
  }
}

/** Reads a file that names its holder and judges the holder; `held` knows this process's own tokens. */
async function judge(path: string, nowMs: number, held: ReadonlySet<string>, graceMs: number): Promise<Inspection> {
  const snapshot = takeSnapshot(path);
  if (snapshot === undefined) return { kind: 'gone' };
  const record = parseRecord(snapshot.bytes);
  if (record === undefined) {
    const ageMs = nowMs - snapshot.mtimeMs;
    if (ageMs < graceMs) return { kind: 'held', pid: undefined };
    return { kind: 'stale', pid: undefined, why: `no holder record after ${Math.round(ageMs)} ms`, snapshot };
  }
  const state = await holderState(record, (token) => held.has(token));
  if (state.alive) return { kind: 'held', pid: record.pid };
  return { kind: 'stale', pid: record.pid, why: state.why, snapshot };
}

/**
 * Deletes `path` if it is still the file in `snapshot`; true if it did. Safe only while nobody else
 * may delete it in between: under the break mutex for the lock (see the protocol above).
 */
async function removeIfSame(path: string, snapshot: Snapshot): Promise<boolean> {
  const current = takeSnapshot(path);
  if (current === undefined || !sameFile(current, snapshot)) return false;
  try {
    await fsp().unlink(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** The file's identity and content, or undefined when it does not exist. */
function takeSnapshot(path: string): Snapshot | undefined {
  // Read synchronously, as every read of the cache directory is (see `claim`).
  const file = readBoundedFileSync(path, { maxBytes: MAX_RECORD_BYTES, followSymlinks: false });
  if (file.ok) return { ino: file.stat.ino, mtimeMs: file.stat.mtimeMs, bytes: file.bytes };
  if (file.missing) return undefined;
  const stat = lstatOrUndefined(path);
  if (stat === undefined) return undefined;
  // A directory, symlink or FIFO where the lock should be was not put there by a lock holder, and
  // nothing we may delete: the cache is unusable (the memo carries on without it).
  if (!stat.isFile()) throw new Error(`${path} is not a lock file (${fileKind(stat)})`);
  // An oversized or unreadable regular file: no record, judged by its age.
  return { ino: stat.ino, mtimeMs: stat.mtimeMs, bytes: new Uint8Array(0) };
}

/**
 * Same inode, mtime and content. The inode alone is not enough: once the stale file is deleted by
 * another breaker, a new lock file may get its inode number. It then differs in content (every
 * record carries a fresh token) or, while it has no record yet, in mtime (a stale file without a
 * record is older than the grace period).
 */
function sameFile(a: Snapshot, b: Snapshot): boolean {
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && Buffer.from(a.bytes).equals(b.bytes);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function fileKind(stat: { isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean }): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSymbolicLink()) return 'a symlink';
  if (stat.isFIFO()) return 'a FIFO';
  return 'not a regular file';
}
