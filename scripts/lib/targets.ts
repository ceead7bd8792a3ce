import type { ElfMachineName } from './elf.ts';

/** One executable we ship: how Bun, npm, Node and ELF each name its platform. */
export interface BuildTarget {
  /** The suffix in the file name, as Debian/Go/Kubernetes name it (`uname -m` mapped in the installer). */
  readonly arch: 'amd64' | 'arm64';
  /** `bun build --target`. */
  readonly bunTarget: string;
  /** The npm package holding the Bun executable for this platform (locked through the `bun` package). */
  readonly bunPackage: string;
  /** Node's `process.arch` on such a machine: there the running Bun itself is the base executable. */
  readonly nodeArch: string;
  readonly elfMachine: ElfMachineName;
}

/** `bun build` flags of every executable, explained in scripts/build.ts; `--target`, `--outfile` and the entry come on top. */
export const COMPILE_FLAGS: readonly string[] = [
  '--compile',
  '--bytecode',
  '--format=esm',
  '--minify',
  '--splitting',
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
  '--no-compile-autoload-tsconfig',
  '--no-compile-autoload-package-json',
];

/** The name of the program on nodes; the kubelet config's provider `name` must equal it. */
export const EXECUTABLE_NAME = 'credential-provider-oke';

/** Built in this order, one after the other (a compile takes most of a 2-core machine). */
export const BUILD_TARGETS: readonly BuildTarget[] = [
  { arch: 'amd64', bunTarget: 'bun-linux-x64', bunPackage: '@oven/bun-linux-x64', nodeArch: 'x64', elfMachine: 'x86_64' },
  {
    arch: 'arm64',
    bunTarget: 'bun-linux-arm64',
    bunPackage: '@oven/bun-linux-aarch64',
    nodeArch: 'arm64',
    elfMachine: 'aarch64',
  },
];

/** `credential-provider-oke-linux-<arch>`: the release asset name the installer downloads. */
export function executableFileName(target: BuildTarget): string {
  return `${EXECUTABLE_NAME}-linux-${target.arch}`;
}

/** The checksum file next to the executables, in `sha256sum` format. */
export const CHECKSUMS_FILE_NAME = 'SHA256SUMS';

/**
 * The kubelet config shipped next to the executables (and listed in SHA256SUMS), so the node
 * installer can verify everything it installs. Copied unchanged from `deploy/`.
 */
export const RELEASED_CONFIG_NAME = 'credential-provider-config.yaml';
export const RELEASED_CONFIG_SOURCE = 'deploy/credential-provider-config.yaml';
