import { afterAll, beforeEach, describe, expect, test } from 'bun:test';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runProvider } from '../support/runProvider.ts';

/**
 * `install` as the DaemonSet runs it, but onto a temp folder as the host root, with the shipped
 * executable (PROVIDER_BIN): it installs itself. A second version is the same executable with
 * bytes appended (Bun finds its program in an ELF section, so it still runs and says its version).
 */

const ROOT = resolve(import.meta.dir, '../..');
const BIN = process.env.PROVIDER_BIN ? resolve(ROOT, process.env.PROVIDER_BIN) : undefined;
const ARM64 = join(ROOT, 'dist/credential-provider-oke-linux-arm64');
if (BIN === undefined) console.warn('install tests skipped: they install the built executable; run npm test (sets PROVIDER_BIN)');
const skip = BIN === undefined || process.arch !== 'x64';

const scratch = mkdtempSync(join(tmpdir(), 'cpo-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const EXE = 'etc/kubernetes/credential-provider/bin/credential-provider-oke';
const CONFIG = 'etc/kubernetes/credential-provider/config.yaml';
const STATE = 'etc/kubernetes/credential-provider/.install/state.json';
const PREVIOUS = 'etc/kubernetes/credential-provider/.install/credential-provider-oke.previous';
const releasedConfig = readFileSync(join(ROOT, 'deploy/credential-provider-config.yaml'));

let host: string;
let n = 0;
beforeEach(() => {
  host = join(scratch, `host-${n++}`);
  mkdirSync(host);
});

/** A release folder holding `exe` (optionally with bytes appended: another version) and the config. */
function release(name: string, exe: string, append?: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(exe, join(dir, 'credential-provider-oke'));
  if (append !== undefined) appendFileSync(join(dir, 'credential-provider-oke'), append);
  writeFileSync(join(dir, 'credential-provider-config.yaml'), releasedConfig);
  return join(dir, 'credential-provider-oke');
}

const installWith = (exe: string, ...args: string[]) =>
  runProvider({ commandLine: [exe, 'install', '--host-root', host, ...args], env: { PATH: '/usr/bin:/bin' } });
const bytes = (rel: string) => readFileSync(join(host, rel));
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * deploy/cloud-init/oke-node-install.sh onto the same host root, offline, with `exe` as the amd64
 * release file; it only installs (no oke-init, no kubelet check), as a node's user data would.
 */
async function cloudInit(exe: string): Promise<{ status: number; stderr: string }> {
  const source = join(host, 'opt/cpo');
  mkdirSync(source, { recursive: true });
  copyFileSync(exe, join(source, 'credential-provider-oke-linux-amd64'));
  writeFileSync(join(source, 'credential-provider-config.yaml'), releasedConfig);
  const sums = ['credential-provider-oke-linux-amd64', 'credential-provider-config.yaml'].map((f) => `${sha256(readFileSync(join(source, f)))}  ${f}\n`);
  writeFileSync(join(source, 'SHA256SUMS'), sums.join(''));
  mkdirSync(join(host, 'tmp'), { recursive: true });
  const child = Bun.spawn(['bash', join(ROOT, 'deploy/cloud-init/oke-node-install.sh')], {
    env: { PATH: '/usr/bin:/bin', ROOT: host, TMPDIR: join(host, 'tmp'), CREDENTIAL_PROVIDER_SOURCE_DIR: '/opt/cpo', RUN_OKE_INIT: 'false' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [status, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  return { status, stderr };
}

const leftovers = () => readdirSync(join(host, 'etc/kubernetes/credential-provider/bin')).filter((f) => f.startsWith('.'));

describe.skipIf(skip)('install onto a host root', () => {
  test('first install: the executable (0755) and the kubelet config (0644), state recorded; a second run changes nothing', async () => {
    const a = release('a', BIN as string);
    const run = await installWith(a);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toStartWith('installed /etc/kubernetes/credential-provider/bin/credential-provider-oke (credential-provider-oke ');
    expect(bytes(EXE).equals(readFileSync(a))).toBe(true);
    expect(statSync(join(host, EXE)).mode & 0o777).toBe(0o755);
    expect(bytes(CONFIG).equals(releasedConfig)).toBe(true);
    expect(statSync(join(host, CONFIG)).mode & 0o777).toBe(0o644);
    expect(existsSync(join(host, PREVIOUS))).toBe(false);
    const state = bytes(STATE);
    const mtime = statSync(join(host, STATE)).mtimeMs;

    const again = await installWith(a);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('nothing to do');
    expect(bytes(STATE).equals(state)).toBe(true);
    expect(statSync(join(host, STATE)).mtimeMs).toBe(mtime);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test('upgrade keeps the previous version; --rollback puts it back (and keeps the newer one)', async () => {
    const a = release('up-a', BIN as string);
    const b = release('up-b', BIN as string, 'version-b');
    expect((await installWith(a)).status).toBe(0);
    const upgraded = await installWith(b);
    expect(upgraded.status).toBe(0);
    expect(upgraded.stdout).toContain('kept for --rollback');
    expect(bytes(EXE).equals(readFileSync(b))).toBe(true);
    expect(bytes(PREVIOUS).equals(readFileSync(a))).toBe(true);

    const rolled = await installWith(b, '--rollback');
    expect(rolled.stderr).toBe('');
    expect(rolled.status).toBe(0);
    expect(rolled.stdout).toStartWith('rolled /etc/kubernetes/credential-provider/bin/credential-provider-oke back to credential-provider-oke ');
    expect(bytes(EXE).equals(readFileSync(a))).toBe(true);
    expect(bytes(PREVIOUS).equals(readFileSync(b))).toBe(true);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test('refuses to overwrite a file it did not write, and changes nothing', async () => {
    mkdirSync(join(host, 'etc/kubernetes/credential-provider/bin'), { recursive: true });
    writeFileSync(join(host, EXE), '#!/bin/sh\necho someone else\n', { mode: 0o755 });
    const run = await installWith(release('foreign', BIN as string));
    expect(run.status).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('was not written by credential-provider-oke install');
    expect(bytes(EXE).toString()).toBe('#!/bin/sh\necho someone else\n');
    expect(existsSync(join(host, CONFIG))).toBe(false);
    expect(existsSync(join(host, STATE))).toBe(false);
  }, 60_000);

  test.skipIf(!existsSync(ARM64))('refuses an executable for another CPU', async () => {
    const run = await installWith(BIN as string, '--executable', release('arm', ARM64));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the executable to install is for arm64, this node is amd64');
    expect(existsSync(join(host, EXE))).toBe(false);
  }, 60_000);

  test('a new executable that does not run is not switched to: the installed version stays', async () => {
    const a = release('keep-a', BIN as string);
    expect((await installWith(a)).status).toBe(0);
    // /bin/false is an amd64 ELF that fails --version: the right CPU, but it does not run as a provider.
    const run = await installWith(a, '--executable', release('broken', '/bin/false'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the new executable does not run on this node');
    expect(bytes(EXE).equals(readFileSync(a))).toBe(true);
    expect(existsSync(join(host, PREVIOUS))).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test('a node set up by cloud-init: install takes it over with no manual step, keeping cloud-init\'s version for --rollback', async () => {
    const a = release('ci-a', BIN as string);
    const b = release('ci-b', BIN as string, 'version-b');
    const setUp = await cloudInit(a);
    expect(setUp.stderr).toContain('recorded both files');
    expect(setUp.status).toBe(0);
    // The same release: install reads cloud-init's record as its own and changes nothing.
    const state = bytes(STATE);
    const same = await installWith(a);
    expect(same.stderr).toBe('');
    expect(same.stdout).toContain('nothing to do');
    expect(bytes(STATE).equals(state)).toBe(true);

    const upgraded = await installWith(b);
    expect(upgraded.stderr).toBe('');
    expect(upgraded.status).toBe(0);
    expect(upgraded.stdout).toMatch(/replacing credential-provider-oke .+ \(kept for --rollback\)/);
    expect(bytes(EXE).equals(readFileSync(b))).toBe(true);
    expect(bytes(PREVIOUS).equals(readFileSync(a))).toBe(true);
    expect((await installWith(b, '--rollback')).status).toBe(0);
    expect(bytes(EXE).equals(readFileSync(a))).toBe(true);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test('--adopt takes over what an older cloud-init left without a record; without it install refuses', async () => {
    const a = release('old-a', BIN as string);
    const b = release('old-b', BIN as string, 'version-b');
    expect((await cloudInit(a)).status).toBe(0);
    rmSync(join(host, 'etc/kubernetes/credential-provider/.install'), { recursive: true }); // as the older script left it

    const refused = await installWith(b);
    expect(refused.status).toBe(1);
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('run install --adopt once');
    expect(bytes(EXE).equals(readFileSync(a))).toBe(true);

    const adopted = await installWith(b, '--adopt');
    expect(adopted.stderr).toBe('');
    expect(adopted.status).toBe(0);
    expect(adopted.stdout).toMatch(/replacing credential-provider-oke .+ \(adopted, kept for --rollback\)/);
    expect(bytes(EXE).equals(readFileSync(b))).toBe(true);
    expect(bytes(PREVIOUS).equals(readFileSync(a))).toBe(true);
    // From now on the record is install's own: no --adopt needed, and --rollback goes back to cloud-init's version.
    expect((await installWith(b)).stdout).toContain('nothing to do');
    expect((await installWith(b, '--rollback')).status).toBe(0);
    expect(bytes(EXE).equals(readFileSync(a))).toBe(true);
  }, 60_000);

  test('--adopt refuses an executable or a kubelet config that is not ours, and changes nothing', async () => {
    const a = release('adopt-a', BIN as string);
    mkdirSync(join(host, 'etc/kubernetes/credential-provider/bin'), { recursive: true });
    writeFileSync(join(host, EXE), '#!/bin/sh\necho someone else\n', { mode: 0o755 });
    const foreignExe = await installWith(a, '--adopt');
    expect(foreignExe.status).toBe(1);
    expect(foreignExe.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(foreignExe.stderr).toContain('--adopt: /etc/kubernetes/credential-provider/bin/credential-provider-oke is not a credential-provider-oke executable (--version: it printed "someone else"');
    expect(bytes(EXE).toString()).toBe('#!/bin/sh\necho someone else\n');

    // Our executable, but a config for another provider.
    copyFileSync(a, join(host, EXE));
    const otherConfig = releasedConfig.toString().replaceAll('credential-provider-oke', 'ecr-credential-provider');
    writeFileSync(join(host, CONFIG), otherConfig);
    const foreignConfig = await installWith(release('adopt-b', BIN as string, 'version-b'), '--adopt');
    expect(foreignConfig.status).toBe(1);
    expect(foreignConfig.stderr).toContain('--adopt: /etc/kubernetes/credential-provider/config.yaml is not a kubelet CredentialProviderConfig with a usable "credential-provider-oke" provider entry');
    expect(bytes(EXE).equals(readFileSync(a))).toBe(true);
    expect(bytes(CONFIG).toString()).toBe(otherConfig);
    expect(existsSync(join(host, STATE))).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 60_000);
});
