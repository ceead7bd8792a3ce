import { describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'bun:test';
import { createMemo, diskBackend, memoryBackend, type Codec, type MemoBackend, type MemoEntry } from '../../src/cache/memo.ts';
import { silentLogger } from '../../src/silentLogger.ts';
import type { Logger } from '../../src/log.ts';

/**
 * The memo is an optimisation: whatever goes wrong with the cache (the directory, the lock, the
 * disk), the value is still computed and returned, with one warning; only the owner's own failure
 * fails the call.
 */
const text: Codec<string> = {
  encode: (value) => value,
  decode: (json) => (typeof json === 'string' ? json : undefined),
};
const entry = (...parts: string[]): MemoEntry<string> => ({ key: ['docker', ...parts], codec: text });
const always = (): boolean => true;

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, error() {}, warn: (m) => warnings.push(m), info() {}, debug() {} };
}

const fault = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

/** A backend that stores in memory but fails the named operations. */
function failing(fails: Partial<Record<'read' | 'write' | 'lock' | 'lead', string>>): MemoBackend & { writes: number } {
  const inner = memoryBackend();
  const backend = {
    where: '/var/lib/kubelet/credential-provider-oke',
    writes: 0,
    read: (name: string): unknown => {
      if (fails.read !== undefined) throw fault(fails.read);
      return inner.read(name);
    },
    write: (name: string, value: unknown) => {
      backend.writes += 1;
      return fails.write !== undefined ? Promise.reject(fault(fails.write)) : inner.write(name, value);
    },
    lock: <T>(name: string, fn: () => Promise<T>) => (fails.lock !== undefined ? Promise.reject(fault(fails.lock)) : inner.lock(name, fn)),
    lead: (name: string) => (fails.lead !== undefined ? Promise.reject(fault(fails.lead)) : inner.lead(name)),
  };
  return backend;
}

describe('createMemo: every cache fault is one warning and a value, never a failure', () => {
  for (const [what, fails] of [
    ['a full disk when the lock holder record is written', { lock: 'ENOSPC' }],
    ['the directory removed while waiting for the lock', { lock: 'ENOENT' }],
    ['something else at the lock path', { lock: 'EISDIR' }],
    ['a full disk when the entry is written', { write: 'ENOSPC' }],
    ['an unreadable entry', { read: 'EIO' }],
  ] as const) {
    test(what, async () => {
      const log = recordingLog();
      const memo = createMemo({ open: () => failing(fails), log });
      let computed = 0;
      const value = await memo.get(entry('fra.ocir.io', 'a'), always, () => Promise.resolve(`token-${++computed}`));
      expect(value).toBe('token-1');
      expect(log.warnings).toHaveLength(1);
      expect(log.warnings[0]).toContain('carrying on without it');
      expect(log.warnings[0]).toContain(Object.values(fails)[0]);
      // The exec goes on with its memory: the value is not computed twice, nor warned about again.
      expect(await memo.get(entry('fra.ocir.io', 'a'), always, () => Promise.resolve(`token-${++computed}`))).toBe('token-1');
      await memo.write(entry('fra.ocir.io', 'b'), 'other');
      expect(memo.read(entry('fra.ocir.io', 'b'))).toBe('other');
      expect(log.warnings).toHaveLength(1);
    });
  }

  test('a directory that cannot be opened: one warning with its reason, then memory', async () => {
    const log = recordingLog();
    const memo = createMemo({
      open: () => {
        throw new Error('directory /nope cannot be created: its parent directory does not exist');
      },
      log,
    });
    expect(await memo.get(entry('r', 'p'), always, () => Promise.resolve('v'))).toBe('v');
    expect(log.warnings).toEqual(['credential cache directory /nope cannot be created: its parent directory does not exist; carrying on without it']);
  });

  test("the owner's failure is the only one that reaches the caller, and is not a cache warning", async () => {
    const log = recordingLog();
    const memo = createMemo({ open: memoryBackend, log });
    const refused = new Error('OCIR said no');
    expect(await memo.get(entry('r', 'p'), always, () => Promise.reject(refused)).catch((e: unknown) => e)).toBe(refused);
    expect(log.warnings).toEqual([]);
  });

  test('a failed lock does not run the computation twice when it fails', async () => {
    const memo = createMemo({ open: () => failing({ lock: 'ENOSPC' }), log: recordingLog() });
    let calls = 0;
    const refused = new Error('auth service down');
    const result = await memo
      .get(entry('r', 'p'), always, () => {
        calls += 1;
        return Promise.reject(refused);
      })
      .catch((e: unknown) => e);
    expect(result).toBe(refused);
    expect(calls).toBe(1);
  });
});

describe('createMemo: values are bound to their whole key', () => {
  test('an entry stored under one key is a miss under another, even at the same file name', async () => {
    // A backend that answers every name with the same stored envelope: as if another identity's
    // file had been copied over ours.
    const stored = new Map<string, unknown>();
    let last: unknown;
    const copying: MemoBackend = {
      where: 'copied',
      read: () => last,
      write: (name, value) => {
        stored.set(name, value);
        last = value;
        return Promise.resolve();
      },
      lock: (_name, fn) => fn(),
      lead: () => Promise.resolve(undefined),
    };
    const memo = createMemo({ open: () => copying });
    await memo.write(entry('fra.ocir.io', 'user:alice'), 'alice-token');
    expect(memo.read(entry('fra.ocir.io', 'user:alice'))).toBe('alice-token');
    expect(memo.read(entry('fra.ocir.io', 'user:bob'))).toBeUndefined();
    expect(await memo.get(entry('fra.ocir.io', 'user:bob'), always, () => Promise.resolve('bob-token'))).toBe('bob-token');
  });

  test('an unusable value is recomputed under the lock, and a value another caller just stored is used', async () => {
    const memo = createMemo({ open: memoryBackend });
    let calls = 0;
    const compute = () => Promise.resolve(`v${++calls}`);
    const [a, b] = await Promise.all([memo.get(entry('x'), always, compute), memo.get(entry('x'), always, compute)]);
    expect([a, b]).toEqual(['v1', 'v1']);
    expect(await memo.get(entry('x'), (v) => v !== 'v1', compute)).toBe('v2');
    expect(calls).toBe(2);
  });

  test('a key must start with a kind (a bug in the caller otherwise)', () => {
    const memo = createMemo({ open: memoryBackend });
    expect(() => memo.read({ key: ['Not A Kind'], codec: text })).toThrow('memo key must start with a kind');
  });
});

describe('createMemo: lead, single flight for work the caller does itself', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const disk = (options: { readOnly?: boolean } = {}) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cpo-memo-lead-')), 'cache');
    dirs.push(dir);
    let following = (): void => {};
    /** Resolves once a follower of this directory is waiting: an event, not a sleep. */
    const followerWaits = new Promise<void>((resolve) => (following = resolve));
    const log = { ...silentLogger, debug: (message: string) => message.startsWith('following') && following() };
    return { dir, followerWaits, open: () => diskBackend({ dir, log, now: Date.now, lockWaitUntilMs: Date.now() + 20_000, ...options }) };
  };

  test('on disk: one caller leads; another follows until the lead is released, then is told to look again, without the lock', async () => {
    const { dir, open, followerWaits } = disk();
    const leader = createMemo({ open });
    const follower = createMemo({ open });
    const lead = await leader.lead(entry('fra.ocir.io', 'p'));
    expect(lead).toBeDefined();
    const outcome = { state: 'pending' as 'pending' | 'led' | 'looks again' };
    const following = follower.lead(entry('fra.ocir.io', 'p')).then((got) => (outcome.state = got === undefined ? 'looks again' : 'led'));
    await followerWaits;
    // The leader's work: the value the follower will find when it looks again.
    await leader.write(entry('fra.ocir.io', 'p'), 'token');
    expect(outcome.state).toBe('pending');
    await lead?.release();
    await following;
    expect(outcome.state).toBe('looks again');
    expect(follower.read(entry('fra.ocir.io', 'p'))).toBe('token');
    expect(readdirSync(dir).filter((name) => name.endsWith('.lock'))).toEqual([]);
    // Another entry has a lead of its own.
    const other = await follower.lead(entry('fra.ocir.io', 'q'));
    expect(other).toBeDefined();
    await other?.release();
  });

  test('in memory, with nothing shared, every caller leads and holds nothing', async () => {
    const memo = createMemo({ open: memoryBackend });
    const [a, b] = await Promise.all([memo.lead(entry('x')), memo.lead(entry('x'))]);
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    await a?.release();
    await b?.release();
  });

  for (const code of ['ENOSPC', 'EACCES', 'EROFS']) {
    test(`a lock that cannot be taken (${code}): one warning, and the caller leads alone`, async () => {
      const log = recordingLog();
      const memo = createMemo({ open: () => failing({ lead: code }), log });
      const lead = await memo.lead(entry('x'));
      expect(lead).toBeDefined();
      await lead?.release();
      expect(log.warnings).toHaveLength(1);
      expect(log.warnings[0]).toContain(code);
    });
  }

  test('a store opened read-only takes no lock: the caller leads alone, and nothing is created', async () => {
    const { dir, open } = disk({ readOnly: true });
    const lead = await createMemo({ open }).lead(entry('x'));
    expect(lead).toBeDefined();
    await lead?.release();
    expect(existsSync(dir)).toBe(false);
  });
});
