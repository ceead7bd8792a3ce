import type { ProviderEntry } from '../kubeletConfig/validate.ts';
import type { CheckResult } from '../types.ts';

/**
 * Does the running kubelet understand the credential provider config it was given? A kubelet
 * decodes that config strictly and refuses to start on a field its version lacks, so a config
 * that doctor finds valid in the abstract can still keep the node from coming up after an
 * upgrade or downgrade. Versions and gates: kubelet-protocol.md §3.1–§4.5.
 */
export const NAME = 'kubelet version';

/** `Kubernetes v1.33.2` (and vendor suffixes such as `v1.31.1-eks-…`), as `kubelet --version` prints it. */
export interface KubeletVersion {
  readonly major: number;
  readonly minor: number;
  /** As printed, e.g. `v1.33.2`. */
  readonly text: string;
}

export const SA_TOKEN_GATE = 'KubeletServiceAccountTokenForCredentialProviders';

/** The first minor version of each API version, for `CredentialProviderConfig` and for the request/response alike. */
const FIRST_MINOR: Readonly<Record<string, number>> = { v1alpha1: 20, v1beta1: 24, v1: 26 };
/** tokenAttributes: alpha (gate off by default) in 1.33, beta (gate on by default) from 1.34. */
const TOKEN_ATTRIBUTES_MINOR = 33;
const GATE_ON_BY_DEFAULT_MINOR = 34;
/** `tokenAttributes.cacheType` exists (and is required) from 1.34; a config directory is read from 1.34. */
const CACHE_TYPE_MINOR = 34;
const CONFIG_DIRECTORY_MINOR = 34;

export function parseKubeletVersion(output: string): KubeletVersion | undefined {
  const match = /\bv(\d+)\.(\d+)\.\d+\S*/.exec(output);
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), text: match[0] };
}

export interface KubeletVersionInput {
  /** Undefined when doctor could not tell; `versionProblem` then says why. */
  readonly version: KubeletVersion | undefined;
  readonly versionProblem?: string;
  /** Where the version came from (`/proc/812/exe --version`). */
  readonly source?: string;
  /** Our provider's entry; undefined when the kubelet config check failed. */
  readonly provider: ProviderEntry | undefined;
  /** The config path the kubelet was given is a directory (read only from 1.34). */
  readonly configIsDirectory: boolean;
  /** The kubelet's `--feature-gates` setting for {@link SA_TOKEN_GATE}, when its command line names it. */
  readonly saTokenGate: boolean | undefined;
}

/** PASS when the config fits the version, FAIL on a field the version lacks, WARN when the version is unknown. */
export function checkKubeletVersion(input: KubeletVersionInput): CheckResult {
  const { version, provider } = input;
  if (version === undefined) {
    const uses = provider?.tokenAttributes !== undefined ? ' (the config uses tokenAttributes, which needs 1.33+)' : '';
    return {
      name: NAME,
      status: 'warn',
      detail: `cannot tell the running kubelet's version (${input.versionProblem ?? 'unknown'}), so the config was not checked against it${uses}`,
      fix: 'run kubelet --version on the node and compare with docs/install.md (tokenAttributes: 1.33 with the feature gate, 1.34+ with cacheType)',
    };
  }
  if (version.major !== 1) {
    return { name: NAME, status: 'warn', detail: `kubelet ${version.text} is not a 1.x release; doctor knows the rules of 1.x only`, fix: 'compare the config with that kubelet\'s documentation' };
  }
  const from = input.source === undefined ? '' : ` (${input.source})`;
  const problems: string[] = [];
  const warnings: string[] = [];
  const minor = version.minor;
  if (provider !== undefined) {
    const configVersion = provider.configApiVersion.split('/')[1] ?? '';
    const configFirst = FIRST_MINOR[configVersion];
    if (configFirst !== undefined && minor < configFirst) problems.push(`CredentialProviderConfig ${provider.configApiVersion} needs kubelet 1.${configFirst}+`);
    const requestVersion = provider.apiVersion.split('/')[1] ?? '';
    const requestFirst = FIRST_MINOR[requestVersion];
    if (requestFirst !== undefined && minor < requestFirst) problems.push(`provider apiVersion ${provider.apiVersion} needs kubelet 1.${requestFirst}+`);
    const attributes = provider.tokenAttributes;
    if (attributes !== undefined) {
      if (minor < TOKEN_ATTRIBUTES_MINOR) {
        problems.push(`tokenAttributes is an unknown field before 1.${TOKEN_ATTRIBUTES_MINOR}: the kubelet refuses to start`);
      } else {
        if ('cacheType' in attributes && minor < CACHE_TYPE_MINOR) problems.push(`tokenAttributes.cacheType is an unknown field before 1.${CACHE_TYPE_MINOR}: the kubelet refuses to start`);
        if (!('cacheType' in attributes) && minor >= CACHE_TYPE_MINOR) problems.push(`tokenAttributes.cacheType is required from 1.${CACHE_TYPE_MINOR}: the kubelet refuses to start`);
        if (input.saTokenGate === false) problems.push(`the kubelet runs with ${SA_TOKEN_GATE}=false, and refuses to start with tokenAttributes`);
        else if (input.saTokenGate === undefined && minor < GATE_ON_BY_DEFAULT_MINOR) {
          warnings.push(`tokenAttributes needs the feature gate ${SA_TOKEN_GATE} (alpha, off by default in 1.${minor}); --feature-gates does not name it, so it must be on in the KubeletConfiguration file or the kubelet refuses to start`);
        }
      }
    }
  }
  if (input.configIsDirectory && minor < CONFIG_DIRECTORY_MINOR) problems.push(`a config directory is read only from 1.${CONFIG_DIRECTORY_MINOR}`);
  if (problems.length > 0) {
    return {
      name: NAME,
      status: 'fail',
      detail: `kubelet ${version.text}${from}: ${problems.join('; ')}`,
      fix: 'match the credential provider config to this kubelet (deploy/credential-provider-config.yaml; docs/workload-identity.md for tokenAttributes), or upgrade the kubelet',
    };
  }
  if (warnings.length > 0) {
    return { name: NAME, status: 'warn', detail: `kubelet ${version.text}${from}: ${warnings.join('; ')}`, fix: `enable ${SA_TOKEN_GATE} (featureGates in the KubeletConfiguration, or --feature-gates), or use kubelet 1.${GATE_ON_BY_DEFAULT_MINOR}+` };
  }
  return { name: NAME, status: 'pass', detail: `kubelet ${version.text}${from} accepts this credential provider config` };
}

/**
 * The kubelet's setting for `gate` from its command line: every `--feature-gates=A=true,B=false`
 * (pflag merges repeated map flags; the last mention wins), `_` and `-` alike in the flag name.
 */
export function featureGateFromArgv(argv: readonly string[], gate: string): boolean | undefined {
  let value: boolean | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg : arg.slice(0, eq)).replaceAll('_', '-');
    if (name !== '--feature-gates') continue;
    const list = eq === -1 ? (argv[++i] ?? '') : arg.slice(eq + 1);
    for (const pair of list.split(',')) {
      const [key, setting] = pair.split('=').map((s) => s.trim());
      if (key === gate && setting !== undefined && /^(true|false)$/i.test(setting)) value = setting.toLowerCase() === 'true';
    }
  }
  return value;
}
