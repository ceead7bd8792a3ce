import type { LogLevel } from '../log.ts';

/**
 * The provider's settings. The first five are the original Go plugin's, with its names and
 * defaults, so an existing `-config` YAML or kubelet `env` list keeps working unchanged.
 */
export interface Settings {
  /** Path of OCIR's docker token endpoint. YAML `registryTokenPath`, env `REGISTRY_TOKEN_PATH`. */
  readonly registryTokenPath: string;
  /** Username handed to the kubelet with the token. YAML `defaultUser`, env `DEFAULT_USER`. */
  readonly defaultUser: string;
  /** `https`, or `http` for a local registry. YAML `registryProtocol`, env `REGISTRY_PROTOCOL`. */
  readonly registryProtocol: 'https' | 'http';
  /** Who signs. YAML `ocirAuthMethod`, env `OCIR_AUTH_METHOD`. */
  readonly ocirAuthMethod: AuthMethod;
  /** Prove the token can read the repository before caching it for long. YAML `tokenValidation`, env `TOKEN_VALIDATION`. */
  readonly tokenValidation: boolean;
  /** Extra registry host patterns (kubelet glob rules, port included) that may receive signed requests. YAML `registryHosts`, env `REGISTRY_HOSTS`. */
  readonly registryHosts: readonly string[];
  /** Extra realm domains (dedicated regions, Alloy) whose `ocir.`/`artifacts.` hosts are OCIR. YAML `realmDomains`, env `REALM_DOMAINS`. */
  readonly realmDomains: readonly string[];
  /** Budget for one exec; the kubelet kills the plugin at 60 s. YAML `execTimeout`, env `EXEC_TIMEOUT` (Go duration). */
  readonly execTimeoutMs: number;
  /** YAML `logLevel`, env `LOG_LEVEL`. */
  readonly logLevel: LogLevel;
  /** Optional log file (mode 0600). YAML `logFile`, env `LOG_FILE`. */
  readonly logFile: string | undefined;
  /** Shared on-disk cache of session and docker tokens; undefined turns it off (`none`). YAML `credentialCacheDir`, env `CREDENTIAL_CACHE_DIR`. */
  readonly credentialCacheDir: string | undefined;
  /**
   * The OKE proxymux that exchanges a pod's service-account token for a resource principal session
   * token (`https://host[:port]`, no path). Undefined means `https://$KUBERNETES_SERVICE_HOST:12250`,
   * which the kubelet's environment usually lacks. YAML `workloadIdentityEndpoint`, env `WORKLOAD_IDENTITY_ENDPOINT`.
   */
  readonly workloadIdentityEndpoint: string | undefined;
  /** PEM file of the cluster CA that signed the proxymux's certificate; required for workload identity. YAML `workloadIdentityCaFile`, env `WORKLOAD_IDENTITY_CA_FILE`. */
  readonly workloadIdentityCaFile: string | undefined;
  /**
   * What a pod gets when it did not opt in to workload identity (or the kubelet sent no service-account
   * token): `node`, the provider's own identity (`ocirAuthMethod`), or `none`, no credentials.
   * YAML `serviceAccountFallback`, env `SERVICE_ACCOUNT_FALLBACK`.
   */
  readonly serviceAccountFallback: ServiceAccountFallback;
  /**
   * Local conveniences (the log level, the log file, the cache directory) whose value could not be
   * used, each a sentence naming the setting: they fall back (warn level, no log file, no cache)
   * and the exec says so on stderr, rather than failing every pull for a log or cache setting.
   */
  readonly ignored: readonly string[];
}

/** Who signs by default: the node (instance principal), an OCI config profile, or the resource principal environment (RP v2.2). */
export type AuthMethod = 'INSTANCE_PRINCIPAL' | 'USER_PRINCIPAL' | 'RESOURCE_PRINCIPAL';
export const AUTH_METHODS: readonly AuthMethod[] = ['INSTANCE_PRINCIPAL', 'USER_PRINCIPAL', 'RESOURCE_PRINCIPAL'];

export type ServiceAccountFallback = 'node' | 'none';
export const SERVICE_ACCOUNT_FALLBACKS: readonly ServiceAccountFallback[] = ['node', 'none'];

/** Stay well inside the kubelet's hard 60 s kill so the error is ours, not "context deadline exceeded". */
export const DEFAULT_EXEC_TIMEOUT_MS = 50_000;
export const MAX_EXEC_TIMEOUT_MS = 58_000;

export const DEFAULT_SETTINGS: Settings = {
  registryTokenPath: '/20180419/docker/token',
  defaultUser: 'BEARER_TOKEN',
  registryProtocol: 'https',
  ocirAuthMethod: 'INSTANCE_PRINCIPAL',
  tokenValidation: false,
  registryHosts: [],
  realmDomains: [],
  execTimeoutMs: DEFAULT_EXEC_TIMEOUT_MS,
  logLevel: 'warn',
  logFile: undefined,
  credentialCacheDir: '/var/lib/kubelet/credential-provider-oke',
  workloadIdentityEndpoint: undefined,
  workloadIdentityCaFile: undefined,
  serviceAccountFallback: 'node',
  ignored: [],
};

/** Each setting's YAML key and environment variable: one table, so both sources stay in step. */
export const SETTING_NAMES = {
  registryTokenPath: 'REGISTRY_TOKEN_PATH',
  defaultUser: 'DEFAULT_USER',
  registryProtocol: 'REGISTRY_PROTOCOL',
  ocirAuthMethod: 'OCIR_AUTH_METHOD',
  tokenValidation: 'TOKEN_VALIDATION',
  registryHosts: 'REGISTRY_HOSTS',
  realmDomains: 'REALM_DOMAINS',
  execTimeout: 'EXEC_TIMEOUT',
  logLevel: 'LOG_LEVEL',
  logFile: 'LOG_FILE',
  credentialCacheDir: 'CREDENTIAL_CACHE_DIR',
  workloadIdentityEndpoint: 'WORKLOAD_IDENTITY_ENDPOINT',
  workloadIdentityCaFile: 'WORKLOAD_IDENTITY_CA_FILE',
  serviceAccountFallback: 'SERVICE_ACCOUNT_FALLBACK',
} as const;

export type SettingKey = keyof typeof SETTING_NAMES;

/**
 * The rule for `credentialCacheDir`, in one place. Takes the trimmed value, undefined when unset
 * (the default). `none` turns the cache off (`dir` undefined), an absolute path is used, anything
 * else is a `problem`: the cache is then not used at all, since writing tokens somewhere the operator
 * did not name is worse than no cache.
 */
export function credentialCacheDirOf(value: string | undefined): { readonly dir: string | undefined } | { readonly problem: string } {
  if (value === undefined) return { dir: DEFAULT_SETTINGS.credentialCacheDir };
  if (value === 'none') return { dir: undefined };
  return value.startsWith('/') ? { dir: value } : { problem: 'must be an absolute path, or none to turn the cache off' };
}

/**
 * The cache directory the environment names, as `settingsFromEnv` reads it (a blank variable is
 * unset), for the warm answer, which looks there before any setting is read. Undefined when there is
 * no cache to look in.
 */
export function credentialCacheDirFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const value = env[SETTING_NAMES.credentialCacheDir]?.trim();
  const rule = credentialCacheDirOf(value === '' ? undefined : value);
  return 'dir' in rule ? rule.dir : undefined;
}
