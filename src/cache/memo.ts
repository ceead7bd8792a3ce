import { errnoCode } from '../errno.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../silentLogger.ts';
import { sha256Hex } from '../webCrypto.ts';
import type { Lead } from './fileLock.ts';
import { openCacheStore, type CacheStore } from './fileStore.ts';

export type { Lead };

/**
 * The one memo layer: values shared by every provider process of the node (the kubelet runs one per
 * image lookup, dozens at once at node start), with cross-process single-flight, so a burst costs
 * one federation and one docker token. It knows nothing about what it stores: each owner brings a
 * key (whose value it is, and what) and a codec, and decides when a value is still usable.
 *
 * The cache is an optimisation and never fails a pull: any trouble with the directory, an entry,
 * the lock or the disk (full, removed, read-only, something else at a lock's path) is one warning,
 * then the exec carries on with a memory-only memo. Only the owner's own `compute` can fail a call.
 */

/** Turns a value into JSON and back; `decode` returns undefined for anything it does not fully trust. */
export interface Codec<T> {
  encode(value: T): unknown;
  decode(json: unknown): T | undefined;
}

/** One memoized value: its key (the first part is its kind) and its codec. */
export interface MemoEntry<T> {
  /**
   * `[kind, ...parts]`: the parts say whose value it is (an identity) and what it is for (a
   * registry). They are hashed into the file name and also stored and compared on read, so an entry
   * of another identity is a miss, never served.
   */
  readonly key: readonly string[];
  readonly codec: Codec<T>;
}

export interface Memo {
  /**
   * The stored value, or undefined (missing, malformed, foreign, or the cache is unusable).
   * Synchronous, as every backend's read is: a warm exec reads its two entries before anything else
   * runs, and a chain of promises cost it 0.3-0.4 ms of its ~10 (measured).
   */
  read<T>(entry: MemoEntry<T>): T | undefined;
  /** Stores the value for the other processes; a failure is a warning, never an error. */
  write<T>(entry: MemoEntry<T>, value: T): Promise<void>;
  /**
   * The stored value when `usable` accepts it; else `compute` runs in exactly one process (and once
   * in this one) while the others wait, and its value is stored. Rejects only with what `compute` rejects with.
   */
  get<T>(entry: MemoEntry<T>, usable: (value: T) => boolean, compute: () => Promise<T>): Promise<T>;
  /**
   * Single flight for work the caller does itself, outside any callback, and that ends in writing
   * `entry` (or in nothing to share). One process gets the lead, and releases it when its work is
   * over; every other one waits until then (or until the backend's wait ends), and gets undefined:
   * read `entry` again, and do the work itself if it is still not there. When the cache is unusable
   * the caller leads, alone, with nothing held (see `fileLock.ts`, `leadOrFollow`).
   */
  lead(entry: MemoEntry<unknown>): Promise<Lead | undefined>;
}

/** What a memo keeps values in and serialises refreshes with: a directory, or this process's memory. */
export interface MemoBackend {
  /** For the warning that says where the trouble is. */
  readonly where: string;
  /** At once, or throws (a failure the memo turns into one warning). */
  read(name: string): unknown;
  write(name: string, value: unknown): Promise<void>;
  /**
   * Runs `fn` under the entry's lock. A waiter may instead be served by `whileWaiting` (asked each
   * time it wakes up) and then never takes the lock.
   */
  lock<T>(name: string, fn: () => Promise<T>, whileWaiting?: () => Promise<{ readonly value: T } | undefined>): Promise<T>;
  /** See `Memo.lead`. */
  lead(name: string): Promise<Lead | undefined>;
}

/** What is written to the backend: the key travels with the value. */
interface Envelope {
  readonly v: typeof FORMAT;
  readonly key: readonly string[];
  readonly value: unknown;
}

/** Entries of another format are misses (and then replaced). 2: keys bound to identities. */
const FORMAT = 2;
const KIND = /^[a-z]{1,20}$/;

export interface MemoInit {
  /**
   * Opened on first use, so an exec that never reaches the cache (a refused registry) touches no
   * file; synchronously, like every read. Throws when the backend cannot be used: the memo then
   * carries on in memory, after one warning.
   */
  readonly open: () => MemoBackend;
  readonly log?: Logger;
}

export function createMemo(init: MemoInit): Memo {
  const log = init.log ?? silentLogger;
  let backend: MemoBackend | undefined;
  let degraded = false;
  const fallback = memoryBackend();

  const current = (): MemoBackend => {
    if (degraded) return fallback;
    try {
      backend ??= init.open();
    } catch (error) {
      degrade(reasonOf(error), undefined);
      return fallback;
    }
    return backend;
  };
  /** Once per exec: the first trouble is said, later ones would only repeat it. */
  const degrade = (reason: string, where: string | undefined): void => {
    if (degraded) return;
    degraded = true;
    log.warn(`credential cache ${where === undefined ? '' : `${where} `}${reason}; carrying on without it`);
  };
  /** A cache operation failed: one warning, then the memo carries on in memory. Memory cannot fail: there it is a bug. */
  const failed = (at: MemoBackend, error: unknown): void => {
    if (at === fallback) throw error;
    degrade(`failed (${reasonOf(error)})`, at.where);
  };
  /** Runs a cache operation; on failure, warns and answers `otherwise`. */
  const guarded = async <R>(at: MemoBackend, op: () => Promise<R>, otherwise: R): Promise<R> => {
    try {
      return await op();
    } catch (error) {
      failed(at, error);
      return otherwise;
    }
  };

  const nameOf = (key: readonly string[]): string => {
    const kind = key[0];
    if (kind === undefined || !KIND.test(kind)) throw new Error(`memo key must start with a kind, got ${JSON.stringify(kind)}`);
    return `${kind}-${sha256Hex(key.join('\u0000')).slice(0, 40)}`;
  };
  const decode = <T>(entry: MemoEntry<T>, raw: unknown): T | undefined => {
    const envelope = raw as Partial<Envelope> | undefined;
    if (envelope?.v !== FORMAT || !sameKey(envelope.key, entry.key)) return undefined;
    return entry.codec.decode(envelope.value);
  };
  const readAt = <T>(at: MemoBackend, name: string, entry: MemoEntry<T>): T | undefined => {
    let raw: unknown;
    try {
      raw = at.read(name);
    } catch (error) {
      failed(at, error);
      return undefined;
    }
    return decode(entry, raw);
  };
  const writeAt = async <T>(at: MemoBackend, name: string, entry: MemoEntry<T>, value: T): Promise<void> => {
    const envelope: Envelope = { v: FORMAT, key: entry.key, value: entry.codec.encode(value) };
    await guarded(at, () => at.write(name, envelope), undefined);
    // Also kept in memory: after a failed write, this exec still sees its own value.
    if (at !== fallback) await fallback.write(name, envelope);
  };

  return {
    read(entry) {
      const name = nameOf(entry.key);
      return readAt(current(), name, entry);
    },
    async write(entry, value) {
      const name = nameOf(entry.key);
      await writeAt(current(), name, entry, value);
    },
    async get<T>(entry: MemoEntry<T>, usable: (value: T) => boolean, compute: () => Promise<T>): Promise<T> {
      const name = nameOf(entry.key);
      const at = current();
      const cached = readAt(at, name, entry);
      if (cached !== undefined && usable(cached)) return cached;
      // Under the lock: read again (another process may have just refreshed it), else compute and store.
      // What `compute` throws is carried out of the lock as a value, so it is never taken for a cache failure.
      type Outcome = { readonly value: T } | { readonly failed: unknown };
      const refresh = async (): Promise<Outcome> => {
        const again = readAt(at, name, entry);
        if (again !== undefined && usable(again)) return { value: again };
        let value: T;
        try {
          value = await compute();
        } catch (failed) {
          return { failed };
        }
        await writeAt(at, name, entry, value);
        return { value };
      };
      // A waiter woken by the holder's release reads what it stored, without queueing for the lock.
      const served = (): Promise<{ readonly value: Outcome } | undefined> => {
        const fresh = readAt(at, name, entry);
        return Promise.resolve(fresh !== undefined && usable(fresh) ? { value: { value: fresh } } : undefined);
      };
      const outcome = await guarded(at, () => at.lock(name, refresh, served), undefined);
      // The lock itself failed (or was not ours in time): do the work without it.
      const result = outcome ?? (await fallback.lock(name, refresh));
      if ('failed' in result) throw result.failed;
      return result.value;
    },
    async lead(entry) {
      const name = nameOf(entry.key);
      const at = current();
      return guarded(at, () => at.lead(name), UNHELD);
    },
  };
}

function sameKey(stored: unknown, key: readonly string[]): boolean {
  return Array.isArray(stored) && stored.length === key.length && stored.every((part, i) => part === key[i]);
}

function reasonOf(error: unknown): string {
  const code = errnoCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}

/** The lead of a process that shares nothing with others: nothing to release. */
const UNHELD: Lead = { release: () => Promise.resolve() };

/** This process's memory: the memo of an exec without a usable directory, and of `doctor`. */
export function memoryBackend(): MemoBackend {
  const values = new Map<string, string>();
  const queues = new Map<string, Promise<unknown>>();
  return {
    where: 'memory',
    read: (name) => {
      const text = values.get(name);
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    },
    write: (name, value) => {
      values.set(name, JSON.stringify(value));
      return Promise.resolve();
    },
    lock: <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const previous = queues.get(name) ?? Promise.resolve();
      const run = previous.then(fn, fn);
      queues.set(name, run.catch(() => undefined));
      return run;
    },
    lead: () => Promise.resolve(UNHELD),
  };
}

export interface DiskBackendInit {
  readonly dir: string;
  readonly log: Logger;
  readonly now: () => number;
  /**
   * Stop waiting for another process's refresh (or lead) at this time (ms since epoch) and do the
   * work without the lock: a holder stuck for most of the exec's budget must not take this exec down with it.
   */
  readonly lockWaitUntilMs: number;
  /** Only read (see `CacheStoreOptions.readOnly`): a missing or untagged directory is a miss, never created. */
  readonly readOnly?: boolean;
}

/** The node's shared directory; throws (and the memo then runs in memory) when the directory cannot be used. */
export function diskBackend(init: DiskBackendInit): MemoBackend {
  const opened = openCacheStore(init.dir, { log: init.log, now: init.now, readOnly: init.readOnly });
  if (!opened.ok) throw new Error(opened.reason);
  const store: CacheStore = opened.store;
  const lockOptions = { deadlineMs: init.lockWaitUntilMs, now: init.now, log: init.log };
  return {
    where: store.dir,
    read: (name) => store.read(name),
    write: (name, value) => store.write(name, value),
    // The lock's modules load on the first miss: an exec answered from the cache never locks.
    lock: async (name, fn, whileWaiting) => (await import('./fileLock.ts')).withFileLock(store.dir, name, fn, lockOptions, whileWaiting),
    lead: async (name) => {
      if (init.readOnly) throw new Error(`cache lock ${name}: the store was opened read-only`);
      return (await import('./fileLock.ts')).leadOrFollow(store.dir, name, lockOptions);
    },
  };
}
