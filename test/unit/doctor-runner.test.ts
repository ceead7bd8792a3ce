import { parseArgs } from '../../src/cli/args.ts';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exitStatus, formatReport } from '../../src/doctor/format.ts';
import { nodeFs } from '../../src/doctor/nodeFs.ts';
import type { DoctorOptions } from '../../src/doctor/options.ts';
import { runChecks, type RunnerInput } from '../../src/doctor/runner.ts';
import type { CheckResult } from '../../src/doctor/types.ts';
import { parseImage } from '../../src/kubelet/image.ts';
import { silentLogger } from '../../src/silentLogger.ts';
import { createFetchTransport, type Transport } from '../../src/net/http.ts';
import { systemClock } from '../../src/runtime.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';

/** The runner over a fake node (process table, bin dir, kubelet config) and the in-process emulator. */
const BIN = '/etc/kubernetes/credential-provider/bin';
const CONFIG = '/etc/kubernetes/credential-provider/config.yaml';
const RELEASED = readFileSync(join(import.meta.dir, '../../deploy/credential-provider-config.yaml'), 'utf8');

let emulator: Emulator;
let root: string;
beforeAll(async () => {
  emulator = await startEmulator();
  root = mkdtempSync(join(tmpdir(), 'cpo-doctor-run-'));
  const put = (path: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), mode);
  };
  put('/proc/4242/cmdline', ['/usr/bin/kubelet', `--image-credential-provider-bin-dir=${BIN}`, '--image-credential-provider-config', CONFIG, ''].join('\0'));
  put(`${BIN}/credential-provider-oke`, '#!/bin/sh\n', 0o755);
  put('/proc/4242/exe', '#!/bin/sh\necho "Kubernetes v1.34.0"\n', 0o755);
  // The released matchImages plus the emulator's registry, which is what the image names.
  put(CONFIG, RELEASED.replace('      - "*.ocir.io"\n', `      - "*.ocir.io"\n      - "${emulator.registryHost}"\n`));
});
afterAll(async () => {
  await emulator.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.clearFaults();
  emulator.setPolicy(() => true);
});

const options: DoctorOptions = { root: '/', procDir: undefined, binDir: undefined, kubeletConfig: undefined, providerName: 'credential-provider-oke' };
/** Loopback only: a request elsewhere (the default fra.ocir.io) fails as a connection error, and is recorded. */
const elsewhere: string[] = [];
const loopbackOnly: Transport = (request, signal) => {
  if (request.url.hostname === '127.0.0.1') return createFetchTransport({})(request, signal);
  elsewhere.push(request.url.host);
  return Promise.reject(new Error('not loopback'));
};
function input(over: Partial<RunnerInput> = {}): RunnerInput {
  return {
    options: { ...options, root },
    image: parseImage(`${emulator.registryHost}/${emulator.namespace}/app`),
    cliConfigPath: undefined,
    configPathOf: (args) => parseArgs(args).configPath,
    fs: nodeFs(root),
    env: emulator.env(),
    clock: systemClock,
    files: { readText: (path) => Promise.resolve(readFileSync(path, 'utf8')) },
    transportFor: () => loopbackOnly,
    homeDir: undefined,
    log: silentLogger,
    runVersion: (nodePath) => new Promise((resolve, reject) => execFile(join(root, nodePath), ['--version'], (error, stdout) => (error === null ? resolve(stdout) : reject(new Error(error.message))))),
    ...over,
  };
}
const statuses = (results: readonly CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r.status]));

describe('runChecks', () => {
  test('a healthy node with an image: every check passes, in dependency order', async () => {
    const results = await runChecks(input());
    expect(results.map((r) => r.name)).toEqual(['kubelet flags', 'executable', 'kubelet config', 'kubelet version', 'provider settings', 'IMDS', 'matchImages', 'identity', 'docker token', 'repository access']);
    expect(results.filter((r) => r.status !== 'pass')).toEqual([]);
    expect(exitStatus(results)).toBe(0);
    const report = formatReport(results);
    expect(report).not.toContain(emulator.lastDockerToken!);
    expect(report).not.toContain('ST$');
  });

  test('IMDS down: it fails, the identity and what needs it are skipped, the local checks still run', async () => {
    emulator.inject('imds', { status: 401 }, 100);
    const results = await runChecks(input());
    expect(statuses(results)).toEqual({
      'kubelet flags': 'pass',
      executable: 'pass',
      'kubelet config': 'pass',
      'kubelet version': 'pass',
      'provider settings': 'pass',
      IMDS: 'fail',
      matchImages: 'pass',
      identity: 'skip',
      'docker token': 'skip',
      'repository access': 'skip',
    });
    expect(results.find((r) => r.name === 'identity')?.detail).toBe('skipped: federation needs IMDS');
    expect(exitStatus(results)).toBe(1);
  });

  test("without an image, the token is asked from the node region's registry and the access check is skipped", async () => {
    elsewhere.length = 0;
    const results = await runChecks(input({ image: undefined }));
    expect(elsewhere).toContain('fra.ocir.io');
    const token = results.find((r) => r.name === 'docker token');
    expect(token?.status).toBe('fail');
    expect(token?.detail).toContain('host=fra.ocir.io');
    expect(results.find((r) => r.name === 'repository access')?.status).toBe('skip');
  });

  test('explicit paths win over the kubelet flags, which win over the install defaults', async () => {
    const results = await runChecks(input({ options: { ...options, root, binDir: '/opt/bin', kubeletConfig: '/opt/config.yaml' } }));
    expect(results.find((r) => r.name === 'executable')?.detail).toBe('the bin dir /opt/bin does not exist');
    expect(results.find((r) => r.name === 'kubelet config')?.detail).toBe('/opt/config.yaml does not exist');
    const noKubelet = await runChecks(input({ options: { ...options, root, procDir: '/empty' } }));
    expect(noKubelet.find((r) => r.name === 'kubelet flags')?.status).toBe('fail');
    // Without a kubelet, the install defaults: where this fake node has its files.
    expect(noKubelet.find((r) => r.name === 'executable')?.status).toBe('pass');
  });

  test('invalid settings skip every network check', async () => {
    const results = await runChecks(input({ env: { ...emulator.env(), REGISTRY_PROTOCOL: 'ftp' } }));
    expect(statuses(results)).toMatchObject({ 'provider settings': 'fail', IMDS: 'skip', identity: 'skip', 'docker token': 'skip', 'repository access': 'skip' });
  });
});

describe('formatReport', () => {
  const results: CheckResult[] = [
    { name: 'IMDS', status: 'pass', detail: 'answered' },
    { name: 'docker token', status: 'fail', detail: 'refused Bearer abc.def', fix: 'check the clock' },
    { name: 'matchImages', status: 'warn', detail: 'partly', fix: 'add hosts' },
    { name: 'repository access', status: 'skip', detail: 'skipped: no image', fix: 'never shown' },
  ];
  test('one line per check with its mark, the fix under failures and warnings, then the counts', () => {
    expect(formatReport(results)).toBe(
      [
        'PASS  IMDS               answered',
        'FAIL  docker token       refused [redacted]',
        '                         fix: check the clock',
        'WARN  matchImages        partly',
        '                         fix: add hosts',
        'SKIP  repository access  skipped: no image',
        '1 passed, 1 warned, 1 failed, 1 skipped',
        '',
      ].join('\n'),
    );
  });
  test('the exit status is 1 only when something failed', () => {
    expect(exitStatus(results)).toBe(1);
    expect(exitStatus(results.filter((r) => r.status !== 'fail'))).toBe(0);
  });
});
