/**
 * The pure parts of `npm run release`: names, the build time, the archive and image contents, the
 * checksum file. scripts/release.ts does the I/O.
 */
import { checksumLine } from './buildInfo.ts';
import type { TarEntry } from './tar.ts';
import { EXECUTABLE_NAME, RELEASED_CONFIG_NAME, type BuildTarget } from './targets.ts';

/** `credential-provider-oke-0.1.0-linux-amd64`: the archive's base name and its top folder. */
export function releaseBaseName(version: string, target: Pick<BuildTarget, 'arch'>): string {
  return `${EXECUTABLE_NAME}-${version}-linux-${target.arch}`;
}

export const archiveName = (version: string, target: Pick<BuildTarget, 'arch'>): string => `${releaseBaseName(version, target)}.tar.gz`;
export const sbomName = (version: string, target: Pick<BuildTarget, 'arch'>): string => `${releaseBaseName(version, target)}.cdx.json`;
export const imageLayoutName = (version: string): string => `${EXECUTABLE_NAME}-${version}-oci`;
export const SIGNATURE_SUFFIX = '.minisig';

/**
 * The time every archive entry, image and SBOM carries: SOURCE_DATE_EPOCH when set (the
 * reproducible-builds.org convention), else the commit's time, so two builds of one commit agree
 * whenever and wherever they run. A build without either is refused rather than stamped "now".
 */
export function sourceDateEpoch(envValue: string | undefined, commitTime: string | undefined): number {
  if (envValue !== undefined && envValue !== '') {
    if (!/^\d{1,12}$/.test(envValue)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not "${envValue}"`);
    return Number(envValue);
  }
  const fromGit = commitTime?.trim();
  if (fromGit !== undefined && /^\d{1,12}$/.test(fromGit)) return Number(fromGit);
  throw new Error('no build time: not a git checkout and SOURCE_DATE_EPOCH is not set (e.g. SOURCE_DATE_EPOCH=$(date +%s))');
}

export interface ArchiveFiles {
  readonly executable: Uint8Array;
  readonly kubeletConfig: Uint8Array;
  readonly license: Uint8Array;
  readonly readme: Uint8Array;
}

/** The entries of one release archive: everything inside one folder named like the archive. */
export function archiveEntries(version: string, target: Pick<BuildTarget, 'arch'>, files: ArchiveFiles): TarEntry[] {
  const top = releaseBaseName(version, target);
  return [
    { type: 'dir', path: top, mode: 0o755 },
    { type: 'file', path: `${top}/${EXECUTABLE_NAME}`, mode: 0o755, data: files.executable },
    { type: 'file', path: `${top}/${RELEASED_CONFIG_NAME}`, mode: 0o644, data: files.kubeletConfig },
    { type: 'file', path: `${top}/LICENSE`, mode: 0o644, data: files.license },
    { type: 'file', path: `${top}/README.md`, mode: 0o644, data: files.readme },
  ];
}

/** Where the program lives in the image; `install` takes the kubelet config from the same folder. */
export const IMAGE_APP_DIR = `opt/${EXECUTABLE_NAME}`;

/**
 * glibc as the Bun runtime needs it (its ELF NEEDED entries plus the loader), per architecture:
 * where Debian puts the files on a build host (native package first, then the cross package) and
 * where they go in the image. The loader keeps the path the executable asks for (PT_INTERP).
 */
export interface RuntimeLibraries {
  readonly hostDirs: readonly string[];
  readonly imageDir: string;
  readonly files: readonly string[];
  /** The path the executable's PT_INTERP names, as a relative symlink into `imageDir`. */
  readonly loader: { readonly path: string; readonly target: string } | undefined;
  /** Copyright file of the Debian package (glibc is LGPL: its notice travels with it). */
  readonly copyrightFiles: readonly string[];
}

export const RUNTIME_LIBRARIES: Readonly<Record<BuildTarget['arch'], RuntimeLibraries>> = {
  amd64: {
    hostDirs: ['/lib/x86_64-linux-gnu', '/usr/x86_64-linux-gnu/lib'],
    imageDir: 'lib/x86_64-linux-gnu',
    files: ['ld-linux-x86-64.so.2', 'libc.so.6', 'libdl.so.2', 'libm.so.6', 'libpthread.so.0'],
    loader: { path: 'lib64/ld-linux-x86-64.so.2', target: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
    copyrightFiles: ['/usr/share/doc/libc6/copyright', '/usr/share/doc/libc6-amd64-cross/copyright'],
  },
  arm64: {
    hostDirs: ['/usr/aarch64-linux-gnu/lib', '/lib/aarch64-linux-gnu'],
    imageDir: 'lib/aarch64-linux-gnu',
    files: ['ld-linux-aarch64.so.1', 'libc.so.6', 'libdl.so.2', 'libm.so.6', 'libpthread.so.0'],
    loader: { path: 'lib/ld-linux-aarch64.so.1', target: 'aarch64-linux-gnu/ld-linux-aarch64.so.1' },
    copyrightFiles: ['/usr/share/doc/libc6-arm64-cross/copyright', '/usr/share/doc/libc6/copyright'],
  },
};

export interface ImageFiles extends ArchiveFiles {
  /** Library file name to bytes, as listed in RUNTIME_LIBRARIES. */
  readonly libraries: ReadonlyMap<string, Uint8Array>;
  readonly glibcCopyright: Uint8Array | undefined;
}

/** The root file system of one platform's image: the program folder and glibc, nothing else. */
export function imageEntries(target: Pick<BuildTarget, 'arch'>, files: ImageFiles): TarEntry[] {
  const libs = RUNTIME_LIBRARIES[target.arch];
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  const addDirs = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  };
  const file = (path: string, mode: number, data: Uint8Array): void => {
    addDirs(path);
    entries.push({ type: 'file', path, mode, data });
  };
  file(`${IMAGE_APP_DIR}/${EXECUTABLE_NAME}`, 0o755, files.executable);
  file(`${IMAGE_APP_DIR}/${RELEASED_CONFIG_NAME}`, 0o644, files.kubeletConfig);
  file(`${IMAGE_APP_DIR}/LICENSE`, 0o644, files.license);
  file(`${IMAGE_APP_DIR}/README.md`, 0o644, files.readme);
  for (const name of libs.files) {
    const data = files.libraries.get(name);
    if (data === undefined) throw new Error(`the ${target.arch} image needs ${name}`);
    file(`${libs.imageDir}/${name}`, 0o755, data);
  }
  if (files.glibcCopyright !== undefined) file('usr/share/doc/glibc/copyright', 0o644, files.glibcCopyright);
  if (libs.loader !== undefined) {
    addDirs(libs.loader.path);
    entries.push({ type: 'symlink', path: libs.loader.path, target: libs.loader.target });
  }
  // The kubelet never runs this image's program from /tmp, but Bun may want a temp dir: the
  // DaemonSet mounts an emptyDir there under a read-only root.
  dirs.add('tmp');
  for (const dir of dirs) entries.push({ type: 'dir', path: dir, mode: dir === 'tmp' ? 0o1777 : 0o755 });
  return entries;
}

/**
 * The README that ships in the archive: the project's introduction and its command-line section
 * from README.md, then how to install and verify this release.
 */
export function readmeExcerpt(readme: string, version: string): string {
  const section = (heading: string): string => {
    const start = readme.indexOf(`\n## ${heading}\n`);
    if (start === -1) throw new Error(`README.md has no "## ${heading}" section`);
    const end = readme.indexOf('\n## ', start + 1);
    return readme.slice(start + 1, end === -1 ? undefined : end).trimEnd();
  };
  const intro = readme.slice(0, readme.indexOf('\n## ')).trimEnd();
  return `${intro}

This archive holds release ${version}: the executable \`${EXECUTABLE_NAME}\` for one CPU, the kubelet
\`CredentialProviderConfig\` (\`${RELEASED_CONFIG_NAME}\`), this README and the LICENSE.

## Verify

    minisign -Vm SHA256SUMS -P <the project's public key>   # the signature over the checksums
    sha256sum -c --ignore-missing SHA256SUMS                 # this archive and anything else downloaded

## Install

Put \`${EXECUTABLE_NAME}\` in the kubelet's \`--image-credential-provider-bin-dir\` and the config at its
\`--image-credential-provider-config\`, or let \`${EXECUTABLE_NAME} install --host-root /\` do it
atomically (it keeps the previous version for rollback). For node pools: the cloud-init script or the
DaemonSet in the repository's deploy/ folder; see docs/install.md and docs/release.md there.

${section('Command line')}
`;
}

/** `sha256sum` lines (path to hex sha256), sorted by path in byte order, so the file is stable. */
export function checksumFile(sha256ByPath: ReadonlyMap<string, string>): string {
  return [...sha256ByPath.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => checksumLine(sha256ByPath.get(path) as string, path))
    .join('');
}
