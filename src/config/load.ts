import type * as YamlLibrary from 'yaml';
import { ProviderError } from '../errors.ts';
import { parseGoDuration } from '../kubelet/duration.ts';
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { validateHostPattern } from '../ocir/hosts.ts';
import type { Env, FileReader } from '../runtime.ts';
import {
  AUTH_METHODS,
  credentialCacheDirOf,
  DEFAULT_SETTINGS,
  MAX_EXEC_TIMEOUT_MS,
  SERVICE_ACCOUNT_FALLBACKS,
  SETTING_NAMES,
  type AuthMethod,
  type ServiceAccountFallback,
  type SettingKey,
  type Settings,
} from './settings.ts';

/**
 * Settings come from exactly one place, as in the original plugin: the `-config` YAML file when
 * one is given, otherwise the environment. Unknown keys, wrong types and invalid values are errors
 * that name the key: a typo must not silently fall back to a default on hundreds of nodes.
 */
export interface LoadSettingsInit {
  readonly configPath: string | undefined;
  readonly env: Env;
  readonly files: FileReader;
}

export async function loadSettings(init: LoadSettingsInit): Promise<Settings> {
  if (init.configPath !== undefined) {
    return settingsFromYaml(await readConfigFile(init.files, init.configPath), init.configPath);
  }
  return settingsFromEnv(init.env);
}

async function readConfigFile(files: FileReader, path: string): Promise<string> {
  try {
    return await files.readText(path);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new ProviderError('ERR_CONFIG_INVALID', `cannot read the config file ${path}${typeof code === 'string' ? ` (${code})` : ''}`, {
      key: '-config',
      hint: 'fix the path given with -config in the kubelet credential provider args',
      cause,
    });
  }
}

/** Raw values by setting, before validation: from YAML (any type) or env (strings). */
type RawSettings = Partial<Record<SettingKey, unknown>>;

export async function settingsFromYaml(text: string, path: string): Promise<Settings> {
  // Loaded only when a -config file is given: evaluating the YAML library costs ~3.5 ms per exec.
  const yaml = await import('yaml');
  // logLevel 'error': the library must never print (its warnings echo the config to stderr); we read
  // its errors and warnings ourselves. parseAllDocuments: a second document is an error, not ignored.
  const documents = yaml.parseAllDocuments(text, { uniqueKeys: true, strict: true, logLevel: 'error' });
  if (documents.length > 1) {
    throw new ProviderError('ERR_CONFIG_INVALID', `the config file ${path} holds ${documents.length} YAML documents; expected one`, { key: '-config' });
  }
  const parsed = documents[0];
  if (parsed === undefined) return DEFAULT_SETTINGS;
  const problem = parsed.errors[0];
  if (problem !== undefined) {
    const where = problem.linePos !== undefined ? ` at line ${problem.linePos[0].line}` : '';
    throw new ProviderError('ERR_CONFIG_INVALID', `the config file ${path} is not valid YAML${where}`, { key: '-config' });
  }
  const document = plainValue(yaml, parsed.contents, '-config', path);
  const warning = parsed.warnings[0];
  if (warning !== undefined) {
    // Unreachable for the node kinds plainValue accepts; kept so no library warning is ever silently dropped.
    const where = warning.linePos !== undefined ? ` at line ${warning.linePos[0].line}` : '';
    throw new ProviderError('ERR_CONFIG_INVALID', `the config file ${path} has a YAML problem${where} (${warning.code})`, { key: '-config' });
  }
  if (document === null || document === undefined) return DEFAULT_SETTINGS;
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ProviderError('ERR_CONFIG_INVALID', `the config file ${path} must be a YAML mapping of settings`, { key: '-config' });
  }
  const raw: RawSettings = {};
  for (const [key, value] of Object.entries(document)) {
    if (!(key in SETTING_NAMES)) {
      throw new ProviderError('ERR_CONFIG_INVALID', `unknown setting "${key}" in ${path}`, {
        key,
        hint: `known settings: ${Object.keys(SETTING_NAMES).join(', ')}`,
      });
    }
    raw[key as SettingKey] = value;
  }
  return validate(raw, (key) => `${key} in ${path}`);
}

type YamlModule = typeof YamlLibrary;

/**
 * A YAML node as plain data: only untagged scalars, mappings with string keys and lists. Tags
 * (`!!js/function`, even `!!str`), anchors and aliases are errors naming the key: the settings
 * file never needs them, and each is a way for a typo or a hostile file to mean something else.
 */
function plainValue(yaml: YamlModule, node: unknown, key: string, path: string): unknown {
  const refuse = (what: string): never => {
    throw new ProviderError('ERR_CONFIG_INVALID', `${key} in ${path} ${what}; only plain values, mappings and lists are allowed`, { key });
  };
  if (node === null || node === undefined) return null;
  if (yaml.isAlias(node)) return refuse(`is the alias *${node.source}`);
  if (!yaml.isNode(node)) return refuse('is not a YAML value');
  if (node.tag !== undefined) return refuse(`has the YAML tag ${node.tag.replace(/^tag:yaml\.org,2002:/, '!!')}`);
  if (node.anchor !== undefined) return refuse(`has the YAML anchor &${node.anchor}`);
  if (yaml.isScalar(node)) {
    const value = node.value;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    return refuse('is not a string, number or boolean');
  }
  if (yaml.isSeq(node)) return node.items.map((item, index) => plainValue(yaml, item, `${key}[${index}]`, path));
  if (yaml.isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const name = plainValue(yaml, pair.key, key === '-config' ? 'a key' : `a key of ${key}`, path);
      if (typeof name !== 'string') return refuse(`has a key that is not a string (${describe(name)})`);
      const child = key === '-config' ? name : `${key}.${name}`;
      // Own data property even for "__proto__": the settings object must stay a plain record.
      Object.defineProperty(out, name, { value: plainValue(yaml, pair.value, child, path), enumerable: true, configurable: true, writable: true });
    }
    return out;
  }
  return refuse('is not a YAML value');
}

export function settingsFromEnv(env: Env): Settings {
  const raw: RawSettings = {};
  for (const [key, variable] of Object.entries(SETTING_NAMES) as [SettingKey, string][]) {
    const value = env[variable];
    // The original treats an empty variable as unset; so do we.
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim();
  }
  return validate(raw, (key) => SETTING_NAMES[key]);
}

function validate(raw: RawSettings, name: (key: SettingKey) => string): Settings {
  const fail = (key: SettingKey, problem: string): never => {
    throw new ProviderError('ERR_CONFIG_INVALID', `${name(key)} ${problem}`, { key: name(key) });
  };
  const ignored: string[] = [];
  /** A convenience setting that cannot be used falls back instead of failing the exec; see `Settings.ignored`. */
  const convenience = (key: SettingKey, check: (value: string) => string | undefined): string | undefined => {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    const problem = typeof value !== 'string' ? `must be a string, not ${describe(value)}` : check(value.trim());
    if (problem === undefined) return (value as string).trim();
    ignored.push(`${name(key)} ${problem}; ignored`);
    return undefined;
  };
  const str = (key: SettingKey): string | undefined => {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') return fail(key, `must be a string, not ${describe(value)}`);
    return value.trim();
  };
  const list = (key: SettingKey): readonly string[] | undefined => {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    const items = typeof value === 'string' ? value.split(',') : value;
    if (!Array.isArray(items) || items.some((i) => typeof i !== 'string')) {
      return fail(key, `must be a list of strings or a comma-separated string, not ${describe(value)}`);
    }
    return (items as string[]).map((i) => i.trim()).filter((i) => i !== '');
  };

  const registryTokenPath = str('registryTokenPath') ?? DEFAULT_SETTINGS.registryTokenPath;
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(registryTokenPath)) {
    fail('registryTokenPath', `must be an absolute URL path such as ${DEFAULT_SETTINGS.registryTokenPath}`);
  }
  const defaultUser = str('defaultUser') ?? DEFAULT_SETTINGS.defaultUser;
  if (defaultUser === '' || /[\s:]/.test(defaultUser)) fail('defaultUser', 'must be a non-empty user name without spaces or colons');

  const protocol = (str('registryProtocol') ?? DEFAULT_SETTINGS.registryProtocol).toLowerCase();
  if (protocol !== 'https' && protocol !== 'http') fail('registryProtocol', `must be https or http, not "${protocol}"`);

  const method = (str('ocirAuthMethod') ?? DEFAULT_SETTINGS.ocirAuthMethod).toUpperCase();
  if (!AUTH_METHODS.includes(method as AuthMethod)) fail('ocirAuthMethod', `must be one of ${AUTH_METHODS.join(', ')}, not "${method}"`);

  const registryHosts = list('registryHosts') ?? [];
  for (const pattern of registryHosts) {
    const reason = validateHostPattern(pattern);
    if (reason !== undefined) fail('registryHosts', `entry "${pattern}" is unusable: ${reason}`);
  }
  const realmDomains = (list('realmDomains') ?? []).map((d) => d.toLowerCase());
  for (const domain of realmDomains) {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)) {
      fail('realmDomains', `entry "${domain}" is not a domain name such as oraclecloud.com`);
    }
  }

  const execTimeoutMs = readDuration(raw.execTimeout, (problem) => fail('execTimeout', problem)) ?? DEFAULT_SETTINGS.execTimeoutMs;
  if (execTimeoutMs < 1000 || execTimeoutMs > MAX_EXEC_TIMEOUT_MS) {
    fail('execTimeout', `must be between 1s and ${MAX_EXEC_TIMEOUT_MS / 1000}s: the kubelet kills the plugin at 60s`);
  }

  const logLevel = (
    convenience('logLevel', (v) => (LOG_LEVELS.includes(v.toLowerCase() as LogLevel) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`)) ??
    DEFAULT_SETTINGS.logLevel
  ).toLowerCase();
  // A relative path would land in the kubelet's working directory, as the original plugin's log did.
  const logFile = convenience('logFile', (v) => (v === '' || v.startsWith('/') ? undefined : 'must be an absolute path'));
  const cacheDir = convenience('credentialCacheDir', (v) => {
    const rule = credentialCacheDirOf(v);
    return 'problem' in rule ? rule.problem : undefined;
  });
  const cacheIgnored = raw.credentialCacheDir !== undefined && raw.credentialCacheDir !== null && cacheDir === undefined;
  const cacheDirRule = credentialCacheDirOf(cacheDir);

  const workloadIdentityEndpoint = readHttpsOrigin(str('workloadIdentityEndpoint'), (problem) => fail('workloadIdentityEndpoint', problem));
  const workloadIdentityCaFile = str('workloadIdentityCaFile');
  if (workloadIdentityCaFile !== undefined && workloadIdentityCaFile !== '' && !workloadIdentityCaFile.startsWith('/')) {
    // Relative to what? The kubelet's working directory is not a place anyone chose.
    fail('workloadIdentityCaFile', 'must be an absolute path to the cluster CA certificate (PEM)');
  }
  const fallback = (str('serviceAccountFallback') ?? DEFAULT_SETTINGS.serviceAccountFallback).toLowerCase();
  if (!SERVICE_ACCOUNT_FALLBACKS.includes(fallback as ServiceAccountFallback)) {
    fail('serviceAccountFallback', `must be node (the provider's own identity) or none (no credentials), not "${fallback}"`);
  }

  return {
    registryTokenPath,
    defaultUser,
    registryProtocol: protocol as 'https' | 'http',
    ocirAuthMethod: method as AuthMethod,
    tokenValidation: readSwitch(raw.tokenValidation, (problem) => fail('tokenValidation', problem)) ?? DEFAULT_SETTINGS.tokenValidation,
    registryHosts,
    realmDomains,
    execTimeoutMs,
    logLevel: logLevel as LogLevel,
    logFile: logFile === '' ? undefined : logFile,
    credentialCacheDir: cacheIgnored || !('dir' in cacheDirRule) ? undefined : cacheDirRule.dir,
    workloadIdentityEndpoint,
    workloadIdentityCaFile: workloadIdentityCaFile === '' ? undefined : workloadIdentityCaFile,
    serviceAccountFallback: fallback as ServiceAccountFallback,
    ignored,
  };
}

/**
 * `https://host[:port]` as an origin string. Only https: the request carries a pod's
 * service-account token, a bearer credential. No path, query or user info: the provider appends
 * the proxymux path itself, and anything else would be a typo that silently changes the target.
 */
function readHttpsOrigin(value: string | undefined, fail: (problem: string) => never): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`must be an https URL such as https://10.0.0.1:12250, not "${value}"`);
  }
  if (url.protocol !== 'https:') return fail(`must use https (it carries service-account tokens), not ${url.protocol.replace(':', '')}`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    return fail('must be only https://host[:port], without a path, query or user info');
  }
  return url.origin;
}

/** The original's `TOKEN_VALIDATION=enabled`, plus YAML booleans and the usual spellings. */
function readSwitch(value: unknown, fail: (problem: string) => never): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['enabled', 'enable', 'true', 'on', 'yes', '1'].includes(v)) return true;
    if (['disabled', 'disable', 'false', 'off', 'no', '0'].includes(v)) return false;
  }
  return fail(`must be enabled or disabled, not ${describe(value)}`);
}

/** A Go duration (`50s`, `1m`, `45s500ms`: the kubelet config's own format) or a number of seconds. */
function readDuration(value: unknown, fail: (problem: string) => never): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
    const ns = parseGoDuration(text);
    if (ns !== undefined) return ns / 1e6;
  }
  return fail(`must be a duration such as 50s, not ${describe(value)}`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value) ?? ""}`.trim();
}
