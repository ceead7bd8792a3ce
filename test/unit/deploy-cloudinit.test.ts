import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * deploy/cloud-init/oke-node-install.sh, run with bash against a fake node: a temp folder as ROOT,
 * the release files in an offline source folder (or served on 127.0.0.1), a fake `uname`, and a fake
 * /var/run/oke-init.sh that "starts" a kubelet by writing ROOT/proc/<pid>/cmdline from the
 * --kubelet-extra-args it was given. Nothing outside the temp folder is touched.
 */

const SCRIPT = resolve(import.meta.dir, '../../deploy/cloud-init/oke-node-install.sh');
const CONFIG = readFileSync(resolve(import.meta.dir, '../../deploy/credential-provider-config.yaml'), 'utf8');
const BIN_DIR = '/etc/kubernetes/credential-provider/bin';
const CONFIG_FILE = '/etc/kubernetes/credential-provider/config.yaml';
const SOURCE_DIR = '/opt/credential-provider-oke';
const OUR_FLAGS = `--image-credential-provider-bin-dir=${BIN_DIR} --image-credential-provider-config=${CONFIG_FILE}`;

const FAKE_OKE_INIT = `#!/usr/bin/env bash
# Records its arguments, then "starts" a kubelet with the extra args (optionally altered).
set -euo pipefail
printf '%s\\n' "$@" >"$ROOT/oke-init.args"
extra=""
while (($# > 0)); do
  if [[ "$1" == --kubelet-extra-args ]]; then extra="$2"; shift 2; else shift; fi
done
[[ -n "\${FAKE_NO_KUBELET:-}" ]] && exit 0
mkdir -p "$ROOT/proc/1" "$ROOT/proc/77" "$ROOT/proc/4242"
printf '/sbin/init\\0' >"$ROOT/proc/1/cmdline"
# Not a kubelet, although it names the flag: must be ignored.
printf '/usr/bin/kubelet-helper\\0--image-credential-provider-config=/elsewhere\\0' >"$ROOT/proc/77/cmdline"
args=(/usr/bin/kubelet --config=/etc/kubernetes/kubelet-config.json)
for a in $extra; do
  if [[ -n "\${FAKE_DROP:-}" && "$a" == "$FAKE_DROP"* ]]; then continue; fi
  if [[ -n "\${FAKE_SPLIT:-}" && "$a" == --image-credential-provider-*=* ]]; then
    args+=("\${a%%=*}" "\${a#*=}")
  else
    args+=("$a")
  fi
done
printf '%s\\0' "\${args[@]}" >"$ROOT/proc/4242/cmdline"
`;

const fakeBinary = (arch: string): string => `#!/bin/sh\necho "credential-provider-oke 0.1.0 (commit fake-${arch})"\n`;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Node {
  root: string;
  shims: string;
  /** The release files, as they would be downloaded. */
  release: Record<string, string>;
}

let node: Node;

const CURL = Bun.which('curl');
if (CURL === null) console.warn('online install test skipped: curl is not installed (Debian: apt-get install curl)');

/** Writes the release files (with a SHA256SUMS over them, unless given) into ROOT/opt/... . */
function writeRelease(n: Node, sums?: string): void {
  const dir = join(n.root, SOURCE_DIR);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(n.release)) writeFileSync(join(dir, name), text);
  const listed = Object.entries(n.release).map(([name, text]) => `${sha256(text)}  ${name}\n`);
  writeFileSync(join(dir, 'SHA256SUMS'), sums ?? listed.join(''));
}

function fakeUname(n: Node, machine: string): void {
  writeFileSync(join(n.shims, 'uname'), `#!/bin/sh\n[ "$1" = -m ] && echo ${machine} && exit 0\nexec /usr/bin/uname "$@"\n`);
  chmodSync(join(n.shims, 'uname'), 0o755);
}

beforeEach(() => {
  const root = mkdtempSync(join(tmpdir(), 'cpo-node-'));
  const shims = join(root, '.shims');
  mkdirSync(shims);
  mkdirSync(join(root, 'tmp'));
  mkdirSync(join(root, 'var/run'), { recursive: true });
  writeFileSync(join(root, 'var/run/oke-init.sh'), FAKE_OKE_INIT);
  node = {
    root,
    shims,
    release: {
      'credential-provider-oke-linux-amd64': fakeBinary('amd64'),
      'credential-provider-oke-linux-arm64': fakeBinary('arm64'),
      'credential-provider-config.yaml': CONFIG,
    },
  };
  fakeUname(node, 'x86_64');
});

afterEach(() => {
  rmSync(node.root, { recursive: true, force: true });
});

interface Run {
  status: number;
  stderr: string;
}

async function install(env: Record<string, string> = {}, args: string[] = []): Promise<Run> {
  const child = Bun.spawn(['bash', SCRIPT, ...args], {
    env: {
      PATH: `${node.shims}:/usr/local/bin:/usr/bin:/bin`,
      ROOT: node.root,
      TMPDIR: join(node.root, 'tmp'),
      CREDENTIAL_PROVIDER_SOURCE_DIR: SOURCE_DIR,
      KUBELET_WAIT_SECONDS: '0',
      KUBELET_POLL_SECONDS: '0',
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [status, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  return { status, stderr };
}

const installed = (path: string): string => join(node.root, path);
const modeOf = (path: string): number => statSync(installed(path)).mode & 0o777;
const okeInitArgs = (): string[] | undefined =>
  existsSync(installed('oke-init.args')) ? readFileSync(installed('oke-init.args'), 'utf8').trimEnd().split('\n') : undefined;

function expectNothingInstalled(): void {
  expect(existsSync(installed(`${BIN_DIR}/credential-provider-oke`))).toBe(false);
  expect(existsSync(installed(CONFIG_FILE))).toBe(false);
  expect(okeInitArgs()).toBeUndefined();
}

describe('oke-node-install.sh', () => {
  test('offline: installs the verified files, runs oke-init with the flags, and checks the kubelet', async () => {
    writeRelease(node);
    const run = await install({ KUBELET_EXTRA_ARGS: '--max-pods=50' }, [
      '--cluster-dns',
      '10.96.5.5',
      '--kubelet-extra-args',
      '--node-labels=pool=a',
    ]);
    expect(run).toMatchObject({ status: 0 });
    expect(readFileSync(installed(`${BIN_DIR}/credential-provider-oke`), 'utf8')).toBe(fakeBinary('amd64'));
    expect(modeOf(`${BIN_DIR}/credential-provider-oke`)).toBe(0o755);
    expect(readFileSync(installed(CONFIG_FILE), 'utf8')).toBe(CONFIG);
    expect(modeOf(CONFIG_FILE)).toBe(0o644);
    // The operator's arguments kept, and exactly one --kubelet-extra-args with theirs and ours.
    expect(okeInitArgs()).toEqual([
      '--cluster-dns',
      '10.96.5.5',
      '--kubelet-extra-args',
      `--max-pods=50 --node-labels=pool=a ${OUR_FLAGS}`,
    ]);
    expect(run.stderr).toContain('runs: credential-provider-oke 0.1.0 (commit fake-amd64)');
    expect(run.stderr).toContain('the running kubelet has');
    // No temporary files left next to the installed ones.
    expect(readdirSync(installed(BIN_DIR))).toEqual(['credential-provider-oke']);
    expect(readdirSync(installed('/etc/kubernetes/credential-provider')).sort()).toEqual(['bin', 'config.yaml']);
    expect(readdirSync(installed('/tmp'))).toEqual([]);
  });

  test('a second run replaces the files and succeeds again', async () => {
    writeRelease(node);
    expect((await install()).status).toBe(0);
    node.release['credential-provider-oke-linux-amd64'] = fakeBinary('amd64-v2');
    writeRelease(node);
    expect((await install()).status).toBe(0);
    expect(readFileSync(installed(`${BIN_DIR}/credential-provider-oke`), 'utf8')).toBe(fakeBinary('amd64-v2'));
  });

  test('aarch64 nodes get the arm64 executable', async () => {
    fakeUname(node, 'aarch64');
    writeRelease(node);
    const run = await install();
    expect(run).toMatchObject({ status: 0 });
    expect(readFileSync(installed(`${BIN_DIR}/credential-provider-oke`), 'utf8')).toBe(fakeBinary('arm64'));
  });

  test.skipIf(CURL === null)('online: downloads from CREDENTIAL_PROVIDER_URL_BASE (needs curl)', async () => {
    const files = { ...node.release, SHA256SUMS: '' };
    files.SHA256SUMS = Object.entries(node.release)
      .map(([name, text]) => `${sha256(text)}  ${name}\n`)
      .join('');
    const requested: string[] = [];
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request) {
        const name = new URL(request.url).pathname.replace('/releases/v0.1.0/', '');
        requested.push(name);
        const body = (files as Record<string, string>)[name];
        return body === undefined ? new Response('not found', { status: 404 }) : new Response(body);
      },
    });
    try {
      const run = await install({
        CREDENTIAL_PROVIDER_SOURCE_DIR: '',
        CREDENTIAL_PROVIDER_URL_BASE: `http://127.0.0.1:${server.port}/releases/v0.1.0/`,
      });
      expect(run).toMatchObject({ status: 0 });
      expect(requested.sort()).toEqual(['SHA256SUMS', 'credential-provider-config.yaml', 'credential-provider-oke-linux-amd64']);
      expect(readFileSync(installed(`${BIN_DIR}/credential-provider-oke`), 'utf8')).toBe(fakeBinary('amd64'));
    } finally {
      await server.stop(true);
    }
  });

  test('installs the operator\'s own config instead of the released one', async () => {
    writeRelease(node);
    mkdirSync(installed('/etc/cpo'), { recursive: true });
    writeFileSync(installed('/etc/cpo/mine.yaml'), 'apiVersion: kubelet.config.k8s.io/v1\n');
    const run = await install({ CREDENTIAL_PROVIDER_CONFIG_FILE: '/etc/cpo/mine.yaml' });
    expect(run).toMatchObject({ status: 0 });
    expect(readFileSync(installed(CONFIG_FILE), 'utf8')).toBe('apiVersion: kubelet.config.k8s.io/v1\n');
  });

  test('a checksum mismatch on the executable fails and installs nothing', async () => {
    writeRelease(node);
    // The file changed after SHA256SUMS was made (a truncated download, a tampered mirror).
    writeFileSync(join(node.root, SOURCE_DIR, 'credential-provider-oke-linux-amd64'), fakeBinary('evil'));
    const run = await install();
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('SHA-256 mismatch for credential-provider-oke-linux-amd64');
    expectNothingInstalled();
  });

  test('a checksum mismatch on the config fails and installs nothing, not even the executable', async () => {
    writeRelease(node);
    writeFileSync(join(node.root, SOURCE_DIR, 'credential-provider-config.yaml'), `${CONFIG}# changed\n`);
    const run = await install();
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('SHA-256 mismatch for credential-provider-config.yaml');
    expectNothingInstalled();
  });

  test('a file missing from SHA256SUMS is refused', async () => {
    writeRelease(node, `${sha256(CONFIG)}  credential-provider-config.yaml\n`);
    const run = await install();
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('SHA256SUMS has no entry for credential-provider-oke-linux-amd64');
    expectNothingInstalled();
  });

  test('an unknown architecture fails before anything is fetched', async () => {
    fakeUname(node, 'riscv64');
    writeRelease(node);
    const run = await install();
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("unsupported CPU architecture 'riscv64'");
    expectNothingInstalled();
  });

  test('no source configured fails with a message naming both settings', async () => {
    const run = await install({ CREDENTIAL_PROVIDER_SOURCE_DIR: '' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('CREDENTIAL_PROVIDER_URL_BASE');
    expect(run.stderr).toContain('CREDENTIAL_PROVIDER_SOURCE_DIR');
    expectNothingInstalled();
  });

  test('a kubelet started without the config flag fails, naming the flag', async () => {
    writeRelease(node);
    const run = await install({ FAKE_DROP: '--image-credential-provider-config' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('--image-credential-provider-config is missing');
    expect(run.stderr).not.toContain('--image-credential-provider-bin-dir is missing');
  });

  test('a kubelet started without the bin-dir flag fails, naming the flag', async () => {
    writeRelease(node);
    const run = await install({ FAKE_DROP: '--image-credential-provider-bin-dir' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('--image-credential-provider-bin-dir is missing');
    expect(run.stderr).not.toContain('--image-credential-provider-config is missing');
  });

  test('flags given as two words are recognised', async () => {
    writeRelease(node);
    expect(await install({ FAKE_SPLIT: '1' })).toMatchObject({ status: 0 });
  });

  test('no kubelet process at all fails with its own message', async () => {
    writeRelease(node);
    const run = await install({ FAKE_NO_KUBELET: '1' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('no kubelet process found');
  });

  test('operator extra args that already set a provider flag are refused before anything is installed', async () => {
    writeRelease(node);
    const run = await install({}, ['--kubelet-extra-args=--image-credential-provider-config=/other.yaml']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('already set --image-credential-provider-config');
    expectNothingInstalled();
  });

  test('a setting that is neither true nor false fails, naming it, before anything is installed', async () => {
    writeRelease(node);
    const run = await install({ RUN_OKE_INIT: 'maybe' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("RUN_OKE_INIT must be true or false, not 'maybe'");
    expectNothingInstalled();
  });

  test('user data built as docs/install.md shows (settings, set --, then the script body) works', async () => {
    writeRelease(node);
    const body = readFileSync(SCRIPT, 'utf8').split('\n').slice(1).join('\n');
    const userData = join(node.root, 'user-data.sh');
    writeFileSync(
      userData,
      `#!/bin/bash\nexport CREDENTIAL_PROVIDER_SOURCE_DIR=${SOURCE_DIR}\nset -- --kubelet-extra-args '--max-pods=50 --v=2'\n${body}`,
    );
    const child = Bun.spawn(['bash', userData], {
      env: {
        PATH: `${node.shims}:/usr/local/bin:/usr/bin:/bin`,
        ROOT: node.root,
        TMPDIR: join(node.root, 'tmp'),
        KUBELET_WAIT_SECONDS: '0',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(await child.exited).toBe(0);
    expect(okeInitArgs()).toEqual(['--kubelet-extra-args', `--max-pods=50 --v=2 ${OUR_FLAGS}`]);
  });

  test('RUN_OKE_INIT=false only installs', async () => {
    writeRelease(node);
    const run = await install({ RUN_OKE_INIT: 'false' });
    expect(run).toMatchObject({ status: 0 });
    expect(existsSync(installed(`${BIN_DIR}/credential-provider-oke`))).toBe(true);
    expect(okeInitArgs()).toBeUndefined();
    expect(run.stderr).toContain(OUR_FLAGS.split(' ')[0]!);
  });
});

const SHELLCHECK = Bun.which('shellcheck');
if (SHELLCHECK === null) console.warn('shellcheck test skipped: shellcheck is not installed (Debian: apt-get install shellcheck)');

test.skipIf(SHELLCHECK === null)('oke-node-install.sh is shellcheck-clean', () => {
  const result = Bun.spawnSync([SHELLCHECK!, '--shell=bash', '--severity=style', SCRIPT], { stdout: 'pipe', stderr: 'pipe' });
  expect({ exitCode: result.exitCode, output: result.stdout.toString() }).toEqual({ exitCode: 0, output: '' });
});
