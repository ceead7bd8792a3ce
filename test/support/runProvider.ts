import { expect } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Runs the provider as the kubelet does: a fresh process, the request on stdin then EOF, stdout and
 * stderr captured apart, a minimal environment (no HOME, a bare PATH, as under systemd).
 * `PROVIDER_BIN` names the executable under test (the shipped binary in CI); otherwise the source runs under Bun.
 */
export interface ProviderRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Bytes for stdin; undefined closes stdin at once. */
  readonly stdin?: string | Uint8Array;
  /** Write `stdin` but never close the pipe, as a stuck kubelet would. */
  readonly keepStdinOpen?: boolean;
  readonly cwd?: string;
  /** Kill after this long (like the kubelet's 60 s). */
  readonly killAfterMs?: number;
  /** Run this command line instead of the provider under test (e.g. the arm64 binary under qemu). */
  readonly commandLine?: readonly string[];
}

const ROOT = resolve(import.meta.dir, '../..');

export function providerCommand(): { command: string; prefix: string[] } {
  const bin = process.env.PROVIDER_BIN;
  if (bin !== undefined && bin !== '') return { command: resolve(ROOT, bin), prefix: [] };
  return { command: process.execPath, prefix: [resolve(ROOT, 'src/main.ts')] };
}

export function runProvider(options: RunOptions = {}): Promise<ProviderRun> {
  const [command, ...prefix] = options.commandLine ?? (({ command: c, prefix: p }) => [c, ...p])(providerCommand());
  if (command === undefined) throw new Error('empty command line');
  const ownCache = options.env?.CREDENTIAL_CACHE_DIR === undefined ? mkdtempSync(join(tmpdir(), 'cpo-cache-')) : undefined;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...prefix, ...(options.args ?? [])], {
      // Each run gets its own empty cache unless the test shares one: no state leaks between tests or onto this machine.
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...(ownCache === undefined ? {} : { CREDENTIAL_CACHE_DIR: ownCache }), ...options.env },
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 60_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (ownCache !== undefined) rmSync(ownCache, { recursive: true, force: true });
      resolvePromise({
        status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {
      // The provider may exit before reading all of a huge stdin; that is a valid outcome to assert on.
    });
    if (options.keepStdinOpen === true) {
      if (options.stdin !== undefined) child.stdin.write(options.stdin);
    } else if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}

/** A request as the kubelet writes it: compact JSON and a trailing newline. */
export function kubeletRequest(image: string, apiVersion = 'credentialprovider.kubelet.k8s.io/v1', extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion, image, ...extra })}\n`;
}

/**
 * Asserts a failed exec as the kubelet sees it: non-zero exit, empty stdout, exactly one stderr line
 * starting with `credential-provider-oke: <code>: `. Returns that line for further checks.
 */
export function expectOneLineFailure(result: ProviderRun, code: string): string {
  expect(result.status).not.toBe(0);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith(`credential-provider-oke: ${code}: `);
  return lines[0] ?? '';
}

export interface Started {
  readonly pid: number;
  readonly stderr: NodeJS.ReadableStream;
  readonly done: Promise<ProviderRun>;
}

/**
 * The provider as its own process, its stderr readable while it runs (to wait for what it says).
 * `keepStdinOpen` writes `stdin` without closing it, as a kubelet that never sends EOF.
 */
export function startProvider(env: Record<string, string>, stdin: string, options: { keepStdinOpen?: boolean } = {}): Started {
  const { command, prefix } = providerCommand();
  const child = spawn(command, prefix, { env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<ProviderRun>((resolveRun) =>
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolveRun({ status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    }),
  );
  if (options.keepStdinOpen === true) child.stdin.write(stdin);
  else child.stdin.end(stdin);
  return { pid: child.pid as number, stderr: child.stderr, done };
}

/** Resolves at the first line of `stream` that satisfies `wanted`. */
export function lineFrom(stream: NodeJS.ReadableStream, wanted: (line: string) => boolean): Promise<void> {
  return new Promise((resolveLine, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      if (lines.some(wanted)) {
        stream.off('data', onData);
        resolveLine();
      }
    };
    stream.on('data', onData);
    stream.on('end', () => reject(new Error('the stream ended before the expected line')));
  });
}
