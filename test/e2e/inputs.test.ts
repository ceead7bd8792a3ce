import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeletRequest, providerCommand, runProvider } from '../support/runProvider.ts';

/**
 * Inputs the exec does not control: a stdin the kubelet never closes, a -config naming a device, a
 * FIFO or a huge file. The exec must end on its own, before the kubelet's SIGKILL, with one line.
 */
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cpo-inputs-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Far beyond every deadline used below: a kill by this timer means the exec hung. */
const HUNG_MS = 25_000;
const TEST_TIMEOUT_MS = 30_000;

function onlyLine(result: { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }): string {
  expect(result.signal).toBeNull();
  expect(result.status).not.toBe(0);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  return lines[0] ?? '';
}

describe('stdin', () => {
  test('a request without EOF ends at the exec deadline with one ERR_DEADLINE line naming stdin', async () => {
    const result = await runProvider({
      env: { EXEC_TIMEOUT: '1s' },
      stdin: kubeletRequest('fra.ocir.io/ns/app'),
      keepStdinOpen: true,
      killAfterMs: HUNG_MS,
    });
    expect(onlyLine(result)).toBe(
      'credential-provider-oke: ERR_DEADLINE: the request on stdin was not complete (no EOF) within the 1s exec deadline; ' +
        'check: the kubelet writes the request and closes stdin; by hand, pipe a request in or use get-credentials <image>',
    );
  }, TEST_TIMEOUT_MS);

  test('nothing at all on an open stdin: the same', async () => {
    const result = await runProvider({ env: { EXEC_TIMEOUT: '1s' }, keepStdinOpen: true, killAfterMs: HUNG_MS });
    expect(onlyLine(result)).toStartWith('credential-provider-oke: ERR_DEADLINE: the request on stdin was not complete');
  }, TEST_TIMEOUT_MS);
});

/**
 * The kubelet (Go's exec) hands the request over a pipe; the spawners of these tests give a socket
 * or a file. The provider reads what a pipe already holds without the event loop and waits for the
 * rest asynchronously, so both halves are run here on a real pipe made by sh.
 */
describe('stdin on a pipe, as the kubelet gives it', () => {
  const { command, prefix } = providerCommand();
  const throughPipe = (writer: string): string[] => ['/bin/sh', '-c', `${writer} | "$0" "$@"`, command, ...prefix];

  test('a request already written and closed is read whole: the answer is the same refusal as on any stdin', async () => {
    const result = await runProvider({ commandLine: throughPipe('printf "%s" "$REQ"'), env: { REQ: kubeletRequest('docker.io/library/nginx') }, killAfterMs: HUNG_MS });
    expect(onlyLine(result)).toStartWith('credential-provider-oke: ERR_REGISTRY_NOT_ALLOWED: refusing to sign for docker.io');
  });

  test('a request whose writer keeps the pipe open ends at the exec deadline with one ERR_DEADLINE line', async () => {
    // cat holds the pipe open until this test closes cat's input, which it does once the provider has spoken.
    const [shell, ...args] = throughPipe('{ printf "%s" "$REQ"; cat; }');
    const child = spawn(shell as string, args, {
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', EXEC_TIMEOUT: '1s', CREDENTIAL_CACHE_DIR: 'none', REQ: kubeletRequest('fra.ocir.io/ns/app') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.endsWith('\n')) child.stdin.end();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), HUNG_MS);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    expect(onlyLine({ status, signal: null, stdout, stderr })).toBe(
      'credential-provider-oke: ERR_DEADLINE: the request on stdin was not complete (no EOF) within the 1s exec deadline; ' +
        'check: the kubelet writes the request and closes stdin; by hand, pipe a request in or use get-credentials <image>',
    );
  }, TEST_TIMEOUT_MS);
});

describe('-config must name a regular file under the size cap', () => {
  const refusedLine = (path: string, why: string) =>
    `credential-provider-oke: ERR_CONFIG_INVALID: cannot read the config file ${path} (${why}); ` +
    'check: fix the path given with -config in the kubelet credential provider args';

  test('/dev/zero is refused, not read forever', async () => {
    const result = await runProvider({ args: ['-config', '/dev/zero'], stdin: kubeletRequest('fra.ocir.io/ns/app'), killAfterMs: HUNG_MS });
    expect(onlyLine(result)).toBe(refusedLine('/dev/zero', 'not a regular file: a character device'));
  });

  test('a FIFO nobody writes is refused, not waited on', async () => {
    const fifo = join(tmp, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    const result = await runProvider({ args: ['-config', fifo], stdin: kubeletRequest('fra.ocir.io/ns/app'), killAfterMs: HUNG_MS });
    expect(onlyLine(result)).toBe(refusedLine(fifo, 'not a regular file: a FIFO'));
  });

  test('a 100 MB file is refused without reading it', async () => {
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, 100 * 1024 * 1024);
    const result = await runProvider({ args: ['-config', big], stdin: kubeletRequest('fra.ocir.io/ns/app'), killAfterMs: HUNG_MS });
    expect(onlyLine(result)).toBe(refusedLine(big, 'larger than 1048576 bytes'));
  });

  test('a directory is refused', async () => {
    const result = await runProvider({ args: ['-config', tmp], stdin: kubeletRequest('fra.ocir.io/ns/app'), killAfterMs: HUNG_MS });
    expect(onlyLine(result)).toBe(refusedLine(tmp, 'EISDIR'));
  });

  test('a symlink to a regular file is followed (Kubernetes mounts configs that way)', async () => {
    const target = join(tmp, 'real.yaml');
    writeFileSync(target, 'registryProtocl: https\n');
    const link = join(tmp, 'link.yaml');
    symlinkSync(target, link);
    const result = await runProvider({ args: ['-config', link], stdin: kubeletRequest('fra.ocir.io/ns/app'), killAfterMs: HUNG_MS });
    expect(onlyLine(result)).toStartWith(`credential-provider-oke: ERR_CONFIG_INVALID: unknown setting "registryProtocl" in ${link}; check: known settings: `);
  });
});

describe('-config YAML', () => {
  test('a tag is one line on stderr naming the key; the YAML library prints nothing, even when asked to by its env', async () => {
    const file = join(tmp, 'tagged.yaml');
    writeFileSync(file, 'defaultUser: !!js/function "x"\n');
    const result = await runProvider({
      args: ['-config', file],
      env: { LOG_TOKENS: '1', LOG_STREAM: '1' },
      stdin: kubeletRequest('fra.ocir.io/ns/app'),
      killAfterMs: HUNG_MS,
    });
    expect(result.stderr).toBe(
      `credential-provider-oke: ERR_CONFIG_INVALID: defaultUser in ${file} has the YAML tag !!js/function; only plain values, mappings and lists are allowed\n`,
    );
    expect(result.stdout).toBe('');
    expect(result.status).not.toBe(0);
  });
});
