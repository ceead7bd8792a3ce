/**
 * `npm run bench`: the shipped executable against the local OCI emulator, as the kubelet would run
 * it at node start: N concurrent execs for N different repositories of one registry, first on a cold
 * cache (nothing on disk), then warm (the same cache). Reports valid responses, wall time per exec
 * (spawn to exit) p50/p95/max, upstream calls per round, and the peak RSS of one exec.
 *
 * Then the floor, measured in the same run: a hello world (one `fs.writeSync(1, …)`) compiled by the
 * same pinned Bun with the same flags, timed interleaved with a warm exec and `--version` so machine
 * noise hits all three alike (every row runs a fresh copy of the executable, see `freshCopy`), and the
 * ratios the project aims at (warm exec ≤ 1.5x hello, `--version` ≤ 1.25x hello, the slowest exec of
 * a cold burst of 64 ≤ 2.5x its CPU floor, 64 × warm exec / cores timed right after that burst; the
 * median of five bursts). A warm exec is the warm answer (src/provider/warmAnswer.ts); a row with
 * a new environment each round times the full path beside it.
 * With valgrind installed, also instructions per exec (callgrind, main thread, repeatable where
 * times are not). Oracle's Go plugin is not built here (its module cannot be fetched offline): its
 * figures in the README are quoted, not measured.
 * Not a test: numbers go in the README, nothing here asserts a time.
 *
 *   npm run build && npm run bench            # PROVIDER_BIN overrides the executable
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { COMPILE_FLAGS } from './lib/targets.ts';
import { startEmulator, type Emulator } from '../test/emulator/index.ts';
import { validateKubeletResponse } from '../test/support/kubeletResponse.ts';
import { kubeletRequest } from '../test/support/runProvider.ts';

const ROOT = resolve(import.meta.dir, '..');
const BIN = resolve(ROOT, process.env.PROVIDER_BIN ?? 'dist/credential-provider-oke-linux-amd64');
const SIZES = [1, 8, 32, 64];
const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const MIN_SAMPLES = 32;
const GNU_TIME = '/usr/bin/time';

if (!existsSync(BIN)) {
  console.error(`no executable at ${BIN}: run npm run build first`);
  process.exit(1);
}

interface Exec {
  readonly ms: number;
  readonly valid: boolean;
}

async function exec(emulator: Emulator, cacheDir: string, repo: string): Promise<Exec> {
  const started = performance.now();
  const child = Bun.spawn([EXE], {
    env: { PATH: '/usr/bin:/bin', ...emulator.env(), CREDENTIAL_CACHE_DIR: cacheDir },
    stdin: new TextEncoder().encode(kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/${repo}`)),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, status] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  const ms = performance.now() - started;
  return { ms, valid: status === 0 && validateKubeletResponse(stdout, V1).ok };
}

/** Peak RSS of one sequential exec as GNU time reports it (maximum resident set, including the executable's shared pages). */
async function peakRssKiB(emulator: Emulator, cacheDir: string): Promise<string> {
  if (!existsSync(GNU_TIME)) return 'n/a (no /usr/bin/time)';
  const child = Bun.spawn([GNU_TIME, '-f', '%M', EXE], {
    env: { PATH: '/usr/bin:/bin', ...emulator.env(), CREDENTIAL_CACHE_DIR: cacheDir },
    stdin: new TextEncoder().encode(kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/rss`)),
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const [stderr] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  const kib = Number(stderr.trim().split('\n').at(-1));
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : 'n/a';
}

const ENDPOINTS = ['imds.region', 'imds.regionInfo', 'imds.cert', 'imds.key', 'imds.intermediate', 'auth.x509', 'ocir.token', 'ocir.manifest'] as const;

function upstream(emulator: Emulator): string {
  const imds = ENDPOINTS.filter((e) => e.startsWith('imds')).reduce((n, e) => n + emulator.calls(e), 0);
  return `IMDS ${imds}, auth ${emulator.calls('auth.x509')}, token ${emulator.calls('ocir.token')}`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function round(emulator: Emulator, cacheDir: string, n: number): Promise<{ execs: Exec[]; calls: string }> {
  emulator.resetCalls();
  const execs = await Promise.all(Array.from({ length: n }, (_, i) => exec(emulator, cacheDir, `app${i}`)));
  return { execs, calls: upstream(emulator) };
}

/** Builds the hello world with the Bun running this script (the pinned one, through npm run) and the release flags. */
function buildHello(dir: string): string {
  const source = join(dir, 'hello.ts');
  const out = join(dir, 'hello');
  writeFileSync(source, "import { writeSync } from 'node:fs';\nwriteSync(1, 'hello world\\n');\n");
  execFileSync(process.execPath, ['build', ...COMPILE_FLAGS, '--outfile', out, source], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

/** Wall time of one exec, spawn to exit, with `stdin` as its input; fails loudly if it did not answer. */
async function timeOnce(argv: string[], env: Record<string, string>, stdin: Uint8Array | undefined, check: (stdout: string) => boolean): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn(argv, { env, stdin: stdin ?? 'ignore', stdout: 'pipe', stderr: 'ignore' });
  const [stdout, status] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  const ms = performance.now() - started;
  if (status !== 0 || !check(stdout)) throw new Error(`${argv.join(' ')} did not answer (exit ${status})`);
  return ms;
}

/**
 * A copy of `executable` in `dir`, just written. How a run of an executable goes depends on how its
 * file sits in the page cache: one binary measured 28 MiB of peak RSS, and 31 MiB as a byte-identical
 * copy; a hello world built in an earlier session started in 5.9 ms, the same bytes freshly written
 * in 4.7-5.3 ms. The hello world is built in this run, so the executable set against it is a fresh
 * copy too, written the same way a moment apart: the floor's figures compare the programs, not their files' ages.
 */
function freshCopy(executable: string, dir: string, name: string): string {
  const copy = join(dir, name);
  copyFileSync(executable, copy);
  chmodSync(copy, 0o755);
  return copy;
}

/** Peak RSS in KiB of one exec (GNU time %M), median of 5, measured on a fresh copy (see `freshCopy`). */
function peakRss(argv: string[], env: Record<string, string>, stdin: Uint8Array | undefined): number | undefined {
  if (!existsSync(GNU_TIME)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cpo-bench-rss-'));
  try {
    const copy = freshCopy(argv[0] as string, dir, 'exe');
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const run = Bun.spawnSync([GNU_TIME, '-f', '%M', copy, ...argv.slice(1)], { env, stdin: stdin ?? 'ignore', stdout: 'ignore', stderr: 'pipe' });
      const kib = Number(run.stderr.toString().trim().split('\n').at(-1));
      if (!Number.isFinite(kib)) return undefined;
      samples.push(kib);
    }
    return samples.sort((a, b) => a - b)[2];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const VALGRIND = ['/usr/bin/valgrind', '/usr/local/bin/valgrind'].find((path) => existsSync(path));

/**
 * Instructions of one exec under callgrind: the main thread (where start-up and our code run; the
 * runtime's helper threads vary with timing) and all threads. Median of `runs`.
 */
function instructions(argv: string[], env: Record<string, string>, stdin: Uint8Array | undefined, runs: number): { main: number; all: number } | undefined {
  if (VALGRIND === undefined) return undefined;
  const samples: { main: number; all: number }[] = [];
  // One more run, discarded: valgrind adds variables to the environment, and a warm answer is kept
  // per environment, so the first run under valgrind takes the full path and keeps one.
  for (let i = 0; i <= runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'cpo-bench-cg-'));
    try {
      const run = Bun.spawnSync([VALGRIND, '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'cg')}`, ...argv], {
        env,
        stdin: stdin ?? 'ignore',
        stdout: 'ignore',
        stderr: 'ignore',
      });
      if (run.exitCode !== 0) return undefined;
      // One file per thread, cg-01 being the main thread.
      const counts = readdirSync(dir)
        .filter((name) => /^cg-\d+$/.test(name))
        .sort()
        .map((name) => Number(/^summary: (\d+)$/m.exec(readFileSync(join(dir, name), 'utf8'))?.[1] ?? NaN));
      if (counts.length === 0 || counts.some((n) => !Number.isFinite(n))) return undefined;
      if (i > 0) samples.push({ main: counts[0] as number, all: counts.reduce((a, b) => a + b, 0) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;
  return { main: median(samples.map((x) => x.main)), all: median(samples.map((x) => x.all)) };
}

const FLOOR_ROUNDS = 80;
const CALLGRIND_RUNS = 3;
const BURST = 64;
const BURST_ROUNDS = 5;
/** Warm execs timed one after another right after each burst, for that burst's CPU floor. */
const BURST_FLOOR_EXECS = 16;

// Every row runs one fresh copy of the executable, written beside the hello world a moment after it
// is built (see `freshCopy`).
const WORK_DIR = mkdtempSync(join(tmpdir(), 'cpo-bench-hello-'));
const HELLO = buildHello(WORK_DIR);
const EXE = freshCopy(BIN, WORK_DIR, 'credential-provider-oke');
const emulator = await startEmulator();
const rows: string[] = [];
try {
  // One warm-up exec so the page cache holds the executable, as on a node that has run it before.
  const warmup = mkdtempSync(join(tmpdir(), 'cpo-bench-'));
  await exec(emulator, warmup, 'warmup');
  rmSync(warmup, { recursive: true, force: true });
  for (const n of SIZES) {
    const cacheDir = join(mkdtempSync(join(tmpdir(), 'cpo-bench-')), 'cache');
    for (const phase of ['cold', 'warm'] as const) {
      // Warm rounds repeat until there are at least MIN_SAMPLES execs, so small N gets a real median.
      const rounds = phase === 'cold' ? 1 : Math.ceil(MIN_SAMPLES / n);
      const results = [];
      for (let r = 0; r < rounds; r++) results.push(await round(emulator, cacheDir, n));
      const execs = results.flatMap((x) => x.execs);
      const calls = [...new Set(results.map((x) => x.calls))].join(' / ');
      const times = execs.map((e) => e.ms).sort((a, b) => a - b);
      const valid = execs.filter((e) => e.valid).length;
      rows.push(
        `| ${n} | ${phase} | ${valid}/${execs.length} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 95).toFixed(1)} | ${times.at(-1)!.toFixed(1)} | ${calls}${rounds > 1 ? ` (each of ${rounds} rounds)` : ''} |`,
      );
    }
    rmSync(join(cacheDir, '..'), { recursive: true, force: true });
  }
  // One cold burst's slowest exec swings by a third from run to run on a shared machine (who gets
  // the CPU while the federating process generates its key): the ratio takes the median of several.
  // Each burst's floor (BURST x warm exec / cores) is timed right after it, on its own cache: the
  // machine's speed drifts over a run (a hello world took 5.5 ms in one part of a run, 7.5 in another),
  // and a floor timed minutes later compared the burst with another machine.
  const cores = availableParallelism();
  const bursts: { readonly maxMs: number; readonly floorMs: number }[] = [];
  for (let r = 0; r < BURST_ROUNDS; r++) {
    const cacheDir = join(mkdtempSync(join(tmpdir(), 'cpo-bench-')), 'cache');
    const { execs } = await round(emulator, cacheDir, BURST);
    if (execs.some((e) => !e.valid)) throw new Error(`a cold burst of ${BURST} had an invalid answer`);
    // Nothing traded for speed: still one federation and one docker token per burst.
    if (emulator.calls('auth.x509') !== 1 || emulator.calls('ocir.token') !== 1) throw new Error(`a cold burst of ${BURST}: ${upstream(emulator)}, not one each`);
    const warmMs: number[] = [];
    for (let i = 0; i < BURST_FLOOR_EXECS; i++) warmMs.push((await exec(emulator, cacheDir, `app${i}`)).ms);
    bursts.push({ maxMs: Math.max(...execs.map((e) => e.ms)), floorMs: (BURST * percentile(warmMs.sort((a, b) => a - b), 50)) / cores });
    rmSync(join(cacheDir, '..'), { recursive: true, force: true });
  }
  bursts.sort((a, b) => a.maxMs / a.floorMs - b.maxMs / b.floorMs);
  const burst = bursts[Math.floor(bursts.length / 2)] as { readonly maxMs: number; readonly floorMs: number };
  console.log(`Executable: ${BIN}`);
  console.log('| N concurrent | cache | valid | p50 ms | p95 ms | max ms | upstream calls per round |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  const rssDir = join(mkdtempSync(join(tmpdir(), 'cpo-bench-')), 'cache');
  const cold = await peakRssKiB(emulator, rssDir);
  const warm = await peakRssKiB(emulator, rssDir);
  console.log(`\nPeak RSS of one exec (GNU time %M): ${warm} answered from the cache, ${cold} when it federates.`);
  rmSync(join(rssDir, '..'), { recursive: true, force: true });

  // The floor, side by side: hello, --version and a warm exec, interleaved.
  const floorCache = join(mkdtempSync(join(tmpdir(), 'cpo-bench-')), 'cache');
  try {
    const bare = { PATH: '/usr/bin:/bin' };
    const pluginEnv = { ...bare, ...emulator.env(), CREDENTIAL_CACHE_DIR: floorCache };
    const request = new TextEncoder().encode(kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/floor`));
    const isResponse = (stdout: string): boolean => validateKubeletResponse(stdout, V1).ok;
    await timeOnce([EXE], pluginEnv, request, isResponse); // fills the cache
    const times = { hello: [] as number[], version: [] as number[], warm: [] as number[], full: [] as number[] };
    for (let i = 0; i < FLOOR_ROUNDS; i++) {
      times.hello.push(await timeOnce([HELLO], bare, undefined, (out) => out === 'hello world\n'));
      times.version.push(await timeOnce([EXE, '--version'], bare, undefined, (out) => out.startsWith('credential-provider-oke ')));
      times.warm.push(await timeOnce([EXE], pluginEnv, request, isResponse));
      // A new environment each time: no answer kept for it, so the full path runs (docker token from the cache) and keeps one.
      times.full.push(await timeOnce([EXE], { ...pluginEnv, BENCH_ROUND: String(i) }, request, isResponse));
    }
    const p50 = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
    const [helloMs, versionMs, warmMs, fullMs] = [p50(times.hello), p50(times.version), p50(times.warm), p50(times.full)];
    const mib = (kib: number | undefined): string => (kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`);
    const rss = { hello: peakRss([HELLO], bare, undefined), warm: peakRss([EXE], pluginEnv, request) };
    const ir = {
      hello: instructions([HELLO], bare, undefined, CALLGRIND_RUNS),
      version: instructions([EXE, '--version'], bare, undefined, CALLGRIND_RUNS),
      warm: instructions([EXE], pluginEnv, request, CALLGRIND_RUNS),
    };
    const mega = (x: { main: number; all: number } | undefined): string => (x === undefined ? 'n/a (no valgrind)' : `${(x.main / 1e6).toFixed(1)} M (all threads ${(x.all / 1e6).toFixed(1)} M)`);
    const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
    const size = (path: string): string => `${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB`;
    console.log(`\nAgainst the floor, in this run (${FLOOR_ROUNDS} interleaved rounds, p50; ${cores} cores):`);
    console.log('| Figure | This executable | Floor | Ratio | Goal |');
    console.log('|---|---|---|---|---|');
    console.log(`| warm exec, p50 | ${warmMs.toFixed(1)} ms | compiled hello ${helloMs.toFixed(1)} ms | ${ratio(warmMs, helloMs)} | ≤ 1.5x |`);
    console.log(`| warm exec through the full path (environment changed since the answer was kept), p50 | ${fullMs.toFixed(1)} ms | compiled hello ${helloMs.toFixed(1)} ms | ${ratio(fullMs, helloMs)} | |`);
    console.log(`| \`--version\`, p50 | ${versionMs.toFixed(1)} ms | compiled hello ${helloMs.toFixed(1)} ms | ${ratio(versionMs, helloMs)} | ≤ 1.25x |`);
    const burstRatios = bursts.map((b) => ratio(b.maxMs, b.floorMs)).join(', ');
    console.log(
      `| cold burst of ${BURST}, slowest exec (median of ${BURST_ROUNDS} bursts by ratio: ${burstRatios}; each against ${BURST} × warm exec / ${cores} cores timed right after it) | ${burst.maxMs.toFixed(0)} ms | ${burst.floorMs.toFixed(0)} ms | ${ratio(burst.maxMs, burst.floorMs)} | ≤ 2.5x |`,
    );
    console.log(`| peak RSS, warm exec | ${mib(rss.warm)} | hello ${mib(rss.hello)} | ${rss.warm !== undefined && rss.hello !== undefined ? ratio(rss.warm, rss.hello) : 'n/a'} | no worse |`);
    console.log(`| instructions, warm exec | ${mega(ir.warm)} | hello ${mega(ir.hello)} | ${ir.warm && ir.hello ? ratio(ir.warm.main, ir.hello.main) : 'n/a'} | lower |`);
    console.log(`| instructions, \`--version\` | ${mega(ir.version)} | hello ${mega(ir.hello)} | ${ir.version && ir.hello ? ratio(ir.version.main, ir.hello.main) : 'n/a'} | lower |`);
    console.log(`| executable size | ${size(BIN)} | hello ${size(HELLO)} | ${ratio(statSync(BIN).size, statSync(HELLO).size)} | |`);
  } finally {
    rmSync(join(floorCache, '..'), { recursive: true, force: true });
  }
} finally {
  await emulator.stop();
  rmSync(WORK_DIR, { recursive: true, force: true });
}
