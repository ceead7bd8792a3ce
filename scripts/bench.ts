/**
 * `npm run bench`: the shipped executable against the local OCI emulator, as the kubelet would run
 * it at node start: N concurrent execs for N different repositories of one registry, first on a cold
 * cache (nothing on disk), then warm (the same cache). Reports valid responses, wall time per exec
 * (spawn to exit) p50/p95/max, upstream calls per round, and the peak RSS of one exec.
 * Not a test: numbers go in the README, nothing here asserts a time.
 *
 *   npm run build && npm run bench            # PROVIDER_BIN overrides the executable
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
  const child = Bun.spawn([BIN], {
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
  const child = Bun.spawn([GNU_TIME, '-f', '%M', BIN], {
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
  console.log(`Executable: ${BIN}`);
  console.log('| N concurrent | cache | valid | p50 ms | p95 ms | max ms | upstream calls per round |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  const rssDir = join(mkdtempSync(join(tmpdir(), 'cpo-bench-')), 'cache');
  const cold = await peakRssKiB(emulator, rssDir);
  const warm = await peakRssKiB(emulator, rssDir);
  console.log(`\nPeak RSS of one exec (GNU time %M): ${warm} answered from the cache, ${cold} when it federates.`);
  rmSync(join(rssDir, '..'), { recursive: true, force: true });
} finally {
  await emulator.stop();
}
