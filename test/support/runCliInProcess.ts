import { runCli, type CliIo } from '../../src/cli/run.ts';
import { MAX_INPUT_FILE_BYTES, readBoundedText } from '../../src/fs/readBoundedFile.ts';
import { createFetchTransport, type Transport } from '../../src/net/http.ts';
import { systemClock } from '../../src/runtime.ts';

/** What one in-process run of the command line wrote. */
export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The request bytes; a promise that never settles stands for a kubelet that never closes stdin. */
  readonly stdin?: string | Promise<Uint8Array>;
  /** Replaces the real fetch transport (e.g. to pin response headers, or to inject a bug). */
  readonly transport?: (real: Transport) => Transport;
  readonly readStdin?: CliIo['readStdin'];
  /** Replaces the capture of stdout (e.g. a closed pipe); what it is given is still captured. */
  readonly writeStdout?: CliIo['writeStdout'];
}

/**
 * `runCli` with the real clock, files and fetch, in this process: what `main.ts` wires, minus the
 * process. Lets a test swap one seam (stdin, the transport) and read the exact stderr.
 */
export async function runCliInProcess(options: CliRunOptions = {}): Promise<CliRun> {
  const env = { CREDENTIAL_CACHE_DIR: 'none', ...options.env };
  const real = loopbackOnly(createFetchTransport(env));
  let stdout = '';
  let stderr = '';
  const stdin = options.stdin ?? '';
  const status = await runCli({
    argv: options.argv ?? [],
    env,
    clock: systemClock,
    files: { readText: (path) => readBoundedText(path, MAX_INPUT_FILE_BYTES) },
    transport: options.transport?.(real) ?? real,
    homeDir: undefined,
    stdinIsTTY: false,
    bootId: () => Promise.resolve('in-process-test-boot'),
    readStdin: options.readStdin ?? (() => (typeof stdin === 'string' ? Promise.resolve(new TextEncoder().encode(stdin)) : stdin)),
    writeStdout:
      options.writeStdout ??
      ((text) => {
        stdout += text;
        return Promise.resolve();
      }),
    writeStderr: (text) => {
      stderr += text;
    },
  });
  return { status, stdout, stderr };
}

/** A transport whose answers carry `opc-request-id: <id>`, so a whole error line is a fixed string. */
export function pinRequestId(id: string): (real: Transport) => Transport {
  return (real) => async (request, signal) => {
    const response = await real(request, signal);
    const headers = { get: (name: string) => (name.toLowerCase() === 'opc-request-id' ? id : response.headers.get(name)) };
    return { ...response, headers };
  };
}

/** Tests talk only to 127.0.0.1: a request anywhere else fails the run instead of leaving the machine. */
function loopbackOnly(transport: Transport): Transport {
  return (request, signal) => {
    if (request.url.hostname !== '127.0.0.1') return Promise.reject(new Error(`test guard: refusing a request to ${request.url.host}`));
    return transport(request, signal);
  };
}
