import type { ImageReference } from '../kubelet/image.ts';
import type { Logger } from '../log.ts';
import { createDeadline } from '../net/deadline.ts';
import { createHttpClient, type HttpClient, type Transport } from '../net/http.ts';
import { REGION_METADATA_ENV, createRegionTable, type RegionMetadataSources } from '../oci/regions.ts';
import { ocirHostsForRegion } from '../ocir/hosts.ts';
import type { Clock, Env, FileReader } from '../runtime.ts';
import { checkDockerToken } from './checks/dockerToken.ts';
import { checkExecutable } from './checks/executable.ts';
import { IDENTITY_CHECK, checkIdentity } from './checks/identity.ts';
import { checkImds } from './checks/imds.ts';
import { checkKubeletConfig } from './checks/kubeletConfig.ts';
import { checkKubeletFlags, type KubeletProcess } from './checks/kubeletFlags.ts';
import { checkKubeletVersion, featureGateFromArgv, NAME as VERSION_CHECK, parseKubeletVersion, SA_TOKEN_GATE, type KubeletVersion } from './checks/kubeletVersion.ts';
import { checkMatchImages } from './checks/matchImages.ts';
import { ACCESS_CHECK, checkRepositoryAccess } from './checks/repositoryAccess.ts';
import { checkSettings } from './checks/settings.ts';
import { checkWorkloadIdentity } from './checks/workloadIdentity.ts';
import type { NodeFs } from './nodeFs.ts';
import { DEFAULT_PROC_DIR, INSTALL_BIN_DIR, INSTALL_CONFIG_PATH, type DoctorOptions } from './options.ts';
import { skip, type CheckResult, type Outcome } from './types.ts';

/**
 * Each network check gets its own budget, so one hung endpoint is reported as that check's
 * failure and the checks that do not depend on it still run. IMDS gives up well within it.
 */
export const CHECK_DEADLINE_MS = 20_000;

export interface RunnerInput {
  readonly options: DoctorOptions;
  readonly image: ImageReference | undefined;
  /** doctor's own `-config`. */
  readonly cliConfigPath: string | undefined;
  /** How the plugin reads `-config` from its args (the CLI's parser). */
  readonly configPathOf: (args: readonly string[]) => string | undefined;
  readonly fs: NodeFs;
  readonly env: Env;
  readonly clock: Clock;
  readonly files: FileReader;
  /** The transport for the provider's environment (which may add a proxy through the kubelet config's env). */
  readonly transportFor: (env: Env) => Transport;
  readonly homeDir: string | undefined;
  readonly log: Logger;
  /**
   * Runs `<node path> --version` and gives its output (doctor: the kubelet's `/proc/<pid>/exe`,
   * the binary actually running even if the file on disk was replaced). Absent: version unknown.
   */
  readonly runVersion?: (nodePath: string) => Promise<string>;
}

/**
 * Runs the checks in dependency order: the kubelet's flags name the bin dir and config; the
 * config's provider entry feeds the settings; the network checks follow the provider's own path
 * (IMDS, identity, docker token, repository). A check whose prerequisite failed is skipped,
 * saying which one, so the first failure is the one to fix.
 */
export async function runChecks(input: RunnerInput): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const record = <T>(outcome: Outcome<T>): Outcome<T> => {
    results.push(outcome.result);
    return outcome;
  };
  const http = (env: Env): HttpClient =>
    createHttpClient({ transport: input.transportFor(env), deadline: createDeadline(input.clock, CHECK_DEADLINE_MS), clock: input.clock, log: input.log });
  const { fs, options, image } = input;

  const flags = await checkKubeletFlags(fs, options.procDir ?? DEFAULT_PROC_DIR);
  results.push(flags.result);
  // Explicit flags win, then what the kubelet runs with, then where the installer puts things.
  const binDir = options.binDir ?? flags.kubelet?.binDir ?? INSTALL_BIN_DIR;
  const configPath = options.kubeletConfig ?? flags.kubelet?.configPath ?? INSTALL_CONFIG_PATH;
  record(await checkExecutable(fs, binDir, options.providerName));
  const config = record(await checkKubeletConfig(fs, configPath, options.providerName));
  if (flags.kubelet === undefined) record(skip(VERSION_CHECK, 'skipped: no running kubelet'));
  else {
    const found = await kubeletVersion(input, flags.kubelet, options.procDir ?? DEFAULT_PROC_DIR);
    const configIsDirectory = await fs.stat(configPath).then((facts) => facts.isDirectory, () => false);
    results.push(
      checkKubeletVersion({ ...found, provider: config.value, configIsDirectory, saTokenGate: featureGateFromArgv(flags.kubelet.argv, SA_TOKEN_GATE) }),
    );
  }

  const settings = record(
    await checkSettings({ cliConfigPath: input.cliConfigPath, configPathOf: input.configPathOf, provider: config.value, env: input.env, files: input.files, fs }),
  );
  const run = settings.value;
  const workload = checkWorkloadIdentity(config.value, run?.settings);
  if (workload !== undefined) results.push(workload);
  const imds = record(
    run === undefined
      ? skip('IMDS', 'skipped: the provider settings failed')
      : await checkImds({ http: http(run.env), env: run.env, regionSources: await regionSources(input, run.env), authMethod: run.settings.ocirAuthMethod }),
  );
  const region = imds.value?.region;
  record(
    config.value === undefined
      ? skip('matchImages', 'skipped: the kubelet config failed')
      : checkMatchImages({ patterns: config.value.matchImages, region, image }),
  );

  const identity = record(
    run === undefined
      ? skip(IDENTITY_CHECK, 'skipped: the provider settings failed')
      : run.settings.ocirAuthMethod === 'INSTANCE_PRINCIPAL' && imds.value === undefined
        ? skip(IDENTITY_CHECK, 'skipped: federation needs IMDS')
        : await checkIdentity({
            settings: run.settings,
            env: run.env,
            http: http(run.env),
            clock: input.clock,
            log: input.log,
            files: input.files,
            homeDir: input.homeDir,
            regionMetadata: imds.value?.regionMetadata ?? [],
          }),
  );

  // Without an image, the registry the node's pods most likely use: its own region's.
  const registry = image?.registry ?? (region === undefined ? undefined : ocirHostsForRegion(region)[0]);
  const token = record(
    run === undefined || identity.value === undefined
      ? skip('docker token', 'skipped: no identity to sign with')
      : registry === undefined
        ? skip('docker token', 'skipped: give an image, or IMDS must tell the region')
        : await checkDockerToken({
            registry,
            identity: identity.value,
            settings: run.settings,
            policy: {
              regions: createRegionTable(imds.value?.regionMetadata ?? []),
              extraRealmDomains: run.settings.realmDomains,
              allowedHostPatterns: run.settings.registryHosts,
            },
            http: http(run.env),
            clock: input.clock,
          }),
  );

  record(
    image === undefined
      ? skip(ACCESS_CHECK, 'skipped: give an image to check, e.g. doctor fra.ocir.io/<namespace>/<repository>')
      : run === undefined || identity.value === undefined || token.value === undefined
        ? skip(ACCESS_CHECK, 'skipped: no docker token')
        : await checkRepositoryAccess({
            image,
            token: token.value,
            principal: identity.value.principal,
            authMethod: run.settings.ocirAuthMethod,
            protocol: run.settings.registryProtocol,
            http: http(run.env),
            log: input.log,
          }),
  );
  return results;
}

/** `~/.oci/regions-config.json` and `OCI_REGION_METADATA`, which the provider reads too. */
async function regionSources(input: RunnerInput, env: Env): Promise<RegionMetadataSources> {
  let regionsConfigJson: string | undefined;
  if (input.homeDir !== undefined) {
    try {
      regionsConfigJson = await input.files.readText(`${input.homeDir}/.oci/regions-config.json`);
    } catch {
      regionsConfigJson = undefined; // absent is the normal case
    }
  }
  const regionMetadataEnv = env[REGION_METADATA_ENV];
  return { ...(regionsConfigJson === undefined ? {} : { regionsConfigJson }), ...(regionMetadataEnv === undefined ? {} : { regionMetadataEnv }) };
}

async function kubeletVersion(
  input: RunnerInput,
  kubelet: KubeletProcess,
  procDir: string,
): Promise<{ version: KubeletVersion | undefined; versionProblem?: string; source?: string }> {
  if (input.runVersion === undefined) return { version: undefined, versionProblem: 'no way to run the kubelet binary' };
  const source = `${procDir}/${kubelet.pid}/exe --version`;
  let output: string;
  try {
    output = await input.runVersion(`${procDir}/${kubelet.pid}/exe`);
  } catch (error) {
    return { version: undefined, versionProblem: `${source} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
  const version = parseKubeletVersion(output);
  return version === undefined ? { version, versionProblem: `${source} printed no version` } : { version, source };
}
