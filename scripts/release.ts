/**
 * `npm run release`: everything a release publishes, in one folder (default `release/`), from the
 * executables `npm run build` wrote to `dist/`:
 *
 *   credential-provider-oke-<v>-linux-{amd64,arm64}.tar.gz   executable, kubelet config, LICENSE, README
 *   credential-provider-oke-<v>-linux-{amd64,arm64}.cdx.json CycloneDX SBOM of each executable
 *   credential-provider-oke-linux-{amd64,arm64}               the bare executables (cloud-init downloads these)
 *   credential-provider-config.yaml                           the kubelet config
 *   credential-provider-oke-<v>-oci/                          OCI image layout: index of linux/amd64 + linux/arm64
 *   SHA256SUMS                                                every file above, recursively
 *   *.minisig                                                 with --sign-key: minisign signatures
 *
 * Reproducible: given the same commit (and Debian glibc for the image), every byte is the same on
 * any machine at any time. Times are SOURCE_DATE_EPOCH (default: the commit's time), archives are
 * sorted with uid/gid 0 and no names, gzip headers carry no time or name (docs/release.md).
 *
 * Usage: bun scripts/release.ts [--dist dist] [--out release] [--sign-key FILE] [--sign-only]
 *   --sign-key FILE   minisign secret key (also MINISIGN_SECRET_KEY_FILE); its password, if any,
 *                     from MINISIGN_PASSWORD
 *   --sign-only       sign an existing release folder (e.g. on the maintainer's machine after CI built it)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { commitLabel, type GitRunner } from './lib/buildInfo.ts';
import { lockedPackage, sha256Hex } from './lib/bunExecutable.ts';
import { GZIP_LEVEL, buildImageLayout, writeLayout } from './lib/ociImage.ts';
import {
  IMAGE_APP_DIR,
  RUNTIME_LIBRARIES,
  SIGNATURE_SUFFIX,
  archiveEntries,
  archiveName,
  checksumFile,
  imageEntries,
  imageLayoutName,
  readmeExcerpt,
  sbomName,
  sourceDateEpoch,
} from './lib/release.ts';
import { bundledPackageKeys, createSbom, type SbomPackage } from './lib/sbom.ts';
import { tarArchive } from './lib/tar.ts';
import {
  BUILD_TARGETS,
  CHECKSUMS_FILE_NAME,
  EXECUTABLE_NAME,
  RELEASED_CONFIG_NAME,
  executableFileName,
  type BuildTarget,
} from './lib/targets.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_URL = 'https://github.com/credential-provider-oke/credential-provider-oke';

const git: GitRunner = (args) => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string', default: 'dist' },
      out: { type: 'string', default: 'release' },
      'sign-key': { type: 'string' },
      'sign-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const distDir = resolve(ROOT, values.dist);
  const outDir = resolve(ROOT, values.out);
  const signKey = values['sign-key'] ?? process.env.MINISIGN_SECRET_KEY_FILE;
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const commit = commitLabel(git);

  if (values['sign-only']) {
    if (signKey === undefined) throw new Error('--sign-only needs --sign-key FILE (or MINISIGN_SECRET_KEY_FILE)');
    signRelease(outDir, signKey, version);
    return;
  }

  const started = performance.now();
  const epoch = sourceDateEpoch(process.env.SOURCE_DATE_EPOCH, git(['log', '-1', '--format=%ct', 'HEAD']));
  console.log(`release ${version} (${commit}), SOURCE_DATE_EPOCH=${epoch} (${new Date(epoch * 1000).toISOString()})`);
  const dist = readVerifiedDist(distDir);
  checkBuiltFromThisTree(distDir, version, commit);

  const license = readFileSync(join(ROOT, 'LICENSE'));
  const readme = new TextEncoder().encode(readmeExcerpt(readFileSync(join(ROOT, 'README.md'), 'utf8'), version));
  const kubeletConfig = dist.get(RELEASED_CONFIG_NAME) as Uint8Array;
  const lock: unknown = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const bundled = await bundledPackages(lock);

  // Built beside the final folder and renamed at the end: a failed release leaves no half folder.
  const work = `${outDir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    writeFileSync(join(work, RELEASED_CONFIG_NAME), kubeletConfig, { mode: 0o644 });
    const platforms = [];
    for (const target of BUILD_TARGETS) {
      const executable = dist.get(executableFileName(target)) as Uint8Array;
      writeFileSync(join(work, executableFileName(target)), executable, { mode: 0o755 });
      const files = { executable, kubeletConfig, license, readme };
      const tar = tarArchive(archiveEntries(version, target, files), epoch);
      writeFileSync(join(work, archiveName(version, target)), gzipSync(tar, { level: GZIP_LEVEL }), { mode: 0o644 });
      const sbom = createSbom({
        name: EXECUTABLE_NAME,
        version,
        commit,
        arch: target.arch,
        executableSha256: sha256Hex(executable),
        license: 'UPL-1.0',
        sourceDateEpoch: epoch,
        bundled,
        runtime: lockedSbomPackage(lock, `node_modules/${target.bunPackage}`),
      });
      writeFileSync(join(work, sbomName(version, target)), `${JSON.stringify(sbom, null, 2)}\n`, { mode: 0o644 });
      platforms.push({ architecture: target.arch, ...(target.arch === 'arm64' ? { variant: 'v8' } : {}), files: imageEntries(target, { ...files, ...runtimeLibraries(target) }) });
      console.log(`  ${archiveName(version, target)}, ${sbomName(version, target)}`);
    }
    const layout = buildImageLayout({
      platforms,
      entrypoint: [`/${IMAGE_APP_DIR}/${EXECUTABLE_NAME}`],
      cmd: ['--help'],
      refName: version,
      sourceDateEpoch: epoch,
      labels: {
        'org.opencontainers.image.title': EXECUTABLE_NAME,
        'org.opencontainers.image.description': 'Kubelet image credential provider for OCIR; installs itself on nodes (deploy/daemonset)',
        'org.opencontainers.image.version': version,
        'org.opencontainers.image.revision': commit,
        'org.opencontainers.image.source': SOURCE_URL,
        'org.opencontainers.image.licenses': 'UPL-1.0 AND LGPL-2.1-or-later',
        'org.opencontainers.image.created': new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
      },
    });
    writeLayout(join(work, imageLayoutName(version)), layout);
    console.log(`  ${imageLayoutName(version)}/ (OCI layout, tag ${version}: linux/amd64, linux/arm64)`);

    writeFileSync(join(work, CHECKSUMS_FILE_NAME), checksumFile(hashTree(work)), { mode: 0o644 });
    rmSync(outDir, { recursive: true, force: true });
    renameSync(work, outDir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  if (signKey !== undefined) signRelease(outDir, signKey, version);

  console.log('');
  for (const name of readdirSync(outDir).sort()) {
    const stat = statSync(join(outDir, name));
    const bytes = stat.isDirectory() ? treeBytes(join(outDir, name)) : stat.size;
    console.log(`${(bytes / 1024 / 1024).toFixed(1).padStart(8)} MiB  ${relative(ROOT, join(outDir, name))}${stat.isDirectory() ? '/' : ''}`);
  }
  console.log(`release written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** dist/'s files, checked against dist/SHA256SUMS: the release packages exactly what the build made. */
function readVerifiedDist(distDir: string): Map<string, Uint8Array> {
  const sumsPath = join(distDir, CHECKSUMS_FILE_NAME);
  if (!existsSync(sumsPath)) throw new Error(`${relative(ROOT, sumsPath)} is missing: run "npm run build" first`);
  const files = new Map<string, Uint8Array>();
  for (const line of readFileSync(sumsPath, 'utf8').split('\n').filter((l) => l !== '')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match === null) throw new Error(`${relative(ROOT, sumsPath)}: unreadable line "${line}"`);
    const [, sum, name] = match as unknown as [string, string, string];
    const bytes = readFileSync(join(distDir, name));
    if (sha256Hex(bytes) !== sum) throw new Error(`dist/${name} does not match dist/${CHECKSUMS_FILE_NAME}: rebuild with "npm run build"`);
    files.set(name, bytes);
  }
  for (const name of [...BUILD_TARGETS.map(executableFileName), RELEASED_CONFIG_NAME]) {
    if (!files.has(name)) throw new Error(`dist/${CHECKSUMS_FILE_NAME} does not list ${name}: rebuild with "npm run build"`);
  }
  return files;
}

/** Refuses a dist/ built from another commit (or another state of this tree) than the one being released. */
function checkBuiltFromThisTree(distDir: string, version: string, commit: string): void {
  const own = BUILD_TARGETS.find((t) => t.nodeArch === process.arch && process.platform === 'linux');
  if (own === undefined) return; // cannot run either executable here; the SHA256SUMS check above still holds
  const line = execFileSync(join(distDir, executableFileName(own)), ['--version'], { encoding: 'utf8', env: {} }).trim();
  const expected = `${EXECUTABLE_NAME} ${version} (commit ${commit})`;
  if (line !== expected) throw new Error(`dist/ was built from another tree ("${line}", expected "${expected}"): run "npm run build"`);
}

/** The npm packages Bun bundles into the program, from its metafile, with their lockfile facts. */
async function bundledPackages(lock: unknown): Promise<SbomPackage[]> {
  const result = await Bun.build({ entrypoints: [join(ROOT, 'src/main.ts')], target: 'bun', format: 'esm', metafile: true });
  if (!result.success || result.metafile === undefined) throw new Error('could not list the bundled modules (Bun.build metafile)');
  return bundledPackageKeys(Object.keys(result.metafile.inputs)).map((key) => lockedSbomPackage(lock, key));
}

function lockedSbomPackage(lock: unknown, key: string): SbomPackage {
  const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const entry = (lock as { packages?: Record<string, { license?: unknown }> }).packages?.[key];
  const locked = lockedPackage(lock, name);
  return { ...locked, license: typeof entry?.license === 'string' ? entry.license : undefined };
}

/** glibc for one image from the build host's Debian packages (libc6, libc6-arm64-cross). */
function runtimeLibraries(target: BuildTarget): { libraries: Map<string, Uint8Array>; glibcCopyright: Uint8Array | undefined } {
  const spec = RUNTIME_LIBRARIES[target.arch];
  const dir = spec.hostDirs.find((d) => spec.files.every((f) => existsSync(join(d, f))));
  if (dir === undefined) {
    throw new Error(
      `no ${target.arch} glibc found in ${spec.hostDirs.join(' or ')}; on Debian: apt-get install ${target.arch === 'arm64' ? 'libc6-arm64-cross' : 'libc6'}`,
    );
  }
  const libraries = new Map(spec.files.map((f) => [f, readFileSync(realpathSync(join(dir, f)))] as const));
  const copyright = spec.copyrightFiles.find((f) => existsSync(f));
  return { libraries, glibcCopyright: copyright === undefined ? undefined : readFileSync(copyright) };
}

/** sha256 of every regular file under `dir` (except the checksum file and signatures), by relative path. */
function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (sub: string): void => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub === '' ? name : `${sub}/${name}`;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else if (rel !== CHECKSUMS_FILE_NAME && !rel.endsWith(SIGNATURE_SUFFIX)) {
        out.set(rel, createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex'));
      }
    }
  };
  walk('');
  return out;
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const stat = statSync(join(dir, name));
    total += stat.isDirectory() ? treeBytes(join(dir, name)) : stat.size;
  }
  return total;
}

/**
 * Detached minisign signatures for SHA256SUMS and every top-level file. SHA256SUMS' signature
 * covers everything (including the image layout); the others let one archive be checked alone.
 * The trusted comment names the release and file, so a signature cannot pass for another file's.
 */
function signRelease(outDir: string, keyFile: string, version: string): void {
  const names = readdirSync(outDir)
    .filter((n) => !n.endsWith(SIGNATURE_SUFFIX) && statSync(join(outDir, n)).isFile())
    .sort();
  if (!names.includes(CHECKSUMS_FILE_NAME)) throw new Error(`${relative(ROOT, outDir)} has no ${CHECKSUMS_FILE_NAME}: not a release folder`);
  const password = process.env.MINISIGN_PASSWORD;
  for (const name of names) {
    execFileSync(
      'minisign',
      ['-S', '-s', keyFile, '-m', join(outDir, name), '-x', join(outDir, `${name}${SIGNATURE_SUFFIX}`), '-t', `${EXECUTABLE_NAME} ${version} file:${name}`],
      { input: password === undefined ? '' : `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] },
    );
  }
  console.log(`signed ${names.length} files with ${keyFile}`);
}

try {
  await main();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`release failed: ${message.includes('ENOENT') && message.includes('minisign') ? 'minisign is not installed (Debian: apt-get install minisign)' : message}`);
  process.exitCode = 1;
}
