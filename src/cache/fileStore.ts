import { accessSync, chmodSync, constants, linkSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import type { Logger } from '../log.ts';
import { silentLogger } from '../silentLogger.ts';
import { errnoCode } from '../errno.ts';
import { CREATE_EXCLUSIVE_FLAGS, createExclusiveSync } from '../fs/createExclusive.ts';
import { fsp, type FileHandle } from '../fs/promises.ts';
import { assertCacheName } from './names.ts';
import { readBoundedFileSync } from '../fs/readBoundedFile.ts';
import { randomHex } from '../webCrypto.ts';

/**
 * The on-disk cache: one JSON file per entry in one directory that only this uid can use.
 *
 * Dozens of provider processes read and write the same entries at once, and any of them can be
 * SIGKILLed by the kubelet mid-write. So writes go to a private temp file that is renamed over the
 * entry: a reader sees the old value or the new one, never half of one. Reads trust nothing they
 * find (a planted symlink, a world-readable token, a truncated file): anything odd is a cache miss.
 */
export interface CacheStore {
  readonly dir: string;
  /**
   * The parsed JSON of entry `name`, or undefined when it is missing, unreadable, not a regular
   * file, not owned by this uid, group/other-accessible (mode & 0o077), over `MAX_ENTRY_BYTES`, or
   * not valid UTF-8 JSON. Synchronous (a few KiB on a local disk, where the thread pool's first
   * call alone costs more than the read); never throws, except for an invalid name (a bug).
   */
  read(name: string): unknown;
  /**
   * Atomically replaces entry `name`: writes `<name>.<random>.tmp` (created exclusively, mode
   * 0600), fsyncs it, renames it over the entry and fsyncs the directory. Rejects on I/O failure
   * (the caller logs and carries on), and with a plain `Error` for an invalid name or a value that
   * is not JSON or is over `MAX_ENTRY_BYTES` (bugs).
   */
  write(name: string, value: unknown): Promise<void>;
  /** Deletes entry `name`; a missing entry is not an error. Rejects on other I/O failures. */
  remove(name: string): Promise<void>;
}

export type OpenCacheResult = { readonly ok: true; readonly store: CacheStore } | { readonly ok: false; readonly reason: string };

export interface CacheStoreOptions {
  /** Receives a debug line for each entry that is refused, and why. */
  readonly log?: Logger;
  /** Milliseconds since the epoch, for the age of abandoned temp files. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Look, never touch: the directory must exist, be tagged and pass every other check; nothing is
   * created, tightened or tagged, and `write`/`remove` reject. For reads before the exec knows whether
   * it will use the cache at all (the warm answer).
   */
  readonly readOnly?: boolean;
}

/**
 * Largest entry read or written. A session token with its key pair, or a docker token, is a few
 * KiB; the cap keeps a corrupted or hostile file from costing more than a small read.
 */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** A temp file this old was left by a killed writer: no live write takes a minute. */
export const STALE_TMP_MS = 60_000;

/** An entry not rewritten for this long holds only expired tokens (none lives longer than a few hours). */
export const STALE_ENTRY_MS = 24 * 60 * 60_000;

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const TMP_PATTERN = /^[a-z0-9._-]+\.[0-9a-f]{16}\.tmp$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const DIR_SYNC_UNSUPPORTED: ReadonlySet<string> = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM']);

/**
 * The tag that says a directory is this provider's cache (the Cache Directory Tagging Specification,
 * so backup tools skip it too). Only a directory that carries it, or that we just created, or that
 * holds nothing but our own files, is ever tightened or written into.
 */
export const CACHE_TAG_FILE = 'CACHEDIR.TAG';
const CACHE_TAG =
  'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by credential-provider-oke (kubelet image credential provider).\n# Its entries hold OCI session and docker tokens; delete the directory to clear it.\n';
const TAG_SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55';
const isOurTag = (text: string): boolean => text.startsWith(TAG_SIGNATURE) && text.includes('created by credential-provider-oke');
/** Names this provider writes into its directory (entries, temp files, locks), of this and earlier versions. */
const OWN_FILE = /^(?:[a-z]+-[a-z0-9-]+)(?:\.[0-9a-f]{16}\.tmp|\.lock(?:\.break)?)?$/;

/**
 * Opens the cache directory `dir`, creating it (mode 0700; its parent must exist) when missing.
 * Refuses, with a reason for the operator, a path that is not a directory, is owned by another uid,
 * is group/other-writable (someone else could plant or delete entries), is not writable (a
 * read-only filesystem, or a normal user pointed at /var/lib/kubelet), or is not plainly ours: a
 * directory that holds other files and no cache tag (a typo, `/var/lib/kubelet`, `/`) is never
 * chmod-ed nor filled with token files. Ours and merely group/other-readable: tightened to 0700.
 *
 * Every exec opens the store, so this is done with synchronous calls: a few syscalls on a local
 * directory, where going through the thread pool would cost more than they do.
 */
export function openCacheStore(dir: string, options: CacheStoreOptions = {}): OpenCacheResult {
  const path = withoutTrailingSlashes(dir);
  const refuse = (reason: string): OpenCacheResult => ({ ok: false, reason: `directory ${path} ${reason}` });
  // The settings take nothing else; a relative path would depend on the kubelet's working directory.
  if (!path.startsWith('/')) return refuse('is not an absolute path');
  let created = false;
  try {
    if (!options.readOnly) {
      mkdirSync(path, { mode: DIR_MODE });
      created = true;
    }
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return refuse('cannot be created: its parent directory does not exist');
    if (code !== 'EEXIST') return refuse(`cannot be created (${code ?? String(error)})`);
  }
  let stat;
  try {
    // stat, not lstat: /var/lib/kubelet is often a symlink to a data disk. Following it is safe
    // because what it leads to must still be a directory owned by this uid and closed to others.
    stat = statSync(path);
  } catch (error) {
    return refuse(`cannot be inspected (${errnoCode(error) ?? String(error)})`);
  }
  if (!stat.isDirectory()) return refuse('is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return refuse(`is owned by uid ${stat.uid}, not by this process's uid ${uid}`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o022) !== 0) return refuse(`is writable by group or others (mode ${octal(mode)})`);
  // Tagged: ours (the common case, one small read). Else created now, or holding only our own files.
  const tagged = !created && isTagged(path);
  if (options.readOnly) return tagged ? { ok: true, store: createStore(path, options) } : refuse(`has no ${CACHE_TAG_FILE} of ours`);
  if (!created && !tagged) {
    const foreign = foreignContent(path);
    if (foreign !== undefined) return refuse(`is not a credential-provider-oke cache (it holds ${foreign}); point credentialCacheDir at a directory of its own`);
  }
  try {
    if ((mode & 0o077) !== 0) chmodSync(path, DIR_MODE);
    // access(2) reports EROFS for a read-only mount even to root, and EACCES to a normal user.
    accessSync(path, constants.W_OK | constants.X_OK);
  } catch (error) {
    return refuse(`is not writable (${errnoCode(error) ?? String(error)})`);
  }
  if (!tagged) tag(path);
  return { ok: true, store: createStore(path, options) };
}

function isTagged(path: string): boolean {
  const tagFile = readBoundedFileSync(inDir(path, CACHE_TAG_FILE), { maxBytes: 4096, followSymlinks: false });
  return tagFile.ok && isOurTag(tagFile.bytes.toString('utf8'));
}

/** Undefined when an untagged directory holds only our own files (a cache of an earlier version, or empty); else what it holds that is not. */
function foreignContent(path: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (error) {
    return `unlistable content (${errnoCode(error) ?? 'error'})`;
  }
  // Tagged since the first look (by a process that created it at the same moment; tags appear whole).
  if (names.includes(CACHE_TAG_FILE)) return isTagged(path) ? undefined : `a ${CACHE_TAG_FILE} that is not ours`;
  const other = names.find((name) => !OWN_FILE.test(name));
  return other === undefined ? undefined : `${JSON.stringify(other.length > 40 ? `${other.slice(0, 40)}…` : other)} and no ${CACHE_TAG_FILE}`;
}

/**
 * Writes the tag once, whole: written to a temp file and linked into place, so a process opening
 * the directory at the same moment never sees a half-written tag (and takes the directory for
 * someone else's). A directory we cannot tag is still usable: the tag only speeds up the next open.
 */
function tag(path: string): void {
  const file = inDir(path, CACHE_TAG_FILE);
  const tmp = inDir(path, `cachedir-tag.${randomHex(8)}.tmp`);
  try {
    if (createExclusiveSync(tmp, Buffer.from(CACHE_TAG, 'utf8'), FILE_MODE)) linkSync(tmp, file);
  } catch {
    // EEXIST: tagged already. Anything else (a full disk): the next open tries again.
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
  }
}

function createStore(dir: string, options: CacheStoreOptions): CacheStore {
  const log = options.log ?? silentLogger;
  const now = options.now ?? Date.now;
  const uid = process.getuid?.();
  let tmpSwept = false;

  const read = (name: string): unknown => {
    assertCacheName(name, 'cache entry');
    const file = readBoundedFileSync(inDir(dir, name), { maxBytes: MAX_ENTRY_BYTES, followSymlinks: false });
    const refuse = (reason: string): undefined => {
      log.debug('ignoring cache entry', { entry: name, reason });
      return undefined;
    };
    if (!file.ok) return file.missing ? undefined : refuse(file.code);
    if (uid !== undefined && file.stat.uid !== uid) return refuse(`owned by uid ${file.stat.uid}`);
    if ((file.stat.mode & 0o077) !== 0) return refuse(`mode ${octal(file.stat.mode & 0o777)} is group/other-accessible`);
    try {
      return JSON.parse(UTF8.decode(file.bytes)) as unknown;
    } catch {
      return refuse('not valid JSON');
    }
  };

  const write = async (name: string, value: unknown): Promise<void> => {
    assertCacheName(name, 'cache entry');
    if (options.readOnly) throw new Error(`cache entry ${name}: the store was opened read-only`);
    const text: string | undefined = JSON.stringify(value);
    if (text === undefined) throw new Error(`cache entry ${name}: value is not JSON`);
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > MAX_ENTRY_BYTES) throw new Error(`cache entry ${name}: ${bytes.length} bytes is over ${MAX_ENTRY_BYTES}`);
    // A random name per write: concurrent writers of one entry never share a temp file, and the
    // last rename wins with a complete value.
    const tmp = inDir(dir, `${name}.${randomHex(8)}.tmp`);
    let handle: FileHandle | undefined;
    try {
      handle = await fsp().open(tmp, CREATE_EXCLUSIVE_FLAGS, FILE_MODE);
      // The umask can only remove bits from 0600; set it exactly so the owner can always read it back.
      await handle.chmod(FILE_MODE);
      await handle.writeFile(bytes);
      // Data before rename: otherwise a crash can leave the new name pointing at an empty file.
      await handle.sync();
      await handle.close();
      handle = undefined;
      await fsp().rename(tmp, inDir(dir, name));
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await fsp().unlink(tmp).catch(() => undefined);
      throw error;
    }
    await syncDirectory(dir);
    if (!tmpSwept) {
      tmpSwept = true;
      await sweepStale(dir, now(), log);
    }
  };

  const remove = async (name: string): Promise<void> => {
    assertCacheName(name, 'cache entry');
    if (options.readOnly) throw new Error(`cache entry ${name}: the store was opened read-only`);
    try {
      await fsp().unlink(inDir(dir, name));
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  };

  return { dir, read, write, remove };
}

/**
 * Makes the rename durable. Some filesystems cannot fsync a directory (EINVAL), and some platforms
 * cannot open one (EISDIR, EPERM on Windows); the rename itself has happened, so those are not failures.
 */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp().open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    if (!DIR_SYNC_UNSUPPORTED.has(errnoCode(error) ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Removes temp files abandoned by writers killed between create and rename, and entries nobody has
 * rewritten for a day (every token in them has expired: entries of an earlier boot, of an identity
 * no longer used, or of an older format). Only old ones: a young temp file may belong to a write in
 * progress. Lock files are left to the lock protocol. Best effort, once per store.
 */
async function sweepStale(dir: string, nowMs: number, log: Logger): Promise<void> {
  try {
    for (const name of await fsp().readdir(dir)) {
      const tmp = TMP_PATTERN.test(name);
      if (!tmp && (!OWN_FILE.test(name) || name.includes('.'))) continue;
      const path = inDir(dir, name);
      const stat = await fsp().lstat(path).catch(() => undefined);
      if (stat === undefined || !stat.isFile() || nowMs - stat.mtimeMs < (tmp ? STALE_TMP_MS : STALE_ENTRY_MS)) continue;
      await fsp().unlink(path).catch(() => undefined);
      log.debug('removed a stale cache file', { file: name });
    }
  } catch {
    // Listing failed: the next process tries again.
  }
}

/**
 * A file of the cache directory: `dir` is absolute without a trailing slash and `name` one path
 * component (entry names pass `assertCacheName`). Joined by hand: `node:path` costs a warm exec
 * 0.19 M instructions to load, for this alone.
 */
function inDir(dir: string, name: string): string {
  return `${dir}/${name}`;
}

function withoutTrailingSlashes(dir: string): string {
  let end = dir.length;
  while (end > 1 && dir[end - 1] === '/') end--;
  return dir.slice(0, end);
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
