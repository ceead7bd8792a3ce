import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExclusiveSync } from '../../src/fs/createExclusive.ts';

const dir = mkdtempSync(join(tmpdir(), 'cpo-excl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = new TextEncoder().encode('{"pid":1}\n');

describe('createExclusiveSync', () => {
  test('creates the file whole, with the mode asked for', () => {
    const path = join(dir, 'new');
    expect(createExclusiveSync(path, bytes, 0o600)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('{"pid":1}\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('never opens what is already there: a file, or a symlink (whose target stays untouched)', () => {
    const file = join(dir, 'taken');
    writeFileSync(file, 'theirs');
    expect(createExclusiveSync(file, bytes, 0o600)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('theirs');
    const target = join(dir, 'target');
    const link = join(dir, 'link');
    symlinkSync(target, link);
    expect(createExclusiveSync(link, bytes, 0o600)).toBe(false);
    expect(existsSync(target)).toBe(false);
  });

  test('any other failure throws', () => {
    expect(() => createExclusiveSync(join(dir, 'missing', 'file'), bytes, 0o600)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
