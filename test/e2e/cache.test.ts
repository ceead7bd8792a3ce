import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, lineFrom, providerCommand, runProvider, startProvider, type ProviderRun } from '../support/runProvider.ts';

/**
 * A burst of pulls costs one federation: many provider processes share the on-disk cache and wait
 * for the one refreshing, instead of each calling OCI (the original plugin's losers exited with no
 * credentials).
 */
const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const IMDS = ['imds.region', 'imds.regionInfo', 'imds.cert', 'imds.key', 'imds.intermediate'] as const;

let emulator: Emulator;
let cacheDir: string;
const imdsCalls = () => IMDS.reduce((n, e) => n + emulator.calls(e), 0);
const upstreamCalls = () => imdsCalls() + emulator.calls('auth.x509') + emulator.calls('ocir.token') + emulator.calls('ocir.manifest');

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.stop();
});
beforeEach(() => {
  cacheDir = join(mkdtempSync(join(tmpdir(), 'cpo-shared-')), 'cache');
  emulator.clearFaults();
  emulator.allowAll();
  emulator.resetCalls();
});

function run(repo: string, env: Record<string, string> = {}): Promise<ProviderRun> {
  return runProvider({
    env: { ...emulator.env(), CREDENTIAL_CACHE_DIR: cacheDir, ...env },
    stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/${repo}`),
  });
}

function expectValid(result: ProviderRun): void {
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const verdict = validateKubeletResponse(result.stdout, V1);
  if (!verdict.ok) throw new Error(verdict.reason);
}

test('64 concurrent execs for 64 repositories on a cold cache: all valid, 1 federation, 1 token call', async () => {
  const wave = () => Promise.all(Array.from({ length: 64 }, (_, i) => run(`app${i}`)));
  const first = await wave();
  for (const result of first) expectValid(result);
  expect(emulator.calls('auth.x509')).toBe(1);
  expect(emulator.calls('ocir.token')).toBe(1);
  expect(imdsCalls()).toBeLessThanOrEqual(4);
  const passwords = new Set(first.map((r) => (JSON.parse(r.stdout) as { auth: Record<string, { password: string }> }).auth[emulator.registryHost]!.password));
  expect(passwords.size).toBe(1);

  emulator.resetCalls();
  const second = await wave();
  for (const result of second) expectValid(result);
  expect(upstreamCalls()).toBe(0);
  // The cache holds private files only.
  expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
  for (const name of readdirSync(cacheDir)) expect(statSync(join(cacheDir, name)).mode & 0o077).toBe(0);
}, 120_000);

test('token validation is not repeated once a token has read the repository', async () => {
  expectValid(await run('app', { TOKEN_VALIDATION: 'enabled' }));
  expectValid(await run('app', { TOKEN_VALIDATION: 'enabled' }));
  expect(emulator.calls('ocir.manifest')).toBe(1);
  expectValid(await run('other', { TOKEN_VALIDATION: 'enabled' }));
  expect(emulator.calls('ocir.manifest')).toBe(2);
});

test('a lock holder killed with SIGKILL mid-federation does not stop the others', async () => {
  emulator.inject('auth.x509', { hang: true }, 1);
  const { command, prefix } = providerCommand();
  const holderEnv = { PATH: '/usr/bin:/bin', ...emulator.env(), CREDENTIAL_CACHE_DIR: cacheDir };
  const holder = spawn(command, prefix, {
    env: holderEnv,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  holder.stdin.end(kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`));
  // Wait until it holds the session lock and hangs in federation.
  await emulator.whenCalls(1, 'auth.x509');
  expect(emulator.calls('auth.x509')).toBe(1);
  // Then until every other exec waits on that lock, as they say at debug level; then the holder dies.
  const others = Array.from({ length: 8 }, (_, i) =>
    startProvider({ ...emulator.env(), CREDENTIAL_CACHE_DIR: cacheDir, LOG_LEVEL: 'debug' }, kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app${i}`)),
  );
  await Promise.all(others.map((o) => lineFrom(o.stderr, (line) => line.includes('waiting for cache lock'))));
  holder.kill('SIGKILL');
  for (const result of await Promise.all(others.map((o) => o.done))) {
    expect(result.status).toBe(0);
    expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
    expect(result.stderr).not.toContain(' warn ');
  }
  expect(emulator.calls('auth.x509')).toBe(2);
  // The killed exec also led the answer for its own environment: the next exec with it takes that lead over.
  expect(readdirSync(cacheDir).filter((n) => n.endsWith('.lock'))).toEqual([expect.stringMatching(/^answer-/)]);
  expectValid(await startProvider(holderEnv, kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`)).done);
  expect(emulator.calls('auth.x509')).toBe(2);
  expect(readdirSync(cacheDir).filter((n) => n.endsWith('.lock'))).toEqual([]);
}, 60_000);

describe('a damaged cache is ignored and replaced, never trusted', () => {
  test('corrupted, truncated and foreign entries', async () => {
    expectValid(await run('app'));
    const entries = readdirSync(cacheDir).filter((n) => n.endsWith('.json') || !n.includes('.'));
    expect(entries.length).toBeGreaterThan(0);
    const damage = ['{"v":1,"kind":"session"', 'not json', JSON.stringify({ v: 99, kind: 'docker' }), ''];
    entries.forEach((name, i) => writeFileSync(join(cacheDir, name), damage[i % damage.length]!, { mode: 0o600 }));
    emulator.resetCalls();
    expectValid(await run('app'));
    expect(emulator.calls('ocir.token')).toBe(1);
    emulator.resetCalls();
    expectValid(await run('app'));
    expect(upstreamCalls()).toBe(0);
  });

  test('a world-readable entry is not trusted', async () => {
    expectValid(await run('app'));
    for (const name of readdirSync(cacheDir)) chmodSync(join(cacheDir, name), 0o644);
    emulator.resetCalls();
    expectValid(await run('app'));
    expect(emulator.calls('ocir.token')).toBe(1);
  });
});

test('a cache directory that cannot be used: the provider still works without it', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cpo-notdir-')), 'file');
  writeFileSync(file, 'x');
  const result = await runProvider({ env: { ...emulator.env(), CREDENTIAL_CACHE_DIR: join(file, 'cache') }, stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`) });
  expect(result.status).toBe(0);
  expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
  // One warning that names the directory and says the pull goes on.
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(` warn credential cache directory ${join(file, 'cache')} cannot be created`);
  expect(lines[0]).toEndWith('; carrying on without it');
  expect(existsSync(join(file, 'cache'))).toBe(false);
});

test('a session token expiring between two execs is renewed; a fresh docker token is reused meanwhile', async () => {
  // 6 s session tokens are refreshed after 3 s (half their life); 60 s docker tokens stay fresh for
  // 30 s. The emulator's clock runs 3.5 s behind: every session it issues is due for renewal at once,
  // while its docker tokens are fresh. No waiting for time to pass.
  const shortLived = await startEmulator({ sessionTokenLifetimeSeconds: 6, dockerTokenLifetimeSeconds: 60, now: () => Date.now() - 3_500 });
  try {
    const env = { ...shortLived.env(), CREDENTIAL_CACHE_DIR: cacheDir };
    const req = (registry: string) => kubeletRequest(`${registry}/${shortLived.namespace}/app`);
    expectValid(await runProvider({ env, stdin: req(shortLived.registryHost) }));
    // The docker token is still fresh: it is served without touching the stale session.
    expectValid(await runProvider({ env, stdin: req(shortLived.registryHost) }));
    expect(shortLived.calls('auth.x509')).toBe(1);
    expect(shortLived.calls('ocir.token')).toBe(1);
    // A second registry needs a new docker token, and so a session: the stale one is renewed, not reused.
    const other = `localhost:${shortLived.registryHost.split(':')[1]}`;
    const result = await runProvider({ env: { ...env, REGISTRY_HOSTS: `${shortLived.registryHost},${other}` }, stdin: req(other) });
    expectValid(result);
    expect(shortLived.calls('auth.x509')).toBe(2);
    expect(shortLived.calls('ocir.token')).toBe(2);
  } finally {
    await shortLived.stop();
  }
}, 20_000); // an emulator and three execs: more than bun's 5 s default on a loaded machine

test('certificate rotation between federations: the next federation uses the new certificate', async () => {
  expectValid(await run('app'));
  emulator.rotateCertificate();
  rmSync(cacheDir, { recursive: true, force: true });
  expectValid(await run('app'));
  expect(emulator.calls('auth.x509')).toBe(2);
});
