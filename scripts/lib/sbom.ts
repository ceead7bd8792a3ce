/**
 * A CycloneDX 1.6 SBOM of what one executable is made of: the npm packages Bun actually bundled
 * into it (from the bundler's metafile, not package.json: `undici`, for one, is Bun's built-in and
 * never bundled) and the Bun runtime the program is appended to.
 *
 * Why not `@cyclonedx/cyclonedx-npm`: it lists package.json's dependencies rather than what is
 * compiled in, records the host's npm version (so two machines give two SBOMs), and adds about 180
 * packages to the lockfile. This file is deterministic: no random serial number, the timestamp is
 * SOURCE_DATE_EPOCH, components sorted.
 */
import { createHash } from 'node:crypto';
import type { LockedPackage } from './bunExecutable.ts';

export const CYCLONEDX_SPEC_VERSION = '1.6';

/** A package from the lockfile that is part of the executable. */
export interface SbomPackage extends LockedPackage {
  /** SPDX id from the lockfile, when it has one. */
  readonly license: string | undefined;
}

export interface SbomInput {
  readonly name: string;
  readonly version: string;
  readonly commit: string;
  readonly arch: string;
  /** sha256 of the executable the SBOM describes. */
  readonly executableSha256: string;
  readonly license: string;
  readonly sourceDateEpoch: number;
  /** npm packages bundled into the program. */
  readonly bundled: readonly SbomPackage[];
  /** The Bun runtime package the executable is built on (`@oven/bun-linux-<cpu>`). */
  readonly runtime: SbomPackage;
}

/** Lockfile keys (`node_modules/a`, `node_modules/a/node_modules/@s/b`) of the packages among bundled input paths. */
export function bundledPackageKeys(inputPaths: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const path of inputPaths) {
    const marker = 'node_modules/';
    const at = path.lastIndexOf(marker);
    if (at === -1) continue;
    const rest = path.slice(at + marker.length).split('/');
    const nameParts = rest[0]?.startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1);
    keys.add(path.slice(path.indexOf(marker), at + marker.length) + nameParts.join('/'));
  }
  return [...keys].sort();
}

/** `pkg:npm/%40scope/name@1.0.0` (the purl spec percent-encodes the scope's @). */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/** The sha512 of an SRI integrity string, as CycloneDX wants it: hex. */
function sha512Hex(integrity: string): string | undefined {
  const part = integrity.split(/\s+/).find((p) => p.startsWith('sha512-'));
  return part === undefined ? undefined : Buffer.from(part.slice('sha512-'.length), 'base64').toString('hex');
}

function component(pkg: SbomPackage, type: 'library' | 'platform'): Record<string, unknown> {
  const purl = npmPurl(pkg.name, pkg.version);
  const hash = sha512Hex(pkg.integrity);
  const slash = pkg.name.lastIndexOf('/');
  return {
    type,
    'bom-ref': purl,
    ...(pkg.name.startsWith('@') ? { group: pkg.name.slice(0, slash), name: pkg.name.slice(slash + 1) } : { name: pkg.name }),
    version: pkg.version,
    purl,
    ...(pkg.license === undefined ? {} : { licenses: [{ license: { id: pkg.license } }] }),
    ...(hash === undefined ? {} : { hashes: [{ alg: 'SHA-512', content: hash }] }),
  };
}

/** The SBOM document (serialise with `JSON.stringify(bom, null, 2)`). */
export function createSbom(input: SbomInput): Record<string, unknown> {
  const appRef = `${input.name}@${input.version}-linux-${input.arch}`;
  const bundled = [...input.bundled].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const components = [...bundled.map((p) => component(p, 'library')), component(input.runtime, 'platform')];
  // A stable serial number: the same executable always gets the same SBOM.
  const hash = createHash('sha256').update(`${appRef}\n${input.executableSha256}`).digest('hex');
  const uuid = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-8${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
  return {
    $schema: `http://cyclonedx.org/schema/bom-${CYCLONEDX_SPEC_VERSION}.schema.json`,
    bomFormat: 'CycloneDX',
    specVersion: CYCLONEDX_SPEC_VERSION,
    serialNumber: `urn:uuid:${uuid}`,
    version: 1,
    metadata: {
      timestamp: new Date(input.sourceDateEpoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
      lifecycles: [{ phase: 'build' }],
      tools: { components: [{ type: 'application', name: `${input.name} scripts/release.ts`, version: input.version }] },
      component: {
        type: 'application',
        'bom-ref': appRef,
        name: input.name,
        version: input.version,
        licenses: [{ license: { id: input.license } }],
        hashes: [{ alg: 'SHA-256', content: input.executableSha256 }],
        properties: [
          { name: 'credential-provider-oke:commit', value: input.commit },
          { name: 'credential-provider-oke:platform', value: `linux/${input.arch}` },
        ],
      },
    },
    components,
    dependencies: [
      { ref: appRef, dependsOn: components.map((c) => c['bom-ref'] as string) },
      ...components.map((c) => ({ ref: c['bom-ref'] as string, dependsOn: [] })),
    ],
  };
}
