import { describe, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emulatorForFile } from '../support/emulatorForFile.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider, type ProviderRun } from '../support/runProvider.ts';

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
