import { createMemo, diskBackend, memoryBackend } from '../cache/memo.ts';
import { resolveSigner, type SignerDeps } from '../identity/resolveSigner.ts';
import { loadSettings } from '../config/load.ts';
import type { Settings } from '../config/settings.ts';
import { formatErrorLine, ProviderError } from '../errors.ts';
import { decodeRequest } from '../kubelet/request.ts';
import { MAX_REQUEST_BYTES } from '../kubelet/requestBytes.ts';
import { encodeResponse } from '../kubelet/response.ts';
import { createLogger, redact, type LogLevel, type Logger } from '../log.ts';
import { createDeadline, lockWaitUntilMs, raceDeadline, type Deadline } from '../net/deadline.ts';
import type { HttpClient, Transport } from '../net/http.ts';
import { createRegionTable, regionMetadataFromSources, REGION_METADATA_ENV, type RegionInfo } from '../oci/regions.ts';
import { provideCredentials, type ProviderContext } from '../provider/provideCredentials.ts';
import { notingReads, rememberAnswer } from '../provider/warmAnswer.ts';
import type { Clock, Env, FileReader } from '../runtime.ts';
import { parseArgs, type CliArgs } from './args.ts';
import { HELP_TEXT } from './help.ts';
import { versionLine } from './version.ts';

/** Everything the command line touches in the outside world; `main.ts` passes the real ones. */
export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Env;
  /** When the exec started (ms since the epoch): its deadline counts from there. Default: when `runCli` is called. */
  readonly startedAtMs?: number;
  readonly clock: Clock;
  readonly files: FileReader;
  readonly transport: Transport;
  /** `$HOME`, or undefined when the kubelet's environment has none (systemd often). */
  readonly homeDir: string | undefined;
  readonly stdinIsTTY: boolean;
  /** This boot of this machine (`/proc/sys/kernel/random/boot_id`), which instance-principal cache entries are bound to. */
  bootId(): Promise<string | undefined>;
  /** Reads stdin to EOF; rejects with ERR_REQUEST_INVALID past `maxBytes`. */
  readStdin(maxBytes: number): Promise<Uint8Array>;
  writeStdout(text: string): Promise<void>;
  writeStderr(text: string): void;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Runs one invocation and returns the exit status. Stdout gets the response or nothing; every failure is one line on stderr. */
export async function runCli(io: CliIo): Promise<number> {
  // The kubelet's 60 s run from the exec, so ours do too: reading the config and stdin count against the deadline.
  const startedAtMs = io.startedAtMs ?? io.clock.now();
  let args: CliArgs;
  try {
    args = parseArgs(io.argv);
  } catch (error) {
    return fail(io, error, EXIT_USAGE);
  }
  if (args.command.kind === 'help') {
    await io.writeStdout(HELP_TEXT);
    return EXIT_OK;
  }
  if (args.command.kind === 'version') {
    await io.writeStdout(versionLine());
    return EXIT_OK;
  }
  if (args.command.kind === 'doctor') {
    // A report on stdout for people; it loads the settings itself, as one of its checks. Imported
    // on use, so the plugin's exec never evaluates doctor (nor the YAML library it needs).
    const { runDoctor } = await import('../doctor/doctor.ts');
    return runDoctor({ ...args.command, configPath: args.configPath, logLevel: args.logLevel, configPathOf }, io);
  }
  if (args.command.kind === 'install') {
    // Loaded on use like doctor: the plugin's exec never evaluates it.
    const { runInstall } = await import('../install/command.ts');
    return runInstall(args.command.options, { ...io, configPathOf });
  }
  try {
    // Every file read is noted, so a warm answer can check later that each still reads the same.
    const reads = notingReads((path) => io.files.readText(path));
    const files: FileReader = { readText: reads.readText };
    const settings = await loadSettings({ configPath: args.configPath, env: io.env, files });
    let logged = false;
    const log = createLogger({
      level: args.logLevel ?? settings.logLevel,
      write: (line) => {
        logged = true;
        io.writeStderr(line);
      },
      file: settings.logFile,
      now: () => io.clock.now(),
    });
    for (const line of settings.ignored) log.warn(line);
    const deadline = createDeadline(io.clock, settings.execTimeoutMs, startedAtMs);
    const request =
      args.command.kind === 'plugin'
        ? decodeRequest(await readRequest(io, deadline))
        : decodeRequest(JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: args.command.apiVersion, image: args.command.image }));
    const context = await createContext({ ...io, files }, settings, log, deadline);
    const answer = await provideCredentials(request, context);
    await io.writeStdout(encodeResponse(answer.response));
    log.info('credentials issued', { image: request.image, cacheDuration: answer.response.cacheDuration });
    // Kept for the warm answer only when an exec can be answered the same way without a word: the
    // kubelet's own invocation, an answer for the whole registry, and nothing logged.
    if (args.command.kind === 'plugin' && io.argv.length === 0 && answer.registryWide !== undefined && !logged) {
      const { registry, username, principalKey } = answer.registryWide;
      const inputs = { argv: io.argv, env: io.env, bootId: await io.bootId() };
      // The answer is out: keeping it is a convenience that must not turn this exec into a failure.
      await rememberAnswer(context.memo, inputs, request.apiVersion, registry, { username, principalKey, files: await reads.reads() }).catch((error: unknown) =>
        log.debug('could not keep the answer for warm execs', { reason: error instanceof Error ? error.message : String(error) }),
      );
    }
    return EXIT_OK;
  } catch (error) {
    return fail(io, error, error instanceof ProviderError && error.code === 'ERR_CONFIG_INVALID' ? EXIT_USAGE : EXIT_FAILURE);
  }
}

/** How the plugin reads `-config` from its args, for doctor and install (which do not import the CLI). */
const configPathOf = (argv: readonly string[]): string | undefined => parseArgs(argv).configPath;

async function readRequest(io: CliIo, deadline: Deadline): Promise<Uint8Array> {
  if (io.stdinIsTTY) {
    throw new ProviderError('ERR_REQUEST_INVALID', 'expected a CredentialProviderRequest on stdin, but stdin is a terminal', {
      hint: 'the kubelet runs this plugin; to try it by hand use: credential-provider-oke get-credentials <image>',
    });
  }
  return raceDeadline(
    io.readStdin(MAX_REQUEST_BYTES),
    deadline,
    () =>
      new ProviderError('ERR_DEADLINE', `the request on stdin was not complete (no EOF) within the ${deadline.budgetMs / 1000}s exec deadline`, {
        key: 'stdin',
        hint: 'the kubelet writes the request and closes stdin; by hand, pipe a request in or use get-credentials <image>',
      }),
  );
}

/**
 * Wires settings and the outside world into the one-exec context. Nothing here touches the disk or
 * the network: the cache opens on first use and the signer is resolved only for an accepted registry.
 */
async function createContext(io: CliIo, settings: Settings, log: Logger, deadline: Deadline): Promise<ProviderContext> {
  // The HTTP client (retries, OCI errors) loads on the first call: an exec answered from the cache makes none.
  let client: Promise<HttpClient> | undefined;
  const http: HttpClient = async (spec) => {
    client ??= import('../net/http.ts').then(({ createHttpClient }) => createHttpClient({ transport: io.transport, deadline, clock: io.clock, log }));
    return (await client)(spec);
  };
  const regionMetadata = await readRegionMetadata(io);
  const cacheDir = settings.credentialCacheDir;
  const memo = createMemo({
    log,
    open: () =>
      cacheDir === undefined
        ? memoryBackend()
        : diskBackend({ dir: cacheDir, log, now: () => io.clock.now(), lockWaitUntilMs: lockWaitUntilMs(deadline, io.clock.now()) }),
  });
  const deps: SignerDeps = { settings, env: io.env, files: io.files, homeDir: io.homeDir, clock: io.clock, log, http, memo, regionMetadata, bootId: () => io.bootId() };
  return {
    settings,
    http,
    clock: io.clock,
    log,
    memo,
    resolveSigner: (request) => resolveSigner(request, deps),
    registryPolicy: {
      regions: createRegionTable(regionMetadata),
      extraRealmDomains: settings.realmDomains,
      allowedHostPatterns: settings.registryHosts,
    },
  };
}

/** `~/.oci/regions-config.json` and `OCI_REGION_METADATA`, read once per exec as the SDKs do. */
async function readRegionMetadata(io: CliIo): Promise<RegionInfo[]> {
  let regionsConfigJson: string | undefined;
  if (io.homeDir !== undefined) {
    try {
      regionsConfigJson = await io.files.readText(`${io.homeDir}/.oci/regions-config.json`);
    } catch {
      regionsConfigJson = undefined; // absent is the normal case
    }
  }
  return regionMetadataFromSources({ regionsConfigJson, regionMetadataEnv: io.env[REGION_METADATA_ENV] });
}

function fail(io: CliIo, error: unknown, status: number): number {
  const line =
    error instanceof ProviderError
      ? redact(formatErrorLine(error))
      : `ERR_INTERNAL: ${redact(error instanceof Error ? error.message : String(error))}; check: this is a bug in credential-provider-oke; please report it with this line`;
  io.writeStderr(`credential-provider-oke: ${line}\n`);
  return status;
}

export type { LogLevel };
