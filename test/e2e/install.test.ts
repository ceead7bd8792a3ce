import { afterAll, beforeEach, describe, expect, test } from 'bun:test';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
});
