import { afterAll, describe, expect, test } from 'bun:test';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { leadOrFollow, LockWaitTimeout, withFileLock, type LockOptions } from '../../src/cache/fileLock.ts';
import { encodeRecord, ownRecord, type HolderRecord } from '../../src/cache/holderRecord.ts';
import type { Logger } from '../../src/log.ts';

const HOLDER = resolve(import.meta.dir, '../support/lockHolder.ts');
const TOKEN = 'ab'.repeat(16);
const hasProc = existsSync('/proc/1/stat');

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpo-lock-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function within(ms: number, log?: Logger): LockOptions {
  return { deadlineMs: Date.now() + ms, log };
}

/** A logger that keeps the lines, to see why a lock was taken over. */
function recordingLogger(): Logger & { lines: string[]; when(prefix: string): Promise<void> } {
  const lines: string[] = [];
  const waiting: { prefix: string; resolve: () => void }[] = [];
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const line = `${level} ${message} ${JSON.stringify(fields ?? {})}`;
    lines.push(line);
    for (const w of waiting.filter((w) => line.startsWith(w.prefix))) w.resolve();
  };
  return {
    lines,
    /** Resolves when a line starting with `prefix` is (or was) logged: an event, not a sleep. */
    when: (prefix) =>
      lines.some((l) => l.startsWith(prefix)) ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ prefix, resolve })),
    error: keep('error'),
    warn: keep('warn'),
    info: keep('info'),
    debug: keep('debug'),
  };
}

/** Writes a file (`mode` 0600) as a holder, a crash or an attacker might have left it, `ageMs` old. */
function plant(path: string, content: string, ageMs = 0): string {
  writeFileSync(path, content, { mode: 0o600 });
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    utimesSync(path, then, then);
  }
  return path;
}

function plantLock(dir: string, name: string, content: string, ageMs = 0): string {
  return plant(join(dir, `${name}.lock`), content, ageMs);
}

/** Init (pid 1) never exits, so a record naming it with its real start time and boot is a live holder. */
function liveRecord(): HolderRecord {
  const stat = readFileSync('/proc/1/stat', 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)[19]!;
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return { pid: 1, start, boot, token: TOKEN };
}

function startHolder(args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [HOLDER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise) => child.on('close', (code) => resolvePromise({ code, stderr })));
}

function printed(child: ChildProcessWithoutNullStreams, line: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(line)) resolvePromise();
    });
    child.on('close', () => reject(new Error(`holder exited before printing ${line}`)));
  });
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

async function deadlineErrorOf(promise: Promise<unknown>): Promise<LockWaitTimeout> {
  const error = await rejectionOf(promise);
  if (!(error instanceof LockWaitTimeout)) throw new Error(`expected a LockWaitTimeout, got ${String(error)}`);
  return error;
}

describe('withFileLock across processes', () => {
  test('serializes several child processes', async () => {
    const dir = tempDir();
    const file = join(dir, 'journal');
    writeFileSync(file, '');
    const children = Array.from({ length: 6 }, () => startHolder(['append', dir, 'shared', file, '8']));
    const results = await Promise.all(children.map(exited));
    // Every child also exited on its own: no watcher or timer outlived its lock.
    for (const r of results) expect(r).toEqual({ code: 0, stderr: '' });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6 * 8 * 2);
    for (let i = 0; i < lines.length; i += 2) {
      const pid = lines[i]!.split(' ')[0];
      expect([lines[i], lines[i + 1]]).toEqual([`${pid} in`, `${pid} out`]);
    }
    expect(existsSync(join(dir, 'shared.lock'))).toBe(false);
  }, 30_000);

  test('takes over from a holder killed with SIGKILL', async () => {
    const dir = tempDir();
    const holder = startHolder(['hold', dir, 'token']);
    const gone = exited(holder);
    await printed(holder, 'locked');
    const log = recordingLogger();
    let settled = false;
    const waiting = withFileLock(dir, 'token', () => Promise.resolve('acquired'), within(10_000, log)).finally(() => (settled = true));
    await log.when('debug waiting for cache lock');
    expect(settled).toBe(false);
    holder.kill('SIGKILL');
    expect(await waiting).toBe('acquired');
    await gone;
    expect(log.lines.some((l) => l.startsWith('info took over a stale cache lock') && l.includes(`"holderPid":${holder.pid}`))).toBe(true);
    expect(existsSync(join(dir, 'token.lock'))).toBe(false);
  }, 20_000);

  test('takes over a lock whose holder pid is gone', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('close', r));
    plantLock(dir, 'token', encodeRecord({ pid: child.pid!, token: TOKEN }));
    const log = recordingLogger();
    expect(await withFileLock(dir, 'token', () => Promise.resolve(1), within(5_000, log))).toBe(1);
    expect(log.lines.join('\n')).toContain(`process ${child.pid} is gone`);
  });

  test.skipIf(!hasProc)('takes over a lock whose pid now belongs to another process, or to another boot', async () => {
    const dir = tempDir();
    const live = liveRecord();
    const log = recordingLogger();
    plantLock(dir, 'reused', encodeRecord({ ...live, start: `${live.start}1` }));
    await withFileLock(dir, 'reused', () => Promise.resolve(), within(5_000, log));
    plantLock(dir, 'rebooted', encodeRecord({ ...live, boot: 'not-this-boot' }));
    await withFileLock(dir, 'rebooted', () => Promise.resolve(), within(5_000, log));
    const text = log.lines.join('\n');
    expect(text).toContain('pid 1 now belongs to another process');
    expect(text).toContain('written before the last reboot');
  });

  test('takes over a lock left behind by this very process', async () => {
    const dir = tempDir();
    plantLock(dir, 'mine', encodeRecord(await ownRecord(TOKEN)));
    const log = recordingLogger();
    await withFileLock(dir, 'mine', () => Promise.resolve(), within(5_000, log));
    expect(log.lines.join('\n')).toContain('left behind by this process');
  });

  test('takes over an empty lock file older than the grace period, and waits for a fresh one', async () => {
    const dir = tempDir();
    plantLock(dir, 'old', '', 60_000);
    expect(await withFileLock(dir, 'old', () => Promise.resolve('taken'), within(5_000))).toBe('taken');

    const fresh = plantLock(dir, 'fresh', '');
    const error = await deadlineErrorOf(withFileLock(dir, 'fresh', () => Promise.resolve(), within(300)));
    expect(error.name).toBe('LockWaitTimeout');
    expect(readFileSync(fresh, 'utf8')).toBe('');
  });

  test.skipIf(!hasProc)('gives up at the deadline with LockWaitTimeout naming the lock, leaving a live lock alone', async () => {
    const dir = tempDir();
    const content = encodeRecord(liveRecord());
    const path = plantLock(dir, 'busy', content);
    let ran = false;
    const error = await deadlineErrorOf(
      withFileLock(
        dir,
        'busy',
        () => {
          ran = true;
          return Promise.resolve();
        },
        within(400),
      ),
    );
    expect(ran).toBe(false);
    expect(error.name).toBe('LockWaitTimeout');
    expect(error.message).toBe(`timed out waiting for the cache lock ${path} held by pid 1`);
    expect(error.path).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(content);
  });

  test.skipIf(!hasProc)('wakes a waiter when the holder releases', async () => {
    const dir = tempDir();
    const path = plantLock(dir, 'wake', encodeRecord(liveRecord()));
    const log = recordingLogger();
    const waiting = withFileLock(dir, 'wake', () => Promise.resolve('acquired'), within(10_000, log));
    await log.when('debug waiting for cache lock');
    // The release of a holder in another process: only the file disappears.
    unlinkSync(path);
    expect(await waiting).toBe('acquired');
  });

  test('clears the break mutex of a breaker that died, and waits for a live one', async () => {
    const dir = tempDir();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('close', r));
    const log = recordingLogger();
    for (const [name, marker, ageMs] of [
      ['unwritten', '', 60_000],
      ['dead', encodeRecord({ pid: dead.pid!, token: TOKEN }), 0],
    ] as const) {
      plantLock(dir, name, '', 60_000);
      const markerPath = plant(join(dir, `${name}.lock.break`), marker, ageMs);
      await withFileLock(dir, name, () => Promise.resolve(), within(5_000, log));
      expect(existsSync(markerPath)).toBe(false);
    }
    expect(log.lines.filter((l) => l.includes('removed the break mutex of a dead process'))).toHaveLength(2);
    expect(log.lines.join('\n')).toContain(`process ${dead.pid} is gone`);
  });

  test.skipIf(!hasProc)('waits while a live process holds the break mutex', async () => {
    const dir = tempDir();
    const lock = plantLock(dir, 'contested', '', 60_000);
    plant(join(dir, 'contested.lock.break'), encodeRecord(liveRecord()));
    const error = await deadlineErrorOf(withFileLock(dir, 'contested', () => Promise.resolve(), within(300)));
    expect(error.name).toBe('LockWaitTimeout');
    expect(existsSync(lock)).toBe(true);
  });
});

describe('withFileLock in one process', () => {
  test('releases the lock when fn throws', async () => {
    const dir = tempDir();
    const failure = new Error('refresh failed');
    expect(await rejectionOf(withFileLock(dir, 'token', () => Promise.reject(failure), within(5_000)))).toBe(failure);
    expect(existsSync(join(dir, 'token.lock'))).toBe(false);
    expect(await withFileLock(dir, 'token', () => Promise.resolve('again'), within(1_000))).toBe('again');
  });

  test('serializes calls on the same lock and lets other locks run alongside', async () => {
    const dir = tempDir();
    const events: string[] = [];
    const step = (label: string, ms: number) => async () => {
      events.push(`${label} in`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`${label} out`);
    };
    await Promise.all([
      withFileLock(dir, 'same', step('a', 30), within(5_000)),
      withFileLock(dir, 'same', step('b', 1), within(5_000)),
      withFileLock(dir, 'same', step('c', 1), within(5_000)),
      withFileLock(dir, 'other', step('x', 1), within(5_000)),
    ]);
    const same = events.filter((e) => !e.startsWith('x'));
    expect(same).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
    // 'x' ran while 'a' held 'same'.
    expect(events.indexOf('x out')).toBeLessThan(events.indexOf('a out'));
  });

  test('a queued call gives up at its deadline without blocking the next one', async () => {
    const dir = tempDir();
    let finishFirst = (): void => {};
    const first = withFileLock(dir, 'q', () => new Promise<void>((r) => (finishFirst = r)), within(5_000));
    const second = withFileLock(dir, 'q', () => Promise.resolve('second'), within(100));
    const third = withFileLock(dir, 'q', () => Promise.resolve('third'), within(5_000));
    const error = await deadlineErrorOf(second);
    expect(error.message).toContain('held by this process');
    finishFirst();
    await first;
    expect(await third).toBe('third');
  });

  test('a deadline beyond the longest timer does not time out at once', async () => {
    const dir = tempDir();
    const first = withFileLock(dir, 'far', () => new Promise<void>((r) => setTimeout(r, 50)), { deadlineMs: Infinity });
    const second = withFileLock(dir, 'far', () => Promise.resolve('second'), { deadlineMs: Date.now() + 2 ** 40 });
    await first;
    expect(await second).toBe('second');
  });

  test('a lock whose file is gone when released (its directory removed) is no warning: the memo says it once', async () => {
    const dir = tempDir();
    const log = recordingLogger();
    await withFileLock(dir, 'gone', () => Promise.resolve(unlinkSync(join(dir, 'gone.lock'))), within(5_000, log));
    expect(log.lines.filter((line) => line.startsWith('warn'))).toEqual([]);
    expect(log.lines.join('\n')).toContain('debug cache lock was gone when released');
  });

  test('release leaves alone a lock that is no longer ours', async () => {
    const dir = tempDir();
    const log = recordingLogger();
    const foreign = encodeRecord({ pid: 1, token: 'cd'.repeat(16) });
    await withFileLock(
      dir,
      'token',
      () => {
        writeFileSync(join(dir, 'token.lock'), foreign);
        return Promise.resolve();
      },
      within(5_000, log),
    );
    expect(readFileSync(join(dir, 'token.lock'), 'utf8')).toBe(foreign);
    expect(log.lines.join('\n')).toContain('no longer ours');
  });

  test('rejects invalid names and a missing directory', async () => {
    const dir = tempDir();
    expect(String(await rejectionOf(withFileLock(dir, '../x', () => Promise.resolve(), within(100))))).toMatch(/invalid lock name/);
    expect(await rejectionOf(withFileLock(join(dir, 'missing'), 'x', () => Promise.resolve(), within(100)))).toMatchObject({ code: 'ENOENT' });
  });
});

describe('leadOrFollow', () => {
  test('a leader killed with SIGKILL: one follower breaks its lock and leads; none queues behind it', async () => {
    const dir = tempDir();
    const holder = startHolder(['hold', dir, 'answer']);
    const gone = exited(holder);
    await printed(holder, 'locked');
    const logs = [recordingLogger(), recordingLogger(), recordingLogger()];
    const following = logs.map((log) => leadOrFollow(dir, 'answer', within(20_000, log)));
    await Promise.all(logs.map((log) => log.when('debug following the process that leads')));
    holder.kill('SIGKILL');
    await gone;
    const lead = await Promise.any(following.map((p) => p.then((got) => got ?? Promise.reject(new Error('looks again')))));
    expect(existsSync(join(dir, 'answer.lock'))).toBe(true);
    await lead.release();
    // The others followed the new leader, or saw the dead one's lock go and were told to look again.
    const outcomes = await Promise.all(following);
    expect(outcomes.filter((o) => o !== undefined)).toEqual([lead]);
    expect(existsSync(join(dir, 'answer.lock'))).toBe(false);
    expect(logs.some((log) => log.lines.some((l) => l.startsWith('info took over a stale cache lock') && l.includes(`"holderPid":${holder.pid}`)))).toBe(true);
  }, 20_000);

  test.skipIf(!hasProc)('stops following at its deadline, and leaves the live leader its lock', async () => {
    const dir = tempDir();
    const lock = plantLock(dir, 'answer', encodeRecord(liveRecord()));
    expect(await leadOrFollow(dir, 'answer', within(50))).toBeUndefined();
    expect(existsSync(lock)).toBe(true);
  });

  test('leads at once when nobody does, and rejects a missing directory', async () => {
    const dir = tempDir();
    const lead = await leadOrFollow(dir, 'answer', within(1_000));
    expect(lead).toBeDefined();
    expect(existsSync(join(dir, 'answer.lock'))).toBe(true);
    await lead?.release();
    expect(existsSync(join(dir, 'answer.lock'))).toBe(false);
    expect(await rejectionOf(leadOrFollow(join(dir, 'missing'), 'answer', within(100)))).toMatchObject({ code: 'ENOENT' });
  });
});
