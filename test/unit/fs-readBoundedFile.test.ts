import { afterAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRefusedError, readBoundedFile, readBoundedFileSync, readBoundedText } from '../../src/fs/readBoundedFile.ts';

const dir = mkdtempSync(join(tmpdir(), 'cpo-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'settings.yaml');
writeFileSync(file, 'logLevel: info\n');
const link = join(dir, 'link.yaml');
symlinkSync(file, link);

describe('readBoundedFile', () => {
  test('reads a regular file whole when it fits', async () => {
    const read = await readBoundedFile(file, { maxBytes: 15, followSymlinks: false });
    expect(read.ok && read.bytes.toString()).toBe('logLevel: info\n');
  });

  test('one byte over the cap is refused', async () => {
    expect(await readBoundedFile(file, { maxBytes: 14, followSymlinks: true })).toEqual({ ok: false, missing: false, code: 'larger than 14 bytes' });
  });

  test('a symlink: followed when asked, refused otherwise', async () => {
    const followed = await readBoundedFile(link, { maxBytes: 100, followSymlinks: true });
    expect(followed.ok && followed.bytes.toString()).toBe('logLevel: info\n');
    expect(await readBoundedFile(link, { maxBytes: 100, followSymlinks: false })).toEqual({ ok: false, missing: false, code: 'a symlink' });
  });

  test('missing, a directory, a FIFO and a character device each say what they are', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const opts = { maxBytes: 100, followSymlinks: true };
    expect(await readBoundedFile(join(dir, 'absent'), opts)).toEqual({ ok: false, missing: true, code: 'ENOENT' });
    expect(await readBoundedFile(dir, opts)).toEqual({ ok: false, missing: false, code: 'EISDIR' });
    expect(await readBoundedFile(fifo, opts)).toEqual({ ok: false, missing: false, code: 'not a regular file: a FIFO' });
    expect(await readBoundedFile('/dev/zero', opts)).toEqual({ ok: false, missing: false, code: 'not a regular file: a character device' });
  });
});

describe('readBoundedText', () => {
  test('rejects with an error whose code callers already print', async () => {
    const error = await readBoundedText('/dev/zero', 100).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FileRefusedError);
    expect((error as FileRefusedError).code).toBe('not a regular file: a character device');
  });
});

describe('a file larger than its fstat said (a /proc file reports size 0)', () => {
  test('both reads grow the buffer to take all of it, and refuse it past the cap', async () => {
    for (const read of [readBoundedFileSync('/proc/self/status', { maxBytes: 64 * 1024, followSymlinks: true }), await readBoundedFile('/proc/self/status', { maxBytes: 64 * 1024, followSymlinks: true })]) {
      if (!read.ok) throw new Error(read.code);
      expect(read.stat.size).toBe(0);
      expect(read.bytes.toString('utf8')).toMatch(/^Name:[\s\S]*\nPid:[\s\S]*\n$/);
    }
    for (const read of [readBoundedFileSync('/proc/self/status', { maxBytes: 16, followSymlinks: true }), await readBoundedFile('/proc/self/status', { maxBytes: 16, followSymlinks: true })]) {
      expect(read).toEqual({ ok: false, missing: false, code: 'larger than 16 bytes' });
    }
  });
});
