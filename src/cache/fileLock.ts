import type { Logger } from '../log.ts';
import { silentLogger } from '../silentLogger.ts';
import { watchDirectory, type ChangeWaiter } from './changeWaiter.ts';
import { breakStale, inspect, lockPaths, release, tryCreate, type LockPaths } from './lockFile.ts';
import { assertCacheName } from './names.ts';

export interface LockOptions {
  /**
   * Give up waiting at this absolute time (ms since epoch); `withFileLock` then rejects with
   * `LockWaitTimeout` naming the lock file.
   */
  readonly deadlineMs: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  readonly log?: Logger;
}

/**
 * What a waiter can be served with instead of the lock: after each wake-up (the holder released the
 * lock, or a pause ended) and before it tries the file again. In a burst every process waits for the
 * one refreshing an entry; with this they read its result when woken and leave at once, instead of
 * each taking the lock in turn only to read the same entry under it (which also woke all the others
 * at every hand-off).
 */
export type WhileWaiting<T> = () => Promise<{ readonly value: T } | undefined>;

/** First pause between checks of a held lock; doubled up to `MAX_RETRY_MS`. */
const FIRST_RETRY_MS = 50;

/**
 * Longest pause between checks. Releases wake waiters at once through `fs.watch`; this bounds only
 * how long a SIGKILLed holder (which sends no event) goes unnoticed, and the wait when watching fails.
 */
const MAX_RETRY_MS = 250;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Per lock file, the tail of this process's queue for it. */
const queues = new Map<string, Promise<void>>();

/**
 * Runs `fn` while holding the lock `<dir>/<name>.lock`, and releases it afterwards, also when `fn`
 * throws.
 *
 * This is cross-process single-flight: at node start the kubelet runs dozens of provider processes
 * at once, and only one of them should call OCI for a token while the others wait, then read what
 * it cached. The lock is a file because the cache directory is all those processes share. Node has
 * no flock(2), whose locks the kernel drops when the holder dies, so instead the file names its
 * holder, and a waiter that finds the holder dead removes the file (protocol in `lockFile.ts`).
 *
 * Calls in one process on the same lock run one after the other; across processes the lock
 * file serializes them, and a holder that died (even by SIGKILL) is detected and replaced within
 * about `MAX_RETRY_MS`.
 *
 * Rejects with `LockWaitTimeout` when the lock is not ours by `options.deadlineMs`, with the fs error
 * when the lock file cannot be created or a stale one removed (missing or read-only `dir`), and
 * with whatever `fn` rejects with. `name` must be `[a-z0-9._-]+` (a plain `Error` otherwise: a bug).
 */
export async function withFileLock<T>(dir: string, name: string, fn: () => Promise<T>, options: LockOptions, whileWaiting?: WhileWaiting<T>): Promise<T> {
  assertCacheName(name, 'lock');
  if (Number.isNaN(options.deadlineMs)) throw new Error(`lock ${name}: deadlineMs is NaN`);
  const lock = lockPaths(dir, name);
  const now = options.now ?? Date.now;
  const log = options.log ?? silentLogger;

  // Calls in one process queue here before going to the file, so they never race each other for
  // it: a chain of promises per lock hands the turn straight to the next call when one finishes.
  // `previous` never rejects: it is built only from `turn`s, which only resolve.
  const previous = queues.get(lock.path) ?? Promise.resolve();
  let leave = (): void => {};
  const turn = new Promise<void>((resolve) => {
    leave = resolve;
  });
  const tail = previous.then(() => turn);
  queues.set(lock.path, tail);
  try {
    await waitForTurn(previous, lock, options.deadlineMs, now);
    const acquired = await acquire(lock, options.deadlineMs, now, log, whileWaiting);
    if (typeof acquired !== 'string') return acquired.value;
    const token = acquired;
    try {
      return await fn();
    } finally {
      await release(lock, token, log);
    }
  } finally {
    // Also on a deadline: the next in line still waits for `previous` through `tail`.
    leave();
    if (queues.get(lock.path) === tail) queues.delete(lock.path);
  }
}

async function waitForTurn(previous: Promise<void>, lock: LockPaths, deadlineMs: number, now: () => number): Promise<void> {
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timerDelay(deadlineMs - now()));
    });
    try {
      // An already-settled `previous` wins the race: its callback is a microtask, the timer is not.
      const late = await Promise.race([previous.then(() => false), timedOut]);
      if (!late) return;
      // A far deadline is waited for in steps of the longest timer; only a real one ends the wait.
      if (now() >= deadlineMs) throw deadlineError(lock, 'this process');
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Timers fire at once when asked for more than 2^31-1 ms; a longer wait is taken in steps. */
function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/**
 * Takes the lock file, breaking stale ones and sleeping while a live process holds it; returns our
 * token, or what `whileWaiting` served after a wake-up (then the lock was never ours).
 */
async function acquire<T>(lock: LockPaths, deadlineMs: number, now: () => number, log: Logger, whileWaiting: WhileWaiting<T> | undefined): Promise<string | { readonly value: T }> {
  // Watch for the whole acquisition, not per sleep, so a release between a failed attempt and the
  // sleep still wakes us (see `changeWaiter.ts`).
  const waiter = watchDirectory(lock.dir, (fileName) => fileName === lock.fileName || fileName === lock.breakFileName);
  try {
    let retryMs = FIRST_RETRY_MS;
    let holder = 'another process';
    for (let attempt = 1; ; attempt += 1) {
      // A lock that keeps changing hands, or keeps going stale, must not keep us past the deadline either.
      if (attempt > 1 && now() >= deadlineMs) throw deadlineError(lock, holder);
      const seen = waiter.generation;
      if (attempt > 1 && whileWaiting !== undefined) {
        const served = await whileWaiting();
        if (served !== undefined) {
          log.debug('served while waiting for cache lock', { lock: lock.path, attempts: attempt });
          return served;
        }
      }
      const token = await tryCreate(lock);
      if (token !== undefined) {
        if (attempt > 1) log.debug('acquired cache lock', { lock: lock.path, attempts: attempt });
        return token;
      }
      const found = await inspect(lock, now());
      if (found.kind === 'gone') continue;
      if (found.kind === 'stale' && (await breakStale(lock, found, now(), log))) continue;
      holder = found.kind === 'held' && found.pid !== undefined ? `pid ${found.pid}` : 'another process';
      const remainingMs = deadlineMs - now();
      if (remainingMs <= 0) throw deadlineError(lock, holder);
      if (attempt === 1) log.debug('waiting for cache lock', { lock: lock.path, holder });
      await waiter.wait(seen, Math.min(jitter(retryMs), remainingMs));
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  } finally {
    waiter.close();
  }
}

/** What `leadOrFollow` gives the one process that leads: the lock, held until its work is done. */
export interface Lead {
  /** Releases the lock and wakes the followers. Never rejects. */
  release(): Promise<void>;
}

/**
 * Single flight without a queue, for work that does not fit in a callback (the leader runs the
 * rest of an exec under it). The first caller leads; every other one waits until the leader is
 * done (it released the lock, or died), and is then told to look again for what the leader left,
 * doing the work itself, alongside the other followers, if it finds nothing. Never one after the
 * other, as `withFileLock` would have them: when the leader leaves nothing to share, a queue of
 * followers would each pay for the whole work in turn.
 *
 * Resolves with the lead, or with undefined once the leader is done (also when `deadlineMs` comes
 * first: then the caller goes on without it). A stale lock (dead leader) is broken and taken.
 * Rejects with the fs error when the lock file cannot be created (missing or read-only `dir`).
 */
export async function leadOrFollow(dir: string, name: string, options: LockOptions): Promise<Lead | undefined> {
  assertCacheName(name, 'lock');
  const lock = lockPaths(dir, name);
  const now = options.now ?? Date.now;
  const log = options.log ?? silentLogger;
  let waiter: ChangeWaiter | undefined;
  try {
    for (let attempt = 1; attempt <= MAX_LEAD_ATTEMPTS; attempt += 1) {
      const token = await tryCreate(lock);
      if (token !== undefined) return { release: () => release(lock, token, log) };
      // Watched from before the first look, so a release between that look and the sleep still wakes us.
      if (waiter === undefined) {
        waiter = watchDirectory(lock.dir, (fileName) => fileName === lock.fileName);
        log.debug('following the process that leads', { lock: lock.path });
      }
      for (;;) {
        const seen = waiter.generation;
        const found = await inspect(lock, now());
        if (found.kind === 'gone') return undefined;
        if (found.kind === 'stale') {
          // The leader died with its work undone: take its place (or wait while another breaker does).
          if (await breakStale(lock, found, now(), log)) break;
        }
        const remainingMs = options.deadlineMs - now();
        if (remainingMs <= 0) return undefined;
        // A release wakes us through the watcher at once; the pause bounds only how long a
        // SIGKILLed leader, which sends no event, goes unnoticed. Each look costs a few reads, so not sooner.
        await waiter.wait(seen, Math.min(jitter(MAX_RETRY_MS), remainingMs));
      }
    }
    return undefined;
  } finally {
    waiter?.close();
  }
}

/** Tries to lead after breaking a dead leader's lock; each break means a leader died, which must not loop. */
const MAX_LEAD_ATTEMPTS = 3;

/** Between half and all of `ms`, so waiters that started together do not check in lockstep. */
function jitter(ms: number): number {
  return ms * (0.5 + Math.random() * 0.5);
}

/** The lock was not ours by the deadline; the memo then refreshes without it. */
export class LockWaitTimeout extends Error {
  override readonly name = 'LockWaitTimeout';
  readonly path: string;
  constructor(path: string, holder: string) {
    super(`timed out waiting for the cache lock ${path} held by ${holder}`);
    this.path = path;
  }
}

function deadlineError(lock: LockPaths, holder: string): LockWaitTimeout {
  return new LockWaitTimeout(lock.path, holder);
}
