import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sha256Hex } from '../../scripts/lib/bunExecutable.ts';
import { archiveName, releaseBaseName, sbomName } from '../../scripts/lib/release.ts';
import { BUILD_TARGETS, executableFileName } from '../../scripts/lib/targets.ts';
import { RELEASE_DIR, ROOT, VERSION, has, listTree, run } from './support.ts';

/**
 * The release folder that `npm test` builds (`bun scripts/release.ts` into RELEASE_DIR), checked
 * with tools nobody here wrote: GNU tar, gzip's header, sha256sum, JSON parsing.
 */

if (RELEASE_DIR === undefined) console.warn('release bundle tests skipped: RELEASE_DIR is not set (npm test builds the release and sets it)');
const dir = RELEASE_DIR ?? '';
/** Hashing and unpacking ~100 MB executables on a busy 2-core machine. */
const SLOW_MS = 120_000;
const LOCK = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; integrity: string }> };
const epoch = (): number => {
  const sbom = JSON.parse(readFileSync(join(dir, sbomName(VERSION, BUILD_TARGETS[0] as never)), 'utf8')) as { metadata: { timestamp: string } };
  return Date.parse(sbom.metadata.timestamp) / 1000;
};

describe.skipIf(RELEASE_DIR === undefined)('release archives', () => {
  for (const target of BUILD_TARGETS) {
    test(`${target.arch}: one folder with the executable, kubelet config, LICENSE, README; root-owned, one mtime`, () => {
      const archive = join(dir, archiveName(VERSION, target));
      const listing = run('tar', ['--numeric-owner', '--full-time', '-tvzf', archive]);
      expect(listing.status).toBe(0);
      const top = releaseBaseName(VERSION, target);
      const rows = listing.stdout.trim().split('\n').map((line) => line.split(/\s+/));
      expect(rows.map((r) => r[5])).toEqual([
        `${top}/`,
        `${top}/LICENSE`,
        `${top}/README.md`,
        `${top}/credential-provider-config.yaml`,
        `${top}/credential-provider-oke`,
      ]);
      for (const r of rows) expect(r[1]).toBe('0/0');
      const stamp = new Date(epoch() * 1000).toISOString().replace('T', ' ').replace('.000Z', '');
      for (const r of rows) expect(`${r[3]} ${r[4]}`).toBe(stamp);
      expect(rows.map((r) => r[0])).toEqual(['drwxr-xr-x', '-rw-r--r--', '-rw-r--r--', '-rw-r--r--', '-rwxr-xr-x']);

      // The executable inside is the released one, and the config is deploy/'s.
      const bare = readFileSync(join(dir, executableFileName(target)));
      const inside = Bun.spawnSync(['tar', '-xzOf', archive, `${top}/credential-provider-oke`]).stdout;
      expect(sha256Hex(inside)).toBe(sha256Hex(bare));
      const config = Bun.spawnSync(['tar', '-xzOf', archive, `${top}/credential-provider-config.yaml`]).stdout;
      expect(Buffer.from(config).toString()).toBe(readFileSync(join(ROOT, 'deploy/credential-provider-config.yaml'), 'utf8'));
      const readme = Buffer.from(Bun.spawnSync(['tar', '-xzOf', archive, `${top}/README.md`]).stdout).toString();
      expect(readme).toContain(`release ${VERSION}`);
      expect(readme).toContain('minisign -Vm SHA256SUMS');
      expect(readme).toContain('## Command line');
    }, SLOW_MS);

    test(`${target.arch}: the gzip header carries no file name and no time`, () => {
      const bytes = readFileSync(join(dir, archiveName(VERSION, target)));
      expect([bytes[0], bytes[1], bytes[2]]).toEqual([0x1f, 0x8b, 8]);
      expect(bytes[3]).toBe(0); // FLG: no FNAME, no FCOMMENT, no FEXTRA
      expect(bytes.readUInt32LE(4)).toBe(0); // MTIME
      expect(gunzipSync(bytes).length % 512).toBe(0);
    }, SLOW_MS);
  }
});

describe.skipIf(RELEASE_DIR === undefined)('SHA256SUMS', () => {
  test('lists every file of the release (image layout included), sorted, and sha256sum -c agrees', () => {
    const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    const listed = lines.map((l) => l.slice(66));
    const files = listTree(dir).filter((f) => f !== 'SHA256SUMS' && !f.endsWith('.minisig'));
    expect(listed).toEqual(files);
    expect([...listed].sort()).toEqual(listed);
    if (has('sha256sum')) {
      expect(run('sha256sum', ['-c', '--strict', '--quiet', 'SHA256SUMS'], { cwd: dir }).status).toBe(0);
    } else {
      for (const line of lines) expect(createHash('sha256').update(readFileSync(join(dir, line.slice(66)))).digest('hex')).toBe(line.slice(0, 64));
    }
    for (const target of BUILD_TARGETS) {
      expect(listed).toContain(archiveName(VERSION, target));
      expect(listed).toContain(sbomName(VERSION, target));
      expect(listed).toContain(executableFileName(target));
    }
    expect(listed).toContain('credential-provider-config.yaml');
    expect(listed).toContain(`credential-provider-oke-${VERSION}-oci/index.json`);
  }, SLOW_MS);
});

interface Bom {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  metadata: { timestamp: string; component: { name: string; version: string; hashes: { alg: string; content: string }[]; licenses: unknown[] } };
  components: { type: string; name: string; group?: string; version: string; purl: string; hashes: { alg: string; content: string }[]; licenses?: { license: { id: string } }[] }[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

describe.skipIf(RELEASE_DIR === undefined)('SBOM (CycloneDX)', () => {
  for (const target of BUILD_TARGETS) {
    test(`${target.arch}: describes the released executable, the bundled yaml package and the Bun runtime; nothing from devDependencies`, () => {
      const bom = JSON.parse(readFileSync(join(dir, sbomName(VERSION, target)), 'utf8')) as Bom;
      expect(bom.bomFormat).toBe('CycloneDX');
      expect(bom.specVersion).toBe('1.6');
      expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(bom.metadata.component.name).toBe('credential-provider-oke');
      expect(bom.metadata.component.version).toBe(VERSION);
      expect(bom.metadata.component.hashes).toEqual([{ alg: 'SHA-256', content: sha256Hex(readFileSync(join(dir, executableFileName(target)))) }]);

      const byName = new Map(bom.components.map((c) => [c.group === undefined ? c.name : `${c.group}/${c.name}`, c]));
      expect([...byName.keys()].sort()).toEqual([target.bunPackage, 'yaml'].sort());
      const yaml = byName.get('yaml');
      expect(yaml?.version).toBe(LOCK.packages['node_modules/yaml']?.version as string);
      expect(yaml?.purl).toBe(`pkg:npm/yaml@${yaml?.version}`);
      expect(yaml?.licenses).toEqual([{ license: { id: 'ISC' } }]);
      const integrity = LOCK.packages['node_modules/yaml']?.integrity as string;
      expect(yaml?.hashes).toEqual([{ alg: 'SHA-512', content: Buffer.from(integrity.slice(7), 'base64').toString('hex') }]);
      const runtime = byName.get(target.bunPackage);
      expect(runtime?.type).toBe('platform');
      expect(runtime?.version).toBe(LOCK.packages['node_modules/bun']?.version as string);
      expect(runtime?.purl).toBe(`pkg:npm/%40oven/${target.bunPackage.slice('@oven/'.length)}@${runtime?.version}`);
      // Every component is a dependency of the executable.
      const root = bom.dependencies.find((d) => d.ref.startsWith('credential-provider-oke@'));
      expect(root?.dependsOn.sort()).toEqual(bom.components.map((c) => c.purl).sort());
    });
  }
});
