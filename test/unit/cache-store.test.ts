import { afterAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CACHE_TAG_FILE, MAX_ENTRY_BYTES, openCacheStore, STALE_ENTRY_MS, type CacheStore } from '../../src/cache/fileStore.ts';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpo-store-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function openStore(dir = join(tempDir(), 'cache')): CacheStore {
  const opened = openCacheStore(dir);
  if (!opened.ok) throw new Error(opened.reason);
  return opened.store;
}

/** What `promise` rejects with; fails the test if it fulfils. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** Writes a file the way an attacker or a crash might leave it, bypassing the store. */
function plant(store: CacheStore, name: string, content: string | Buffer, mode = 0o600): string {
  const path = join(store.dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

describe('CacheStore', () => {
  test('round-trips JSON values and reports a missing entry as undefined', async () => {
    const store = openStore();
    const value = { token: 'abc', expiresAtMs: 1_700_000_000_000, hosts: ['fra.ocir.io'], nested: { ok: true } };
    await store.write('session', value);
    expect(await store.read('session')).toEqual(value);
    await store.write('session', [1, 2]);
    expect(await store.read('session')).toEqual([1, 2]);
    expect(await store.read('other')).toBeUndefined();
  });

  test('creates the directory 0700 and entries 0600, tags it as a cache, and leaves no temp file', async () => {
    const dir = join(tempDir(), 'cache');
    const store = openStore(dir);
    await store.write('entry', { x: 1 });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'entry')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual([CACHE_TAG_FILE, 'entry']);
    expect(readFileSync(join(dir, CACHE_TAG_FILE), 'utf8')).toStartWith('Signature: 8a477f597d28d172789f06886806bc55');
  });

  test('does not create missing parents (a typo in the path is not a place to fill with tokens)', () => {
    const base = tempDir();
    const opened = openCacheStore(join(base, 'a', 'b', 'cache'));
    expect(opened).toEqual({ ok: false, reason: `directory ${join(base, 'a', 'b', 'cache')} cannot be created: its parent directory does not exist` });
    expect(readdirSync(base)).toEqual([]);
  });

  test('tightens a 0755 directory it owns to 0700', () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    openStore(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test('reads corrupt, truncated or non-UTF-8 JSON as undefined', async () => {
    const store = openStore();
    plant(store, 'corrupt', 'not json');
    plant(store, 'truncated', '{"token":"abc","expiresAtMs":17');
    plant(store, 'empty', '');
    plant(store, 'binary', Buffer.from([0x22, 0xff, 0xfe, 0x22]));
    for (const name of ['corrupt', 'truncated', 'empty', 'binary']) expect(await store.read(name)).toBeUndefined();
  });

  test('does not follow a symlink in place of an entry', async () => {
    const store = openStore();
    const target = join(tempDir(), 'target.json');
    writeFileSync(target, '{"token":"planted"}', { mode: 0o600 });
    symlinkSync(target, join(store.dir, 'linked'));
    expect(await store.read('linked')).toBeUndefined();
  });

  test('refuses an entry readable by group or others', async () => {
    const store = openStore();
    plant(store, 'open', '{"token":"x"}', 0o644);
    plant(store, 'closed', '{"token":"x"}', 0o600);
    expect(await store.read('open')).toBeUndefined();
    expect(await store.read('closed')).toEqual({ token: 'x' });
  });

  test('refuses a directory or a FIFO in place of an entry', async () => {
    const store = openStore();
    mkdirSync(join(store.dir, 'dir'), { mode: 0o700 });
    expect(await store.read('dir')).toBeUndefined();
    const fifo = spawnSync('mkfifo', ['-m', '600', join(store.dir, 'fifo')]);
    if (fifo.status === 0) {
      // Without O_NONBLOCK this read would hang forever waiting for a writer.
      expect(await store.read('fifo')).toBeUndefined();
    } else {
      console.log('skipped the FIFO case: mkfifo is not available');
    }
  });

  test('refuses an entry over MAX_ENTRY_BYTES, and will not write one', async () => {
    const store = openStore();
    plant(store, 'big', JSON.stringify('x'.repeat(MAX_ENTRY_BYTES)));
    expect(await store.read('big')).toBeUndefined();
    expect(String(await rejectionOf(store.write('big', 'x'.repeat(MAX_ENTRY_BYTES))))).toMatch(/over/);
    const fits = 'y'.repeat(MAX_ENTRY_BYTES - 2);
    await store.write('fits', fits);
    expect(await store.read('fits')).toBe(fits);
  });

  test.skipIf(!isRoot)('refuses an entry owned by another uid (needs root to chown)', async () => {
    const store = openStore();
    const path = plant(store, 'foreign', '{"token":"x"}');
    chownSync(path, NOBODY, NOBODY);
    expect(await store.read('foreign')).toBeUndefined();
  });

  test('concurrent writers leave one complete value', async () => {
    const store = openStore();
    const values = Array.from({ length: 20 }, (_, n) => ({ n, pad: String(n).repeat(20_000) }));
    await Promise.all(values.map((value) => store.write('shared', value)));
    const read = (await store.read('shared')) as { n: number; pad: string };
    expect(read).toEqual(values[read.n]!);
    expect(readdirSync(store.dir).sort()).toEqual([CACHE_TAG_FILE, 'shared']);
  });

  test('ignores temp files and sweeps only old ones', async () => {
    const store = openStore();
    await store.write('token', { v: 1 });
    const old = plant(store, 'token.0123456789abcdef.tmp', '{"v":"half');
    const young = 'token.fedcba9876543210.tmp';
    plant(store, young, '{"v":2}');
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    utimesSync(old, twoMinutesAgo, twoMinutesAgo);
    expect(await store.read('token')).toEqual({ v: 1 });
    // A fresh store sweeps on its first write.
    const again = openStore(store.dir);
    await again.write('token', { v: 3 });
    expect(readdirSync(store.dir).sort()).toEqual([CACHE_TAG_FILE, 'token', young]);
  });

  test('remove deletes an entry and accepts a missing one', async () => {
    const store = openStore();
    await store.write('gone', 1);
    await store.remove('gone');
    expect(await store.read('gone')).toBeUndefined();
    await store.remove('gone');
  });

  test('rejects invalid names and non-JSON values as bugs', async () => {
    const store = openStore();
    for (const name of ['', 'Upper', '../escape', 'a/b', '.', '..', 'x.tmp', 'x.lock', 'x.break', 'a'.repeat(201)]) {
      expect(() => store.read(name)).toThrow(/invalid cache entry name/);
      expect(String(await rejectionOf(store.write(name, 1)))).toMatch(/invalid cache entry name/);
    }
    expect(String(await rejectionOf(store.write('fine', undefined)))).toMatch(/not JSON/);
  });
});

describe('openCacheStore: only a directory that is plainly its own', () => {
  const listing = (dir: string) => readdirSync(dir).sort();

  for (const [what, content] of [
    ['a kubelet-like directory', { 'config.yaml': 'x', 'cpu_manager_state': '{}' }],
    ['a directory holding one foreign file', { 'notes.txt': 'x' }],
    ['a directory with a CACHEDIR.TAG of another program', { [CACHE_TAG_FILE]: 'Signature: 8a477f597d28d172789f06886806bc55\n# another tool\n', 'data.bin': 'x' }],
  ] as const) {
    test(`refuses ${what}: not chmod-ed, nothing written`, () => {
      const dir = tempDir();
      for (const [name, text] of Object.entries(content)) writeFileSync(join(dir, name), text);
      chmodSync(dir, 0o755);
      const before = listing(dir);
      const opened = openCacheStore(dir);
      expect(opened.ok).toBe(false);
      if (!opened.ok) expect(opened.reason).toContain('is not a credential-provider-oke cache');
      expect(statSync(dir).mode & 0o777).toBe(0o755);
      expect(listing(dir)).toEqual(before);
    });
  }

  test('adopts an empty directory (made by an installer) and a cache of an earlier version (only its own files)', () => {
    const empty = tempDir();
    chmodSync(empty, 0o755);
    expect((openCacheStore(empty)).ok).toBe(true);
    expect(statSync(empty).mode & 0o777).toBe(0o700);
    expect(listing(empty)).toEqual([CACHE_TAG_FILE]);

    const earlier = tempDir();
    for (const name of ['session-instance-principal', `docker-${'a'.repeat(40)}`, `docker-${'a'.repeat(40)}.lock`, `verified-${'b'.repeat(40)}.0123456789abcdef.tmp`]) {
      writeFileSync(join(earlier, name), '{}', { mode: 0o600 });
    }
    expect((openCacheStore(earlier)).ok).toBe(true);
    expect(listing(earlier)).toContain(CACHE_TAG_FILE);
  });

  test('a tagged directory is its own whatever else it holds', () => {
    const dir = join(tempDir(), 'cache');
    openStore(dir);
    writeFileSync(join(dir, 'something-else.txt'), 'x');
    expect((openCacheStore(dir)).ok).toBe(true);
  });

  test('entries not rewritten for a day are swept on the first write; lock files are left to the lock', async () => {
    const store = openStore();
    const old = plant(store, `docker-${'c'.repeat(40)}`, '{}');
    const lock = plant(store, `docker-${'c'.repeat(40)}.lock`, '');
    const dayAgo = new Date(Date.now() - STALE_ENTRY_MS - 60_000);
    utimesSync(old, dayAgo, dayAgo);
    utimesSync(lock, dayAgo, dayAgo);
    const again = openStore(store.dir);
    await again.write('fresh', { v: 1 });
    expect(listing(store.dir)).toEqual([CACHE_TAG_FILE, `docker-${'c'.repeat(40)}.lock`, 'fresh']);
  });
});

describe('openCacheStore', () => {
  test('refuses a file in place of the directory, or under a file', () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    const here = openCacheStore(file);
    expect(here).toEqual({ ok: false, reason: `directory ${file} is not a directory` });
    const under = openCacheStore(join(file, 'cache'));
    expect(under.ok).toBe(false);
    if (!under.ok) expect(under.reason).toContain('ENOTDIR');
  });

  test('refuses a relative path: it would depend on the working directory, and creates nothing there', () => {
    const base = tempDir();
    const previous = process.cwd();
    process.chdir(base);
    try {
      expect(openCacheStore('cache')).toEqual({ ok: false, reason: 'directory cache is not an absolute path' });
      expect(readdirSync(base)).toEqual([]);
    } finally {
      process.chdir(previous);
    }
  });

  test('takes a path with trailing slashes as the directory itself', async () => {
    const dir = tempDir();
    const opened = openCacheStore(`${dir}//`);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.store.dir).toBe(dir);
    await opened.store.write('entry', { v: 1 });
    expect(readdirSync(dir).sort()).toEqual([CACHE_TAG_FILE, 'entry']);
    expect(await opened.store.read('entry')).toEqual({ v: 1 });
  });

  test('refuses a directory writable by group or others', () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const opened = openCacheStore(dir);
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.reason).toContain('writable by group or others (mode 0777)');
  });

  test.skipIf(!isRoot)('refuses a directory owned by another uid (needs root to chown)', () => {
    const dir = tempDir();
    chownSync(dir, NOBODY, NOBODY);
    const opened = openCacheStore(dir);
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.reason).toContain(`owned by uid ${NOBODY}`);
  });

  test('refuses a directory it cannot write', () => {
    // As root, chmod does not stop writes; the check then runs in a child process as uid nobody.
    const base = tempDir();
    chmodSync(base, 0o755);
    const readOnlyParent = join(base, 'ro');
    const readOnlyDir = join(base, 'ro-dir');
    mkdirSync(readOnlyParent);
    mkdirSync(readOnlyDir);
    if (isRoot) {
      chownSync(readOnlyParent, NOBODY, NOBODY);
      chownSync(readOnlyDir, NOBODY, NOBODY);
    }
    chmodSync(readOnlyParent, 0o555);
    chmodSync(readOnlyDir, 0o500);
    const results = isRoot
      ? openAsNobody([join(readOnlyParent, 'cache'), readOnlyDir])
      : [openCacheStore(join(readOnlyParent, 'cache')), openCacheStore(readOnlyDir)];
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    const [missing, existing] = results.map((r) => (r.ok ? '' : r.reason));
    expect(missing).toContain('cannot be created (EACCES)');
    expect(existing).toContain('is not writable (EACCES)');
  });
});

/**
 * Runs `openCacheStore` on each path in a child process running as uid/gid nobody. The checkout may
 * sit where nobody cannot read it (CI clones into a 0700 temp dir), so the module is bundled and the
 * runtime linked (or copied) into a world-readable temp dir first.
 */
function openAsNobody(paths: readonly string[]): { ok: boolean; reason?: string }[] {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const runtime = join(dir, 'bun');
  try {
    linkSync(process.execPath, runtime);
  } catch {
    copyFileSync(process.execPath, runtime);
  }
  chmodSync(runtime, 0o755);
  const module = join(dir, 'fileStore.mjs');
  const built = spawnSync(process.execPath, ['build', resolve(import.meta.dir, '../../src/cache/fileStore.ts'), '--target=bun', `--outfile=${module}`], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`bundling fileStore.ts failed: ${built.stderr}`);
  chmodSync(module, 0o644);
  const script = `
    const { openCacheStore } = await import(${JSON.stringify(module)});
    const results = [];
    for (const path of ${JSON.stringify(paths)}) {
      const r = await openCacheStore(path);
      results.push(r.ok ? { ok: true } : r);
    }
    process.stdout.write(JSON.stringify(results));`;
  const child = spawnSync(runtime, ['-e', script], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', cwd: '/' });
  if (child.status !== 0) throw new Error(`child as nobody failed (${String(child.error ?? child.status)}): ${child.stderr}`);
  return JSON.parse(child.stdout) as { ok: boolean; reason?: string }[];
}
