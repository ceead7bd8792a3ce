import { afterAll, afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseInstallState } from '../../src/install/install.ts';

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
  expect(existsSync(installed(STATE_FILE))).toBe(false);
  expect(okeInitArgs()).toBeUndefined();
}

const STATE_FILE = '/etc/kubernetes/credential-provider/.install/state.json';
/** The record cloud-init left, read with install's own parser (which throws on anything else). */
const installState = () => parseInstallState(readFileSync(installed(STATE_FILE), 'utf8'), STATE_FILE);

/** The script failed with exactly one ERROR line, the last one, containing `text`. */
function expectRefused(run: Run, text: string): void {
  expect(run.status).not.toBe(0);
  const errors = run.stderr.trimEnd().split('\n').filter((line) => line.includes('ERROR'));
  expect(errors).toHaveLength(1);
  expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(errors[0]);
  expect(errors[0]).toContain(text);
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
    expect(readdirSync(installed('/etc/kubernetes/credential-provider')).sort()).toEqual(['.install', 'bin', 'config.yaml']);
    expect(readdirSync(installed('/etc/kubernetes/credential-provider/.install'))).toEqual(['state.json']);
    expect(run.stderr).toContain('the signature of SHA256SUMS was not checked');
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

describe('oke-node-install.sh records what it installed for `credential-provider-oke install`', () => {
  test('state.json, in install\'s format, holds the sha256 of both files and the version line', async () => {
    writeRelease(node);
    expect((await install()).status).toBe(0);
    expect(installState()).toEqual({
      version: 1,
      files: {
        [`${BIN_DIR}/credential-provider-oke`]: { sha256: sha256(fakeBinary('amd64')), versionLine: 'credential-provider-oke 0.1.0 (commit fake-amd64)' },
        [CONFIG_FILE]: { sha256: sha256(CONFIG) },
      },
      previous: undefined,
    });
    expect(modeOf(STATE_FILE)).toBe(0o644);
  });

  test('the operator\'s own config is not recorded: install will not replace it unless told to (--adopt)', async () => {
    writeRelease(node);
    mkdirSync(installed('/etc/cpo'), { recursive: true });
    writeFileSync(installed('/etc/cpo/mine.yaml'), 'apiVersion: kubelet.config.k8s.io/v1\n');
    const run = await install({ CREDENTIAL_PROVIDER_CONFIG_FILE: '/etc/cpo/mine.yaml' });
    expect(run.status).toBe(0);
    expect(Object.keys(installState().files)).toEqual([`${BIN_DIR}/credential-provider-oke`]);
    expect(run.stderr).toContain('install replaces it only with --adopt');
  });

  test('paths needing JSON escapes are written as JSON', async () => {
    writeRelease(node);
    const binDir = '/etc/k"q\\z/bin';
    expect((await install({ CREDENTIAL_PROVIDER_BIN_DIR: binDir, RUN_OKE_INIT: 'false' })).status).toBe(0);
    const state = parseInstallState(readFileSync(installed('/etc/k"q\\z/.install/state.json'), 'utf8'), 'state.json');
    expect(Object.keys(state.files)).toEqual([`${binDir}/credential-provider-oke`, CONFIG_FILE]);
  });

  test('an executable that does not run fails the install but is recorded, so the DaemonSet may replace it', async () => {
    node.release['credential-provider-oke-linux-amd64'] = '#!/bin/sh\necho "cannot execute" >&2\nexit 126\n';
    writeRelease(node);
    const run = await install();
    expectRefused(run, 'does not run on this node: cannot execute');
    expect(installState().files[`${BIN_DIR}/credential-provider-oke`]).toEqual({ sha256: sha256(node.release['credential-provider-oke-linux-amd64']) });
    expect(okeInitArgs()).toBeUndefined();
  });
});

const MINISIGN = Bun.which('minisign');
if (MINISIGN === null) console.warn('signature tests of oke-node-install.sh skipped: minisign is not installed (Debian: apt-get install minisign)');
const OPENSSL = Bun.which('openssl');
if (OPENSSL === null) console.warn('signature tests of oke-node-install.sh skipped: openssl is not installed');

/**
 * The script checks minisign signatures with openssl alone; Debian's minisign is the independent
 * oracle: it makes the keys and signatures, and confirms that each tampered file is one it refuses too.
 */
describe.skipIf(MINISIGN === null || OPENSSL === null)('oke-node-install.sh with a minisign public key', () => {
  const keys = mkdtempSync(join(tmpdir(), 'cpo-minisign-'));
  afterAll(() => rmSync(keys, { recursive: true, force: true }));
  const minisign = (...args: string[]) => Bun.spawnSync([MINISIGN!, ...args], { stdout: 'pipe', stderr: 'pipe' });
  const keyPair = (name: string): { pub: string; sec: string; line: string; id: string } => {
    const pub = join(keys, `${name}.pub`);
    const sec = join(keys, `${name}.key`);
    if (!existsSync(pub)) expect(minisign('-G', '-W', '-p', pub, '-s', sec).exitCode).toBe(0);
    const [comment, line] = readFileSync(pub, 'utf8').split('\n') as [string, string];
    return { pub, sec, line, id: comment.replace('untrusted comment: minisign public key ', '') };
  };
  const sums = () => join(node.root, SOURCE_DIR, 'SHA256SUMS');
  const sigFile = () => `${sums()}.minisig`;
  /** Signs the release's SHA256SUMS as `npm run release --sign-key` does (prehashed unless legacy). */
  const sign = (key: { sec: string }, legacy = false): void => {
    const args = ['-S', ...(legacy ? ['-l'] : []), '-s', key.sec, '-m', sums(), '-x', sigFile(), '-t', 'credential-provider-oke 0.1.0 file:SHA256SUMS'];
    expect(minisign(...args).exitCode).toBe(0);
  };
  const oracleAccepts = (key: { pub: string }): boolean => minisign('-V', '-q', '-p', key.pub, '-m', sums(), '-x', sigFile()).exitCode === 0;
  /** Rewrites line `index` (0-based) of the signature file. */
  const editSignatureLine = (index: number, edit: (line: string) => string): void => {
    const lines = readFileSync(sigFile(), 'utf8').split('\n');
    lines[index] = edit(lines[index]!);
    writeFileSync(sigFile(), lines.join('\n'));
  };
  /** Rewrites bytes of the decoded signature line (algorithm 0-1, key id 2-9, signature 10-73). */
  const editSignatureBytes = (edit: (bytes: Buffer) => void): void =>
    editSignatureLine(1, (line) => {
      const bytes = Buffer.from(line, 'base64');
      edit(bytes);
      return bytes.toString('base64');
    });

  test('a good signature installs, and the log names the key and the trusted comment', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    expect(oracleAccepts(key)).toBe(true);
    const run = await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line });
    expect(run).toMatchObject({ status: 0 });
    expect(run.stderr).toContain(`signature of SHA256SUMS verified (minisign key ${key.id}, trusted comment: credential-provider-oke 0.1.0 file:SHA256SUMS)`);
    expect(readFileSync(installed(`${BIN_DIR}/credential-provider-oke`), 'utf8')).toBe(fakeBinary('amd64'));
    expect(readdirSync(installed('/tmp'))).toEqual([]);
  });

  test('the key as a minisign.pub file on the node works the same', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    mkdirSync(installed('/etc/cpo'), { recursive: true });
    writeFileSync(installed('/etc/cpo/minisign.pub'), readFileSync(key.pub));
    const run = await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY_FILE: '/etc/cpo/minisign.pub' });
    expect(run).toMatchObject({ status: 0 });
    expect(run.stderr).toContain(`minisign key ${key.id}`);
  });

  test('a legacy signature (Ed25519 over the file itself) installs', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key, true);
    expect(Buffer.from(readFileSync(sigFile(), 'utf8').split('\n')[1]!, 'base64').subarray(0, 2).toString()).toBe('Ed');
    expect(oracleAccepts(key)).toBe(true);
    expect(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line })).toMatchObject({ status: 0 });
  });

  test('SHA256SUMS changed after signing is refused, and nothing is installed', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    // A mirror that also swapped the executable and rewrote SHA256SUMS to match.
    node.release['credential-provider-oke-linux-amd64'] = fakeBinary('evil');
    const signature = readFileSync(sigFile());
    writeRelease(node);
    writeFileSync(sigFile(), signature);
    expect(oracleAccepts(key)).toBe(false);
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), `the signature of SHA256SUMS does not verify with key ${key.id}`);
    expectNothingInstalled();
  });

  test('legacy too: SHA256SUMS changed after signing is refused', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key, true);
    writeFileSync(sums(), `${readFileSync(sums(), 'utf8')}\n`);
    expect(oracleAccepts(key)).toBe(false);
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'does not verify');
    expectNothingInstalled();
  });

  test('a signature by another key is refused, naming both key ids', async () => {
    const key = keyPair('release');
    const other = keyPair('other');
    writeRelease(node);
    sign(other);
    expect(oracleAccepts(key)).toBe(false);
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), `SHA256SUMS.minisig was made with key ${other.id}, not the configured key ${key.id}`);
    expectNothingInstalled();
  });

  test('another key\'s signature relabelled with our key id fails the Ed25519 check itself', async () => {
    const key = keyPair('release');
    const other = keyPair('other');
    writeRelease(node);
    sign(other);
    const ourId = Buffer.from(key.line, 'base64').subarray(2, 10);
    editSignatureBytes((bytes) => ourId.copy(bytes, 2));
    expect(oracleAccepts(key)).toBe(false);
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'the signature of SHA256SUMS does not verify');
    expectNothingInstalled();
  });

  test('our signature with another key id is refused', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    editSignatureBytes((bytes) => {
      bytes[2] = bytes[2]! ^ 0xff;
    });
    expect(oracleAccepts(key)).toBe(false);
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), `not the configured key ${key.id}`);
    expectNothingInstalled();
  });

  test('a changed trusted comment is refused', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    editSignatureLine(2, () => 'trusted comment: credential-provider-oke 9.9.9 file:SHA256SUMS');
    expect(oracleAccepts(key)).toBe(false);
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'the trusted comment of SHA256SUMS.minisig does not verify');
    expectNothingInstalled();
  });

  test('a missing SHA256SUMS.minisig is refused', async () => {
    const key = keyPair('release');
    writeRelease(node);
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'SHA256SUMS.minisig does not exist');
    expectNothingInstalled();
  });

  test('an unknown signature algorithm is refused', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    editSignatureBytes((bytes) => bytes.write('EX', 0));
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'signature algorithm this script does not know');
    expectNothingInstalled();
  });

  test('a garbled signature file and a key that is not a minisign key are refused', async () => {
    const key = keyPair('release');
    writeRelease(node);
    writeFileSync(sigFile(), 'untrusted comment: x\nnot base64\n');
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'SHA256SUMS.minisig is not a minisign signature file');
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: Buffer.alloc(42).toString('base64') }), 'the configured minisign public key is not one');
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line, CREDENTIAL_PROVIDER_MINISIGN_KEY_FILE: '/k.pub' }), 'set only one of');
    expectNothingInstalled();
  });

  test('an openssl that cannot verify Ed25519 (or has no BLAKE2b) is refused before anything is read', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    const shim = (failing: string): void => {
      writeFileSync(join(node.shims, 'openssl'), `#!/bin/sh\n[ "$1" = ${failing} ] && { echo "${failing}: unsupported" >&2; exit 1; }\nexec ${OPENSSL} "$@"\n`);
      chmodSync(join(node.shims, 'openssl'), 0o755);
    };
    shim('pkeyutl');
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'cannot verify Ed25519 signatures');
    shim('dgst');
    expectRefused(await install({ CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line }), 'has no BLAKE2b-512');
    expectNothingInstalled();
  });

  test.skipIf(CURL === null)('online: downloads SHA256SUMS.minisig too; a 404 for it is refused in one line', async () => {
    const key = keyPair('release');
    writeRelease(node);
    sign(key);
    const dir = join(node.root, SOURCE_DIR);
    let serveSignature = true;
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request) {
        const name = new URL(request.url).pathname.slice(1);
        if (name.includes('/') || !existsSync(join(dir, name)) || (name.endsWith('.minisig') && !serveSignature)) return new Response('not found', { status: 404 });
        return new Response(readFileSync(join(dir, name)));
      },
    });
    try {
      const env = { CREDENTIAL_PROVIDER_SOURCE_DIR: '', CREDENTIAL_PROVIDER_URL_BASE: `http://127.0.0.1:${server.port}`, CREDENTIAL_PROVIDER_MINISIGN_KEY: key.line };
      expect(await install(env)).toMatchObject({ status: 0 });
      rmSync(installed('/etc'), { recursive: true });
      rmSync(installed('oke-init.args'));
      serveSignature = false;
      expectRefused(await install(env), `could not download http://127.0.0.1:${server.port}/SHA256SUMS.minisig`);
      expectNothingInstalled();
    } finally {
      await server.stop(true);
    }
  });
});

const SHELLCHECK = Bun.which('shellcheck');
if (SHELLCHECK === null) console.warn('shellcheck test skipped: shellcheck is not installed (Debian: apt-get install shellcheck)');

test.skipIf(SHELLCHECK === null)('oke-node-install.sh is shellcheck-clean', () => {
  const result = Bun.spawnSync([SHELLCHECK!, '--shell=bash', '--severity=style', SCRIPT], { stdout: 'pipe', stderr: 'pipe' });
  expect({ exitCode: result.exitCode, output: result.stdout.toString() }).toEqual({ exitCode: 0, output: '' });
});
