import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { runProvider, type ProviderRun } from '../support/runProvider.ts';

/**
 * `credential-provider-oke doctor` as an operator runs it, as a separate process, against a fake
 * node (process table, bin dir, kubelet config under --root) and the local OCI emulator.
 */
const BIN = '/etc/kubernetes/credential-provider/bin';
const CONFIG = '/etc/kubernetes/credential-provider/config.yaml';
const BIN_FLAG = '--image-credential-provider-bin-dir';
const CONFIG_FLAG = '--image-credential-provider-config';

let emulator: Emulator;
let root: string;
beforeAll(async () => {
  emulator = await startEmulator();
  root = mkdtempSync(join(tmpdir(), 'cpo-e2e-doctor-'));
  const put = (path: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), mode);
  };
  const cmdline = (...argv: string[]) => `${argv.join('\0')}\0`;
  put('/proc/1/cmdline', cmdline('/sbin/init'));
  put('/proc/812/cmdline', cmdline('/usr/bin/kubelet', '--v=2', `${BIN_FLAG}=${BIN}`, CONFIG_FLAG, CONFIG));
  // /proc/<pid>/exe stands for the running binary; doctor runs it with --version.
  put('/proc/812/exe', '#!/bin/sh\n[ "$1" = --version ] && echo "Kubernetes v1.34.1"\n', 0o755);
  // A 1.32 kubelet given a config with tokenAttributes: it would refuse to start (unknown field).
  put('/proc-132/700/cmdline', cmdline('/usr/bin/kubelet', `${BIN_FLAG}=${BIN}`, `${CONFIG_FLAG}=/etc/wi/config.yaml`));
  put('/proc-132/700/exe', '#!/bin/sh\necho "Kubernetes v1.32.4"\n', 0o755);
  // A kubelet whose binary cannot be run: the version is unknown.
  put('/proc-unknown/701/cmdline', cmdline('/usr/bin/kubelet', `${BIN_FLAG}=${BIN}`, `${CONFIG_FLAG}=${CONFIG}`));
  // A second process table whose kubelet lacks the config flag.
  put('/proc-without-flag/900/cmdline', cmdline('/usr/bin/kubelet', `${BIN_FLAG}=${BIN}`));
  put(`${BIN}/credential-provider-oke`, '#!/bin/sh\n', 0o755);
  const released = readFileSync(join(import.meta.dir, '../../deploy/credential-provider-config.yaml'), 'utf8');
  put(CONFIG, released.replace('      - "*.ocir.io"\n', `      - "*.ocir.io"\n      - "${emulator.registryHost}"\n`));
  put(
    '/etc/wi/config.yaml',
    released.replace('      - "*.ocir.io"\n', `      - "*.ocir.io"\n      - "${emulator.registryHost}"\n`).replace(
      '    defaultCacheDuration:',
      '    tokenAttributes:\n      serviceAccountTokenAudience: oke-workload-identity\n      cacheType: ServiceAccount\n      requireServiceAccount: false\n    defaultCacheDuration:',
    ),
  );
});
afterAll(async () => {
  await emulator.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.clearFaults();
  emulator.allowAll();
});

const image = () => `${emulator.registryHost}/${emulator.namespace}/app`;
function doctor(...args: string[]): Promise<ProviderRun> {
  return runProvider({ args: ['doctor', image(), '--root', root, ...args], env: emulator.env() });
}
/** The report as `name → {status, line}`. */
function report(run: ProviderRun): Map<string, string> {
  const lines = run.stdout.trimEnd().split('\n');
  const checks = new Map<string, string>();
  for (const line of lines) {
    const match = /^(PASS|FAIL|WARN|SKIP) {2}(.+?) {2,}/.exec(line);
    if (match !== null) checks.set(match[2]!.trim(), line);
  }
  return checks;
}
const mark = (run: ProviderRun, name: string) => report(run).get(name)?.slice(0, 4);

describe('doctor', () => {
  test('a healthy node: every check passes, exit 0, no secret on stdout or stderr', async () => {
    const run = await doctor();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const checks = report(run);
    expect([...checks.keys()]).toEqual(['kubelet flags', 'executable', 'kubelet config', 'kubelet version', 'provider settings', 'IMDS', 'matchImages', 'identity', 'docker token', 'repository access']);
    for (const [name, line] of checks) expect(`${name}: ${line.slice(0, 4)}`).toBe(`${name}: PASS`);
    expect(checks.get('kubelet flags')).toContain('kubelet (pid 812) runs with');
    expect(checks.get('identity')).toContain(`tenancy ${emulator.tenancyId}, instance ${emulator.instanceId}`);
    expect(checks.get('kubelet version')).toContain('kubelet v1.34.1 (/proc/812/exe --version) accepts');
    expect(run.stdout).toEndWith('10 passed, 0 warned, 0 failed, 0 skipped\n');
    expect(run.stdout).not.toContain(emulator.lastDockerToken!);
    expect(run.stdout).not.toMatch(/ST\$|eyJ|BEGIN .*PRIVATE KEY/);
  });

  test('a 1.32 kubelet with tokenAttributes in its config: FAIL naming the field, exit 1', async () => {
    const run = await doctor('--proc-dir', '/proc-132');
    expect(run.status).toBe(1);
    const line = report(run).get('kubelet version') ?? '';
    expect(line).toStartWith('FAIL');
    expect(line).toContain('kubelet v1.32.4 (/proc-132/700/exe --version): tokenAttributes is an unknown field before 1.33');
    expect(mark(run, 'kubelet config')).toBe('PASS');
    // tokenAttributes is configured: doctor says what it cannot check (RBAC resourceNames).
    expect(report(run).get('workload identity')).toContain('doctor cannot see RBAC');
  });

  test('a kubelet binary doctor cannot run: the version is a WARN, not a FAIL', async () => {
    const run = await doctor('--proc-dir', '/proc-unknown');
    const line = report(run).get('kubelet version') ?? '';
    expect(line).toStartWith('WARN');
    expect(line).toContain("cannot tell the running kubelet's version (/proc-unknown/701/exe --version failed");
  });

  test('IMDS down: the IMDS check fails, what needs it is skipped, exit 1', async () => {
    emulator.inject('imds', { status: 503 }, 1000);
    const run = await doctor();
    expect(run.status).toBe(1);
    const checks = report(run);
    expect(checks.get('IMDS')).toStartWith('FAIL');
    expect(checks.get('IMDS')).toContain('status=503');
    // The fix goes on the line under the failure.
    expect(run.stdout).toMatch(/FAIL {2}IMDS .*\n {6,}fix: IMDS v2 must be enabled/);
    expect(mark(run, 'identity')).toBe('SKIP');
    expect(mark(run, 'docker token')).toBe('SKIP');
    expect(mark(run, 'repository access')).toBe('SKIP');
    expect(mark(run, 'kubelet config')).toBe('PASS');
  });

  test('policy denied: the repository access check fails naming read repos, exit 1', async () => {
    emulator.denyAll();
    const run = await doctor();
    expect(run.status).toBe(1);
    expect(mark(run, 'docker token')).toBe('PASS');
    expect(report(run).get('repository access')).toContain('the IAM policy "read repos" is missing or not in effect yet');
    expect(run.stdout).toContain('fix: add the policy "Allow dynamic-group <group-matching-this-instance> to read repos in tenancy"');
  });

  test('a kubelet without the config flag: the check fails naming the flag, exit 1', async () => {
    const run = await doctor('--proc-dir', '/proc-without-flag');
    expect(run.status).toBe(1);
    const line = report(run).get('kubelet flags');
    expect(line).toStartWith('FAIL');
    expect(line).toContain(`was started without ${CONFIG_FLAG}`);
    expect(line).not.toContain(BIN_FLAG);
    // The install default is then checked, and this node has it.
    expect(mark(run, 'kubelet config')).toBe('PASS');
  });

  test('a malformed image is a usage error on stderr, exit 2', async () => {
    const run = await runProvider({ args: ['doctor', 'NotAnImage', '--root', root], env: emulator.env() });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toStartWith('credential-provider-oke: ERR_REQUEST_INVALID: image "NotAnImage"');
  });
});

describe('doctor --json', () => {
  interface JsonReport {
    status: string;
    checks: { name: string; status: string; message: string; fix: string | null }[];
  }
  test('one JSON document: the same checks, each {name, status, message, fix}; fix null when there is nothing to do', async () => {
    const run = await doctor('--json');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(run.stdout) as JsonReport;
    expect(Object.keys(parsed).sort()).toEqual(['checks', 'status']);
    expect(parsed.status).toBe('pass');
    expect(parsed.checks.map((c) => c.name)).toEqual(['kubelet flags', 'executable', 'kubelet config', 'kubelet version', 'provider settings', 'IMDS', 'matchImages', 'identity', 'docker token', 'repository access']);
    for (const check of parsed.checks) {
      expect(Object.keys(check).sort()).toEqual(['fix', 'message', 'name', 'status']);
      expect(check.status).toBe('pass');
      expect(check.fix).toBeNull();
      expect(typeof check.message).toBe('string');
    }
    expect(run.stdout).not.toContain(emulator.lastDockerToken!);
  });

  test('a failure: status fail, exit 1, the failed check carries its fix, dependents are skipped', async () => {
    emulator.inject('imds', { status: 503 }, 1000);
    const run = await doctor('--json');
    expect(run.status).toBe(1);
    const parsed = JSON.parse(run.stdout) as JsonReport;
    expect(parsed.status).toBe('fail');
    const imds = parsed.checks.find((c) => c.name === 'IMDS');
    expect(imds?.status).toBe('fail');
    expect(typeof imds?.fix).toBe('string');
    expect(parsed.checks.find((c) => c.name === 'identity')?.status).toBe('skip');
  });
});
