/**
 * `npm run build`: the self-contained node executables and their checksums.
 *
 *   dist/credential-provider-oke-linux-amd64
 *   dist/credential-provider-oke-linux-arm64
 *   dist/credential-provider-config.yaml   (a copy of deploy/credential-provider-config.yaml)
 *   dist/SHA256SUMS            (sha256sum format, all three; the node installer verifies against it)
 *
 * Each is `bun build --compile` of src/main.ts on top of the pinned Bun executable for that CPU
 * (see lib/bunExecutable.ts for how the arm64 one is obtained offline and verified). Flags
 * (`COMPILE_FLAGS` in lib/targets.ts; the benchmark compiles its hello world with the same):
 * - `--bytecode --minify`: about 7 ms start-up instead of 9 (docs: packaging.md); the kubelet
 *   execs the provider for every image pull that misses its cache.
 * - `--format=esm`: with `--bytecode` Bun defaults to CommonJS, which rejects the top-level
 *   `await` in src/main.ts; ESM bytecode works in Bun 1.4.5 (measured: 12-18 ms vs 31-34 ms for
 *   `--version` without bytecode on a busy 2-core machine).
 * - `--splitting`: every dynamic `import()` becomes its own part of the executable, loaded only
 *   when it runs, so `--version` does not load the plugin and a cached answer does not load the
 *   YAML library, `doctor` or the principals (measured: a part never imported costs nothing, the
 *   same code in one bundle ~3 M instructions per exec just to load its bytecode).
 * - `--no-compile-autoload-{dotenv,bunfig,tsconfig,package-json}`: a compiled Bun binary otherwise
 *   reads `.env` and `bunfig.toml` from its working directory (the kubelet's), which would let
 *   files on the node change the provider's environment. tsconfig/package.json are off by
 *   default today; saying so pins it.
 * - `--define BUILD_VERSION=… BUILD_COMMIT=…`: what `--version` prints (lib/buildInfo.ts).
 *
 * Usage: bun scripts/build.ts [--entry src/main.ts] [--outdir dist]
 * Must run on the locked Bun (`npm run build` puts node_modules/.bin first on PATH).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bunExecutableFor, sha256Hex } from './lib/bunExecutable.ts';
import { checksumLine, commitLabel, defineArgs } from './lib/buildInfo.ts';
import type { GitRunner } from './lib/buildInfo.ts';
import { ELF_HEADER_PREFIX_BYTES, isElfFor } from './lib/elf.ts';
import {
  BUILD_TARGETS,
  COMPILE_FLAGS,
  CHECKSUMS_FILE_NAME,
  RELEASED_CONFIG_NAME,
  RELEASED_CONFIG_SOURCE,
  executableFileName,
} from './lib/targets.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where the sources are built from, always the same folder. Bun names the parts of a split bundle
 * (`--splitting`) by a hash that covers the sources' absolute paths, so one commit built in two
 * checkouts gave two different executables. Built from here, the same sources give the same bytes
 * wherever the checkout is. One build at a time per machine: a second one started meanwhile
 * replaces this folder under the first.
 */
const STAGING = '/tmp/credential-provider-oke-build';

/** Copies what the bundle is made of (src/, package.json, tsconfig.json, the runtime dependencies) to STAGING. */
function stageSources(): void {
  rmSync(STAGING, { recursive: true, force: true });
  mkdirSync(STAGING, { recursive: true });
  cpSync(join(ROOT, 'src'), join(STAGING, 'src'), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, file), join(STAGING, file));
  const { dependencies = {} } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(dependencies)) {
    cpSync(join(ROOT, 'node_modules', name), join(STAGING, 'node_modules', name), { recursive: true, dereference: true });
  }
}


function main(): void {
  const { values } = parseArgs({
    options: { entry: { type: 'string', default: 'src/main.ts' }, outdir: { type: 'string', default: 'dist' } },
    strict: true,
  });
  const entry = resolve(ROOT, values.entry);
  const outDir = resolve(ROOT, values.outdir);
  const bunVersion = process.versions.bun;
  if (bunVersion === undefined) throw new Error('run this with Bun: npm run build');
  if (!existsSync(entry)) throw new Error(`entry point ${relative(ROOT, entry) || entry} does not exist`);

  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const lock: unknown = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const commit = commitLabel(git);
  console.log(`credential-provider-oke ${version} (${commit}), Bun ${bunVersion}, entry ${relative(ROOT, entry)}`);

  // Remove every previous output first, so a failed build never leaves an old SHA256SUMS that
  // still "verifies" an old binary next to a new one.
  mkdirSync(outDir, { recursive: true });
  const checksumsPath = join(outDir, CHECKSUMS_FILE_NAME);
  rmSync(checksumsPath, { force: true });
  for (const name of [...BUILD_TARGETS.map(executableFileName), RELEASED_CONFIG_NAME]) {
    rmSync(join(outDir, name), { force: true });
  }

  stageSources();
  const stagedEntry = join(STAGING, relative(ROOT, entry));
  const results: { name: string; bytes: number; sha256: string }[] = [];
  for (const target of BUILD_TARGETS) {
    const baseExecutable = bunExecutableFor(target, {
      root: ROOT,
      lock,
      runningBunVersion: bunVersion,
      runningBunPath: process.execPath,
      hostPlatform: process.platform,
      hostArch: process.arch,
      log: (line) => console.log(`  ${line}`),
    });
    const name = executableFileName(target);
    const outFile = join(outDir, name);
    console.log(`building ${name} (${target.bunTarget})`);
    execFileSync(
      process.execPath,
      [
        'build',
        ...COMPILE_FLAGS,
        `--target=${target.bunTarget}`,
        `--compile-executable-path=${baseExecutable}`,
        ...defineArgs(version, commit),
        '--outfile',
        outFile,
        stagedEntry,
      ],
      { cwd: STAGING, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const bytes = readFileSync(outFile);
    if (!isElfFor(bytes.subarray(0, ELF_HEADER_PREFIX_BYTES), target.elfMachine)) {
      throw new Error(`${name} is not a ${target.elfMachine} ELF executable; check the base executable ${baseExecutable}`);
    }
    results.push({ name, bytes: statSync(outFile).size, sha256: sha256Hex(bytes) });
  }

  const config = readFileSync(join(ROOT, RELEASED_CONFIG_SOURCE));
  writeFileSync(join(outDir, RELEASED_CONFIG_NAME), config);
  results.push({ name: RELEASED_CONFIG_NAME, bytes: config.length, sha256: sha256Hex(config) });

  // Written last and atomically: its presence means every listed file is complete.
  const tmp = `${checksumsPath}.tmp`;
  writeFileSync(tmp, results.map((r) => checksumLine(r.sha256, r.name)).join(''));
  renameSync(tmp, checksumsPath);

  console.log('');
  for (const r of results) {
    const size = r.bytes >= 1024 * 1024 ? `${(r.bytes / 1024 / 1024).toFixed(1)} MiB` : `${(r.bytes / 1024).toFixed(1)} KiB`;
    console.log(`${r.sha256}  ${size.padStart(10)}  ${relative(ROOT, join(outDir, r.name))}`);
  }
  console.log(`checksums: ${relative(ROOT, checksumsPath)}`);
}

/** git in the repository root; undefined when git is missing or this is not a checkout. */
const git: GitRunner = (args) => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
};

try {
  main();
} catch (error) {
  console.error(`build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
