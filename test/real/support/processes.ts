import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Running the real components: long-lived servers (registry, containerd) and one-shot clients
 * (skopeo, ctr, podman, umoci). Everything is asynchronous on purpose: the emulator and the TLS
 * front run inside the test process, so a synchronous spawn would block the very servers the
 * client is talking to.
 */

/** Where the components are looked up and run from (sbin too: Debian puts runc there). */
export const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A minimal, explicit environment: a global SSL_CERT_FILE or REGISTRY_* variable must not leak into a component. */
export function baseEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: TOOL_PATH, ...extra };
}

export interface ToolRun {
  readonly command: string;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ToolOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Killed (SIGKILL) after this long; the result then has status null. */
  readonly timeoutMs?: number;
}

const DEFAULT_TOOL_TIMEOUT_MS = 60_000;

/** Runs a client to completion and captures its output; never rejects for a non-zero exit. */
export function runTool(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env: baseEnv(options.env), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({
        command: [command, ...args].join(' '),
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Like runTool, but a non-zero exit is an error that carries the output (for setup steps). */
export async function runToolOrThrow(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolRun> {
  const run = await runTool(command, args, options);
  if (run.status !== 0) throw new Error(`${run.command} exited with ${String(run.status)}\n${run.stderr}${run.stdout}`);
  return run;
}

export interface ServerProcess {
  readonly pid: number;
  readonly logFile: string;
  /** The server's combined stdout and stderr so far. */
  log(): string;
  /** SIGTERM by PID, SIGKILL if it has not exited after a grace period. Idempotent. */
  stop(): Promise<void>;
}

export interface ServerSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** stdout and stderr go here (a file, not a pipe: a chatty server can never block on a full pipe). */
  readonly logFile: string;
  /** Resolves true once the server answers; polled until `readyTimeoutMs`. */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
}

const READY_POLL_MS = 100;
const DEFAULT_READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/** Starts a server and waits until `ready()`; if it exits or never gets ready, kills it and throws with its log. */
export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const fd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.command, [...spec.args], { env: baseEnv(spec.env), stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      resolve();
    });
    child.on('error', (error) => {
      exit = `spawn error: ${error.message}`;
      resolve();
    });
  });
  const pid = child.pid;
  const log = (): string => (existsSync(spec.logFile) ? readFileSync(spec.logFile, 'utf8') : '');
  let stopping: Promise<void> | undefined;
  const server: ServerProcess = {
    pid: pid ?? -1,
    logFile: spec.logFile,
    log,
    stop: () => {
      stopping ??= (async () => {
        if (exit !== undefined || pid === undefined) return;
        const signal = (name: NodeJS.Signals): void => {
          try {
            process.kill(pid, name);
          } catch {
            // ESRCH: it exited on its own between the check and the signal; 'exit' resolves `exited`.
          }
        };
        signal('SIGTERM');
        const timer = setTimeout(() => {
          if (exit === undefined) signal('SIGKILL');
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  for (;;) {
    if (exit !== undefined) throw new Error(`${spec.name} did not start (${exit}); its log:\n${log()}`);
    if (await spec.ready().catch(() => false)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${spec.name} was not ready within ${spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS} ms; its log:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

/** A port that was free a moment ago on 127.0.0.1 (for servers that cannot report the port they bound). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
