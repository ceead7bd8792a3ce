import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { formatErrorLine, ProviderError } from '../errors.ts';
import { parseImage, type ImageReference } from '../kubelet/image.ts';
import { createLogger, type LogLevel } from '../log.ts';
import { createFetchTransport, type Transport } from '../net/http.ts';
import type { Clock, Env, FileReader } from '../runtime.ts';
import { exitStatus, formatJson, formatReport } from './format.ts';
import { nodeFs } from './nodeFs.ts';
import type { DoctorOptions } from './options.ts';
import { runChecks } from './runner.ts';
import type { CheckResult } from './types.ts';

/** What `doctor` needs from the outside world; the CLI's `CliIo` provides all of it. */
export interface DoctorIo {
  readonly env: Env;
  readonly clock: Clock;
  readonly files: FileReader;
  readonly transport: Transport;
  readonly homeDir: string | undefined;
  writeStdout(text: string): Promise<void>;
  writeStderr(text: string): void;
}

export interface DoctorRequest {
  readonly image: string | undefined;
  readonly options: DoctorOptions;
  /** The global `-config`: when given, the settings come from it rather than the kubelet config. */
  readonly configPath: string | undefined;
  readonly logLevel: LogLevel | undefined;
  /** The CLI's reading of `-config` from a plugin's args. */
  readonly configPathOf: (args: readonly string[]) => string | undefined;
  /** `--json`: the report as one JSON document (formatJson) instead of lines for people. */
  readonly json?: boolean;
}

const EXIT_USAGE = 2;
/** `kubelet --version` prints at once; a binary that hangs must not hold up the report. */
const VERSION_TIMEOUT_MS = 5_000;
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'] as const;

/**
 * `credential-provider-oke doctor [image]`: checks a node the way the kubelet and the provider
 * will use it and prints one line per check to stdout (a command for people, not the plugin
 * protocol). Exit 0 when nothing failed, 1 otherwise, 2 for a malformed image.
 */
export async function runDoctor(request: DoctorRequest, io: DoctorIo): Promise<number> {
  let image: ImageReference | undefined;
  try {
    image = request.image === undefined ? undefined : parseImage(request.image);
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    io.writeStderr(`credential-provider-oke: ${formatErrorLine(error)}\n`);
    return EXIT_USAGE;
  }
  const results = await doctorResults(request, image, io);
  await io.writeStdout(request.json === true ? `${formatJson(results)}\n` : formatReport(results));
  return exitStatus(results);
}

/** Runs every check (also used by `install --watch`, which logs them as JSON). */
export async function doctorResults(request: DoctorRequest, image: ImageReference | undefined, io: DoctorIo): Promise<CheckResult[]> {
  // Logs stay on stderr and quiet by default: the report already says what the probes found.
  const log = createLogger({ level: request.logLevel ?? 'error', write: (line) => io.writeStderr(line), now: () => io.clock.now() });
  return runChecks({
    options: request.options,
    image,
    cliConfigPath: request.configPath,
    configPathOf: request.configPathOf,
    fs: nodeFs(request.options.root),
    env: io.env,
    clock: io.clock,
    files: io.files,
    // The kubelet config's env may set a proxy that the provider would then use: go the same way.
    transportFor: (env) => (PROXY_VARIABLES.some((name) => env[name] !== io.env[name]) ? createFetchTransport(env) : io.transport),
    homeDir: io.homeDir,
    log,
    runVersion: (nodePath) => runVersion(join(request.options.root, nodePath)),
  });
}

function runVersion(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['--version'], { timeout: VERSION_TIMEOUT_MS, env: {}, maxBuffer: 64 * 1024 }, (error, stdout) => {
      if (error !== null) reject(new Error(error.message, { cause: error }));
      else resolve(stdout);
    });
  });
}
