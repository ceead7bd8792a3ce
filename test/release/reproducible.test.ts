import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELEASE_DIR, ROOT, listTree, run } from './support.ts';

/**
 * Reproducibility: a fresh clone of HEAD in another folder, built later with another time zone,
 * locale and umask, must give a release identical byte for byte to the one `npm test` built from
 * this checkout (CI's checkout is itself a fresh clone). When this checkout has uncommitted changes
 * its build is labelled -dirty and cannot match, so a second clone is built and compared instead.
 */

if (RELEASE_DIR === undefined) console.warn('reproducibility test skipped: RELEASE_DIR is not set (npm test builds the release and sets it)');
const scratch = mkdtempSync(join(tmpdir(), 'cpo-repro-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Clones HEAD into `name`, shares node_modules (installed from the same lockfile), builds and releases there. */
function buildInClone(name: string, env: Record<string, string>): string {
  const clone = join(scratch, name);
  expect(run('git', ['clone', '--quiet', '--no-local', ROOT, clone]).status).toBe(0);
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  const base = { PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/root', ...env };
  for (const script of ['scripts/build.ts', 'scripts/release.ts']) {
    const ran = run('sh', ['-c', `umask ${env.UMASK ?? '022'} && exec bun ${script}`], { cwd: clone, env: base });
    if (ran.status !== 0) throw new Error(`${script} failed in the clone: ${ran.stderr}`);
  }
  return join(clone, 'release');
}

function expectSameTree(a: string, b: string): void {
  const files = listTree(a);
  expect(listTree(b)).toEqual(files);
  const differing = files.filter((f) => !readFileSync(join(a, f)).equals(readFileSync(join(b, f))));
  expect(differing).toEqual([]);
}

describe.skipIf(RELEASE_DIR === undefined)('reproducible release', () => {
  test('two builds of one commit, in different folders at different times, are byte-identical', () => {
    const dirty = run('git', ['status', '--porcelain'], { cwd: ROOT }).stdout.trim() !== '';
    const first = buildInClone('a', { TZ: 'Pacific/Chatham', LC_ALL: 'C', UMASK: '077' });
    if (dirty) {
      console.warn('this checkout has uncommitted changes: comparing two fresh clones of HEAD instead of the checkout\'s release');
      expectSameTree(first, buildInClone('second-clone', { TZ: 'UTC', LANG: 'C.UTF-8', UMASK: '022' }));
    } else {
      expectSameTree(first, RELEASE_DIR as string);
    }
  }, 600_000);
});
