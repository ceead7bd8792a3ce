import { chooseSigner } from '../chooseSigner.ts';
import { wantsWorkloadIdentity } from '../kubelet/serviceAccount.ts';
import { deferIdentity } from '../oci/principals/memoizeIdentity.ts';
import { sha256Hex } from '../webCrypto.ts';
import { loadSettings } from '../config/load.ts';
import type { Settings } from '../config/settings.ts';
import { formatErrorLine, ProviderError } from '../errors.ts';
import { decodeRequest, MAX_REQUEST_BYTES, type CredentialProviderRequest } from '../kubelet/request.ts';
import { encodeResponse } from '../kubelet/response.ts';
import { createLogger, redact, type LogLevel, type Logger } from '../log.ts';
import { createDeadline } from '../net/deadline.ts';
import { createHttpClient, type Transport } from '../net/http.ts';
import type { IdentityProvider, Signer } from '../oci/identity.ts';
import { createCredentialCache, type CredentialCache } from '../cache/credentialCache.ts';
import { openCacheStore } from '../cache/fileStore.ts';
import { createRegionTable, regionMetadataFromSources, REGION_METADATA_ENV, type RegionInfo } from '../oci/regions.ts';
import { provideCredentials, type ProviderContext } from '../provideCredentials.ts';
import type { Clock, Env, FileReader } from '../runtime.ts';
import { parseArgs, type CliArgs } from './args.ts';
import { HELP_TEXT } from './help.ts';
import { versionLine } from './version.ts';

/** Everything the command line touches in the outside world; `main.ts` passes the real ones. */
export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Env;
  readonly clock: Clock;
  readonly files: FileReader;
  readonly transport: Transport;
  /** `$HOME`, or undefined when the kubelet's environment has none (systemd often). */
  readonly homeDir: string | undefined;
  readonly stdinIsTTY: boolean;
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
    return runDoctor({ ...args.command, configPath: args.configPath, logLevel: args.logLevel }, io);
  }
  if (args.command.kind === 'install') {
    // Loaded on use like doctor: the plugin's exec never evaluates it.
    const { runInstall } = await import('../install/command.ts');
    return runInstall(args.command.options, io);
  }
  try {
    const settings = await loadSettings({ configPath: args.configPath, env: io.env, files: io.files });
    const log = createLogger({
      level: args.logLevel ?? settings.logLevel,
      write: (line) => io.writeStderr(line),
      file: settings.logFile,
      now: () => io.clock.now(),
    });
    const request =
      args.command.kind === 'plugin'
        ? decodeRequest(await readRequest(io))
        : decodeRequest(JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: args.command.apiVersion, image: args.command.image }));
    const context = await createContext(io, settings, log, request);
    const response = await provideCredentials(request, context);
    await io.writeStdout(encodeResponse(response));
    log.info('credentials issued', { image: request.image, cacheDuration: response.cacheDuration });
    return EXIT_OK;
  } catch (error) {
    return fail(io, error, error instanceof ProviderError && error.code === 'ERR_CONFIG_INVALID' ? EXIT_USAGE : EXIT_FAILURE);
  }
}

async function readRequest(io: CliIo): Promise<Uint8Array> {
  if (io.stdinIsTTY) {
    throw new ProviderError('ERR_REQUEST_INVALID', 'expected a CredentialProviderRequest on stdin, but stdin is a terminal', {
      hint: 'the kubelet runs this plugin; to try it by hand use: credential-provider-oke get-credentials <image>',
    });
  }
  return io.readStdin(MAX_REQUEST_BYTES);
}

/** Wires settings and the outside world into the one-exec context; the request decides who signs. */
async function createContext(io: CliIo, settings: Settings, log: Logger, request: CredentialProviderRequest): Promise<ProviderContext> {
  const deadline = createDeadline(io.clock, settings.execTimeoutMs);
  const http = createHttpClient({ transport: io.transport, deadline, clock: io.clock, log });
  const regionMetadata = await readRegionMetadata(io);
  const cache = await openCredentialCache(settings, io, log, deadline.expiresAtMs);
  // Principal modules (and node:crypto with them) load only when an identity is needed: a docker
  // token served from the cache never loads them (about 5 ms of a 15 ms warm exec).
  const nodeIdentity = deferIdentity(async (): Promise<IdentityProvider> => {
    if (settings.ocirAuthMethod === 'USER_PRINCIPAL') {
      const { fromApiKeyProfile } = await import('../oci/principals/apiKey.ts');
      return fromApiKeyProfile({ env: io.env, files: io.files, homeDir: io.homeDir, clock: io.clock });
    }
    if (settings.ocirAuthMethod === 'RESOURCE_PRINCIPAL') {
      const { fromResourcePrincipalEnv } = await import('../oci/principals/resourcePrincipal.ts');
      return fromResourcePrincipalEnv({ env: io.env, files: io.files, clock: io.clock });
    }
    const [{ createImdsClient }, { federateInstancePrincipal, fromInstancePrincipal }] = await Promise.all([
      import('../oci/imds.ts'),
      import('../oci/principals/instance.ts'),
    ]);
    const instance = { imds: createImdsClient({ http, env: io.env }), http, clock: io.clock, env: io.env, regionMetadata, log };
    return cache !== undefined ? cache.sessionProvider(() => federateInstancePrincipal(instance)) : fromInstancePrincipal(instance);
  });
  const workload = wantsWorkloadIdentity(request.serviceAccountAnnotations) ? await import('../oci/principals/workloadIdentity.ts') : undefined;
  const nodeKey = await principalKey(settings, io.env);
  const signer: Signer | undefined = chooseSigner(request, {
    fallback: settings.serviceAccountFallback,
    clock: io.clock,
    log,
    node: () => ({ identity: nodeIdentity, principalKey: nodeKey }),
    workload: (account, token) => {
      if (workload === undefined) throw new Error('workload identity module not loaded for a request that did not opt in');
      return workload.workloadSigner({ http, clock: io.clock, log, files: io.files, env: io.env, settings, cache }, account, token);
    },
  });
  return {
    cache,
    signer,
    settings,
    http,
    clock: io.clock,
    log,
    registryPolicy: {
      regions: createRegionTable(regionMetadata),
      extraRealmDomains: settings.realmDomains,
      allowedHostPatterns: settings.registryHosts,
    },
  };
}

/** The shared cache, or undefined (said once at debug level) when its directory cannot be used: the provider works without it. */
async function openCredentialCache(settings: Settings, io: CliIo, log: Logger, deadlineMs: number): Promise<CredentialCache | undefined> {
  if (settings.credentialCacheDir === undefined) return undefined;
  const opened = await openCacheStore(settings.credentialCacheDir, { log, now: () => io.clock.now() });
  if (!opened.ok) {
    log.debug('credential cache disabled', { dir: settings.credentialCacheDir, reason: opened.reason });
    return undefined;
  }
  return createCredentialCache({ store: opened.store, clock: io.clock, log, deadlineMs });
}

/** Which principal signs, known before any identity is loaded, so a cached docker token is found without touching IMDS. */
async function principalKey(settings: Settings, env: Env): Promise<string> {
  if (settings.ocirAuthMethod === 'INSTANCE_PRINCIPAL') return 'instance-principal';
  if (settings.ocirAuthMethod === 'RESOURCE_PRINCIPAL') {
    const { resourcePrincipalKey } = await import('../oci/principals/resourcePrincipal.ts');
    const digest = (await sha256Hex(env.OCI_RESOURCE_PRINCIPAL_RPST?.trim() ?? '')).slice(0, 32);
    return resourcePrincipalKey(env, () => digest);
  }
  return `user-principal:${env.OCI_CONFIG_FILE ?? '~/.oci/config'}:${env.OCI_CLI_PROFILE ?? 'DEFAULT'}`;
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
      : `ERR_INTERNAL: ${redact(error instanceof Error ? error.message : String(error))}; check: this is a bug, please report it with the line above`;
  io.writeStderr(`credential-provider-oke: ${line}\n`);
  return status;
}

export type { LogLevel };
