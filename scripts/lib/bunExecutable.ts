/**
 * Finds the Bun executable that becomes the base of one target's binary, without the network
 * whenever possible and never unverified.
 *
 * Why not a normal dependency: npm refuses to install `@oven/bun-linux-aarch64` on an x64 machine
 * (its package.json says `cpu: arm64`), and `bun build --compile` for another CPU would otherwise
 * download the base executable from GitHub at build time. But the lockfile already pins that
 * package, version and sha512, because `bun` lists every platform package as an optional
 * dependency. So the build:
 * 1. takes version and integrity from `package-lock.json` (the same version as the `bun` package,
 *    which is checked);
 * 2. uses the running Bun when the target is the machine's own platform (it is that package);
 * 3. otherwise runs `npm pack <pkg>@<version> --prefer-offline` (npm's cache makes repeat builds
 *    offline), checks the tarball against the lockfile's sha512, unpacks it once into
 *    `node_modules/.cache/credential-provider-oke/`, and rechecks the unpacked binary's sha256
 *    against a marker on every later build.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isElfFor } from './elf.ts';
import type { BuildTarget } from './targets.ts';

/** A package pinned by `package-lock.json` (lockfileVersion 2 or 3). */
export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  /** Subresource-integrity string, e.g. `sha512-<base64>`. */
  readonly integrity: string;
}

/** Reads `packages["node_modules/<name>"]` from a parsed lockfile; throws naming what is missing. */
export function lockedPackage(lock: unknown, name: string): LockedPackage {
  const packages = (lock as { packages?: Record<string, { version?: unknown; integrity?: unknown }> }).packages;
  const entry = packages?.[`node_modules/${name}`];
  if (entry === undefined) {
    throw new Error(`package-lock.json has no entry for ${name}; run "npm install" (it is locked through the bun package)`);
  }
  if (typeof entry.version !== 'string' || typeof entry.integrity !== 'string') {
    throw new Error(`package-lock.json entry for ${name} lacks a version or integrity`);
  }
  return { name, version: entry.version, integrity: entry.integrity };
}

/**
 * True when `bytes` match one of the sha512 hashes in an SRI string. Weaker algorithms in the
 * string are ignored on purpose: npm lockfiles carry sha512 for every current package.
 */
export function matchesIntegrity(bytes: Uint8Array, integrity: string): boolean {
  const expected = integrity
    .split(/\s+/)
    .filter((part) => part.startsWith('sha512-'))
    .map((part) => part.slice('sha512-'.length).replace(/\?.*$/, ''));
  if (expected.length === 0) return false;
  const actual = createHash('sha512').update(bytes).digest('base64');
  return expected.includes(actual);
}

/** Hex sha256 of a file's bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Where unpacked platform packages live, keyed by package and version. */
export function bunCacheDir(root: string, pkg: LockedPackage): string {
  return join(root, 'node_modules', '.cache', 'credential-provider-oke', `${pkg.name.replace(/[@/]/g, '_')}-${pkg.version}`);
}

interface CacheMarker {
  readonly integrity: string;
  readonly binSha256: string;
}

const MARKER_FILE = 'verified.json';

export interface BunExecutableOptions {
  readonly root: string;
  readonly lock: unknown;
  /** Version of the Bun running the build (`process.versions.bun`). */
  readonly runningBunVersion: string;
  /** Path of the running Bun (`process.execPath`). */
  readonly runningBunPath: string;
  readonly hostPlatform: string;
  readonly hostArch: string;
  readonly log: (line: string) => void;
}

/** Returns the path of a verified Bun executable for `target` (see the file comment for how). */
export function bunExecutableFor(target: BuildTarget, options: BunExecutableOptions): string {
  const bun = lockedPackage(options.lock, 'bun');
  const pkg = lockedPackage(options.lock, target.bunPackage);
  if (pkg.version !== bun.version) {
    throw new Error(`${pkg.name}@${pkg.version} in package-lock.json differs from bun@${bun.version}; run "npm install"`);
  }
  if (options.runningBunVersion !== bun.version) {
    throw new Error(
      `the build runs on Bun ${options.runningBunVersion} but bun@${bun.version} is locked; run it as "npm run build"`,
    );
  }
  // The running Bun was installed from exactly this package by npm (integrity-checked then).
  if (options.hostPlatform === 'linux' && options.hostArch === target.nodeArch) return options.runningBunPath;

  const dir = bunCacheDir(options.root, pkg);
  const binary = join(dir, 'bin', 'bun');
  const cached = readVerifiedCache(dir, binary, pkg);
  if (cached !== undefined) return cached;

  options.log(`fetching ${pkg.name}@${pkg.version} with npm pack (checked against package-lock.json)`);
  const parent = join(dir, '..');
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, '.tmp-'));
  try {
    execFileSync('npm', ['pack', `${pkg.name}@${pkg.version}`, '--prefer-offline', '--silent', '--pack-destination', work], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    if (tarballs.length !== 1 || tarballs[0] === undefined) {
      throw new Error(`npm pack ${pkg.name}@${pkg.version} produced ${tarballs.length} tarballs`);
    }
    const tarball = join(work, tarballs[0]);
    if (!matchesIntegrity(readFileSync(tarball), pkg.integrity)) {
      throw new Error(`${pkg.name}@${pkg.version} tarball does not match the sha512 in package-lock.json; refusing to use it`);
    }
    execFileSync('tar', ['-xzf', tarball, '-C', work], { stdio: ['ignore', 'ignore', 'pipe'] });
    const unpacked = join(work, 'package');
    const bytes = readFileSync(join(unpacked, 'bin', 'bun'));
    if (!isElfFor(bytes, target.elfMachine)) {
      throw new Error(`${pkg.name}@${pkg.version} bin/bun is not a ${target.elfMachine} ELF executable`);
    }
    const marker: CacheMarker = { integrity: pkg.integrity, binSha256: sha256Hex(bytes) };
    writeFileSync(join(unpacked, MARKER_FILE), `${JSON.stringify(marker)}\n`);
    rmSync(dir, { recursive: true, force: true }); // a stale or tampered copy
    // rename is atomic, so a concurrent build sees either nothing or a complete, verified folder.
    try {
      renameSync(unpacked, dir);
    } catch (error) {
      // Another build may have put its verified copy there in the meantime; that one is as good.
      if (readVerifiedCache(dir, binary, pkg) === undefined) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

/** The cached binary when its marker names this integrity and its bytes still hash the same. */
function readVerifiedCache(dir: string, binary: string, pkg: LockedPackage): string | undefined {
  const markerPath = join(dir, MARKER_FILE);
  if (!existsSync(markerPath) || !existsSync(binary)) return undefined;
  try {
    const marker = JSON.parse(readFileSync(markerPath, 'utf8')) as Partial<CacheMarker>;
    if (marker.integrity !== pkg.integrity) return undefined;
    return marker.binSha256 === sha256Hex(readFileSync(binary)) ? binary : undefined;
  } catch {
    return undefined;
  }
}
