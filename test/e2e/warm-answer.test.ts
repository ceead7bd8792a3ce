import { describe, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { following, gate } from '../support/burst.ts';
import { emulatorForFile } from '../support/emulatorForFile.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { expectOneLineFailure, kubeletRequest, lineFrom, runProvider, startProvider, type ProviderRun, type Started } from '../support/runProvider.ts';
import { settingsFromEnv } from '../../src/config/load.ts';
import { mayKeepAnswers } from '../../src/provider/warmAnswer.ts';

/**
 * The warm answer, seen from outside: the executable run as the kubelet runs it. What tells a warm
 * answer from the full path is what each reads: the warm answer never reads the instance's session,
 * so with that entry spoiled, an exec that makes no call to the auth service was answered warm, and
 * one that federates ran the full path.
 */
const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const setup = emulatorForFile('cpo-warm-');

let count = 0;
function cacheDir(): string {
  const dir = join(setup.tmp, `${++count}-cache`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

const exec = (env: Record<string, string>, repo = 'app'): Promise<ProviderRun> =>
  runProvider({ env: { ...setup.emulator.env(), ...env }, stdin: kubeletRequest(`${setup.emulator.registryHost}/${setup.emulator.namespace}/${repo}`) });

function password(result: ProviderRun): string {
  expect(result.status).toBe(0);
  const verdict = validateKubeletResponse(result.stdout, V1);
  if (!verdict.ok) throw new Error(verdict.reason);
  return (JSON.parse(result.stdout) as { auth: Record<string, { password: string }> }).auth[setup.emulator.registryHost]!.password;
}

/** Replaces every session entry with one that no codec accepts, as the owner would have written it (0600). */
function spoilSessions(dir: string): void {
  const sessions = readdirSync(dir).filter((name) => name.startsWith('session-'));
  expect(sessions.length).toBeGreaterThan(0);
  for (const name of sessions) writeFileSync(join(dir, name), '{"v":2,"key":[],"value":null}', { mode: 0o600 });
}

describe('a warm exec is answered as the last one was, until something that decided it changes', () => {
  test('same environment, another repository of the registry: answered warm, without the session, no call', async () => {
    const dir = cacheDir();
    const first = password(await exec({ CREDENTIAL_CACHE_DIR: dir }));
    expect(readdirSync(dir).filter((name) => name.startsWith('answer-'))).toHaveLength(1);
    spoilSessions(dir);
    setup.emulator.resetCalls();
    expect(password(await exec({ CREDENTIAL_CACHE_DIR: dir }, 'other/repo'))).toBe(first);
    expect(setup.emulator.calls('auth.x509')).toBe(0);
    expect(setup.emulator.calls('imds.cert')).toBe(0);
  });

  test('one more variable in the environment: the full path runs (and federates, the session being spoiled)', async () => {
    const dir = cacheDir();
    password(await exec({ CREDENTIAL_CACHE_DIR: dir }));
    spoilSessions(dir);
    setup.emulator.resetCalls();
    const result = await exec({ CREDENTIAL_CACHE_DIR: dir, SOMETHING_ELSE: '1' });
    password(result);
    expect(setup.emulator.calls('auth.x509')).toBe(1);
    // And that exec's answer is kept for its own environment.
    setup.emulator.resetCalls();
    spoilSessions(dir);
    password(await exec({ CREDENTIAL_CACHE_DIR: dir, SOMETHING_ELSE: '1' }));
    expect(setup.emulator.calls('auth.x509')).toBe(0);
  });

  test('an exec that logs is never answered warm: each one says what it did', async () => {
    const dir = cacheDir();
    for (let i = 0; i < 2; i++) {
      const result = await exec({ CREDENTIAL_CACHE_DIR: dir, LOG_LEVEL: 'info' });
      password(result);
      expect(result.stderr).toContain('credentials issued');
    }
    expect(readdirSync(dir).filter((name) => name.startsWith('answer-'))).toEqual([]);
  });

  test('a spoiled kept answer is a miss: the full path answers and keeps a good one again', async () => {
    const dir = cacheDir();
    const first = password(await exec({ CREDENTIAL_CACHE_DIR: dir }));
    const [answer] = readdirSync(dir).filter((name) => name.startsWith('answer-'));
    writeFileSync(join(dir, answer!), 'not json', { mode: 0o600 });
    expect(password(await exec({ CREDENTIAL_CACHE_DIR: dir }))).toBe(first);
    spoilSessions(dir);
    setup.emulator.resetCalls();
    expect(password(await exec({ CREDENTIAL_CACHE_DIR: dir }))).toBe(first);
    expect(setup.emulator.calls('auth.x509')).toBe(0);
  });
});

describe('a burst is led by one exec: the others wait for it and are answered as it was', () => {
  const image = (repo: string): string => kubeletRequest(`${setup.emulator.registryHost}/${setup.emulator.namespace}/${repo}`);
  const start = (env: Record<string, string>, repo: string): Started => startProvider({ ...setup.emulator.env(), ...env }, image(repo));
  /**
   * A burst with its first exec held by the emulator at `endpoint` until `until` settles: the others
   * are started once it is held there, and returned once each `waits` (by default: follows it).
   */
  const burstHeldAt = async (
    endpoint: 'ocir.token' | 'imds.cert',
    until: Promise<unknown>,
    env: Record<string, string>,
    { waits = following, whileHeld = () => {} }: { waits?: (exec: Started) => Promise<void>; whileHeld?: () => void } = {},
  ) => {
    setup.emulator.inject(endpoint, { until });
    const first = start(env, 'app0');
    await setup.emulator.whenCalls(1, endpoint);
    whileHeld();
    const others = [1, 2, 3].map((i) => start(env, `app${i}`));
    await Promise.all(others.map(waits));
    return { first, others };
  };

  test('the followers are answered warm once the leader has kept its answer: one federation, and none reads the session', async () => {
    const dir = cacheDir();
    const held = gate();
    // The leader has federated and stored its session when it waits for its docker token. A follower
    // that ran the full path would read that session: spoiled, it would federate again.
    const { first: leader, others: followers } = await burstHeldAt('ocir.token', held.until, { CREDENTIAL_CACHE_DIR: dir }, { whileHeld: () => spoilSessions(dir) });
    held.open();
    const passwords = (await Promise.all([leader.done, ...followers.map((f) => f.done)])).map(password);
    expect(new Set(passwords).size).toBe(1);
    expect(setup.emulator.calls('auth.x509')).toBe(1);
    expect(setup.emulator.calls('ocir.token')).toBe(1);
    expect(readdirSync(dir).filter((name) => name.includes('.lock'))).toEqual([]);
  }, 30_000);

  test('execs that log every answer keep none, so none waits for another: each runs in full, and its memo waits for the refresh', async () => {
    const held = gate();
    // Said by the full path's memo only: these execs did not stop at the warm answer to follow the first.
    const waitingInFull = (exec: Started) => lineFrom(exec.stderr, (line) => line.includes('waiting for cache lock'));
    const { first, others } = await burstHeldAt('ocir.token', held.until, { CREDENTIAL_CACHE_DIR: cacheDir(), LOG_LEVEL: 'debug' }, { waits: waitingInFull });
    held.open();
    for (const run of await Promise.all([first.done, ...others.map((o) => o.done)])) {
      password(run);
      expect(run.stderr).toContain('credentials issued');
    }
    expect(setup.emulator.calls('auth.x509')).toBe(1);
    expect(setup.emulator.calls('ocir.token')).toBe(1);
  }, 30_000);

  test('which settings keep an answer is what the full path does', async () => {
    for (const level of ['error', 'warn', 'info', 'debug'] as const) {
      for (const validation of [undefined, 'enabled']) {
        const dir = cacheDir();
        const env = { CREDENTIAL_CACHE_DIR: dir, LOG_LEVEL: level, ...(validation === undefined ? {} : { TOKEN_VALIDATION: validation }) };
        password(await exec(env));
        const kept = readdirSync(dir).some((name) => name.startsWith('answer-'));
        expect({ level, validation, kept }).toEqual({ level, validation, kept: mayKeepAnswers(settingsFromEnv({ ...setup.emulator.env(), ...env })) });
      }
    }
  }, 30_000);

  test('a leader killed mid-exec: a follower takes over, and every one is answered', async () => {
    const dir = cacheDir();
    const { first: leader, others: followers } = await burstHeldAt('ocir.token', new Promise(() => undefined), { CREDENTIAL_CACHE_DIR: dir });
    process.kill(leader.pid, 'SIGKILL');
    expect((await leader.done).signal).toBe('SIGKILL');
    const passwords = (await Promise.all(followers.map((f) => f.done))).map(password);
    expect(new Set(passwords).size).toBe(1);
    // The session the killed leader stored is used; only its docker token had to be fetched again.
    expect(setup.emulator.calls('auth.x509')).toBe(1);
    expect(setup.emulator.calls('ocir.token')).toBe(2);
    expect(readdirSync(dir).filter((name) => name.includes('.lock'))).toEqual([]);
  }, 30_000);

  test('a leader that fails: the followers then run in full and fail the same way, each with its one line', async () => {
    const dir = cacheDir();
    const held = gate();
    setup.emulator.inject('auth.x509', { status: 404 }, 10);
    const { first: leader, others: followers } = await burstHeldAt('imds.cert', held.until, { CREDENTIAL_CACHE_DIR: dir });
    held.open();
    const led = await leader.done;
    expect(led.status).toBe(1);
    const code = /^credential-provider-oke: (ERR_[A-Z_]+): /.exec(led.stderr)?.[1] ?? 'no error code';
    for (const run of await Promise.all(followers.map((f) => f.done))) expectOneLineFailure(run, code);
    expect(readdirSync(dir).filter((name) => name.includes('.lock'))).toEqual([]);
    // The cause gone, the next exec answers.
    setup.emulator.clearFaults();
    password(await exec({ CREDENTIAL_CACHE_DIR: dir }));
  }, 30_000);
});
