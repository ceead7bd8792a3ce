/**
 * The version and commit compiled into the executable, so `credential-provider-oke --version` on a
 * node says exactly which source it runs. They are passed as `bun build --define` constants rather
 * than read at run time: the executable carries no package.json and no .git.
 */

/** The compile-time constants the CLI declares (`declare const BUILD_VERSION: string`). */
export const DEFINE_NAMES = { version: 'BUILD_VERSION', commit: 'BUILD_COMMIT' } as const;

/** Runs `git <args>` in the repository; returns stdout, or undefined when git fails or is missing. */
export type GitRunner = (args: readonly string[]) => string | undefined;

/**
 * `git rev-parse --short=12 HEAD` (a fixed length: plain `--short` grows with the repository's
 * object count, so two clones of one commit could differ), plus `-dirty` when the tree differs from that commit (tracked
 * changes or untracked, non-ignored files: either could end up in the bundle), or `unknown` when
 * the source is not a git checkout (e.g. an unpacked source tarball).
 */
export function commitLabel(git: GitRunner): string {
  const head = git(['rev-parse', '--short=12', 'HEAD'])?.trim();
  if (head === undefined || !/^[0-9a-f]{4,40}$/.test(head)) return 'unknown';
  const status = git(['status', '--porcelain']);
  if (status === undefined) return `${head}-dirty`; // cannot prove it clean
  return status.trim() === '' ? head : `${head}-dirty`;
}

/** The `--define` arguments for `bun build`; values are JSON string literals, as Bun requires. */
export function defineArgs(version: string, commit: string): string[] {
  return [
    '--define',
    `${DEFINE_NAMES.version}=${JSON.stringify(version)}`,
    '--define',
    `${DEFINE_NAMES.commit}=${JSON.stringify(commit)}`,
  ];
}

/** One line of a `sha256sum`-compatible file (two spaces: text mode, as `sha256sum -c` expects). */
export function checksumLine(sha256: string, fileName: string): string {
  return `${sha256}  ${fileName}\n`;
}
