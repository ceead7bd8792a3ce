import { parseDocument } from 'yaml';
import { API_VERSIONS } from '../../kubelet/apiVersion.ts';
import { parseSchemelessUrl } from '../../kubelet/glob.ts';
import { parseGoDuration } from '../../kubelet/duration.ts';
import type { ConfigFile } from './read.ts';

/** `kubelet.config.k8s.io` versions that define `CredentialProviderConfig`. */
export const CONFIG_API_VERSIONS = ['kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1', 'kubelet.config.k8s.io/v1alpha1'] as const;
// Fields of config/v1/types.go: the kubelet's strict decoder refuses to start on any other.
const CONFIG_FIELDS: readonly string[] = ['apiVersion', 'kind', 'providers'];
const PROVIDER_FIELDS: readonly string[] = ['name', 'matchImages', 'defaultCacheDuration', 'apiVersion', 'args', 'env', 'tokenAttributes'];

/** Our provider's entry, as far as doctor needs it. */
export interface ProviderEntry {
  readonly file: string;
  readonly apiVersion: string;
  readonly defaultCacheDuration: string;
  readonly matchImages: readonly string[];
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value: string }[];
  /** The `kubelet.config.k8s.io` version of the file holding the entry (which kubelets can read it). */
  readonly configApiVersion: string;
  /** `tokenAttributes` as written, when present (KEP-4412: which kubelets accept it depends on their version). */
  readonly tokenAttributes?: Readonly<Record<string, unknown>>;
}

/** One thing wrong: `fail` stops the kubelet or the provider, `warn` is a pattern that does nothing. */
export interface Finding {
  readonly level: 'fail' | 'warn';
  readonly text: string;
  readonly fix: string;
}

export interface ConfigVerdict {
  readonly findings: readonly Finding[];
  /** Present when the provider entry was found and is usable. */
  readonly provider?: ProviderEntry;
}

type Doc = Readonly<Record<string, unknown>>;
const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((i) => typeof i === 'string');
const REFUSES = 'the kubelet refuses to start with it';

/**
 * Checks the files the way the kubelet decodes them (kubelet-protocol.md §3.2–3.4): YAML 1.1 as
 * go-yaml v2 reads it, duplicate keys refused, known fields only, then our provider's entry.
 */
export function validateKubeletConfig(files: readonly ConfigFile[], providerName: string): ConfigVerdict {
  const findings: Finding[] = [];
  const ours: { file: string; entry: Doc; configApiVersion: string }[] = [];
  const names: string[] = [];
  for (const file of files) {
    const doc = parseDocument(file.text, { version: '1.1', uniqueKeys: true, strict: true, prettyErrors: false });
    const error = doc.errors[0];
    if (error !== undefined) {
      const line = error.linePos?.[0].line;
      findings.push({ level: 'fail', text: `${file.path} is not valid YAML${line === undefined ? '' : ` at line ${line}`} (${error.code})`, fix: `correct ${file.path}; ${REFUSES}` });
      continue;
    }
    const js = doc.toJS() as unknown;
    const configApiVersion = isRecord(js) && typeof js.apiVersion === 'string' ? js.apiVersion : '';
    for (const provider of documentFindings(file.path, js, findings)) {
      if (typeof provider.name === 'string') names.push(provider.name);
      if (provider.name === providerName) ours.push({ file: file.path, entry: provider, configApiVersion });
    }
  }
  const where = files.map((f) => f.path).join(', ');
  if (ours.length === 0) {
    if (findings.length > 0) return { findings };
    const named = names.length === 0 ? '' : ` (it names ${names.join(', ')})`;
    const fix = `add a provider named ${providerName} (deploy/credential-provider-config.yaml), or pass doctor --provider-name; the name must equal the executable's file name`;
    return { findings: [{ level: 'fail', text: `${where} has no provider named ${providerName}${named}`, fix }] };
  }
  if (ours.length > 1) {
    findings.push({ level: 'fail', text: `provider ${providerName} is configured ${ours.length} times`, fix: `keep one entry; ${REFUSES}` });
    return { findings };
  }
  const { file, entry, configApiVersion } = ours[0] as { file: string; entry: Doc; configApiVersion: string };
  const provider = providerFindings(file, entry, findings, configApiVersion);
  return findings.some((f) => f.level === 'fail') || provider === undefined ? { findings } : { findings, provider };
}

/** Top-level checks; returns the provider mappings for the name search. */
function documentFindings(path: string, doc: unknown, findings: Finding[]): Doc[] {
  const refuse = (text: string, fix: string) => findings.push({ level: 'fail', text: `${path}: ${text}`, fix: `${fix}; ${REFUSES}` });
  if (!isRecord(doc)) {
    refuse('is not a YAML mapping', 'start from deploy/credential-provider-config.yaml');
    return [];
  }
  for (const key of Object.keys(doc)) if (!CONFIG_FIELDS.includes(key)) refuse(`unknown field "${key}"`, `remove "${key}"`);
  if (doc.kind !== 'CredentialProviderConfig') refuse(`kind is ${JSON.stringify(doc.kind)}`, 'set kind: CredentialProviderConfig');
  if (!(CONFIG_API_VERSIONS as readonly unknown[]).includes(doc.apiVersion)) {
    refuse(`apiVersion is ${JSON.stringify(doc.apiVersion)}`, `set apiVersion: ${CONFIG_API_VERSIONS[0]}`);
  }
  if (!Array.isArray(doc.providers) || doc.providers.length === 0) {
    refuse('providers must be a non-empty list', 'list the providers under providers:');
    return [];
  }
  return (doc.providers as unknown[]).filter(isRecord);
}

function providerFindings(path: string, entry: Doc, findings: Finding[], configApiVersion: string): ProviderEntry | undefined {
  const at = `${path}: provider ${String(entry.name)}`;
  const refuse = (text: string, fix: string) => findings.push({ level: 'fail', text: `${at}: ${text}`, fix: `${fix}; ${REFUSES}` });
  for (const key of Object.keys(entry)) if (!PROVIDER_FIELDS.includes(key)) refuse(`unknown field "${key}"`, `remove "${key}"`);
  const { apiVersion, defaultCacheDuration, matchImages, args = [], env = [] } = entry;
  if (typeof apiVersion !== 'string' || !(API_VERSIONS as readonly string[]).includes(apiVersion)) {
    refuse(`apiVersion ${JSON.stringify(apiVersion)} is not supported`, `set apiVersion: ${API_VERSIONS[0]}`);
  }
  // metav1.Duration decodes only from a string: `defaultCacheDuration: 0` is a decode error.
  const duration = typeof defaultCacheDuration === 'string' ? parseGoDuration(defaultCacheDuration) : undefined;
  if (defaultCacheDuration === undefined) refuse('defaultCacheDuration is missing', 'set defaultCacheDuration: "55m"');
  else if (duration === undefined || duration < 0) {
    refuse(`defaultCacheDuration ${JSON.stringify(defaultCacheDuration)} is not a non-negative duration string`, 'set defaultCacheDuration: "55m"');
  }
  if (!isStringList(matchImages) || matchImages.length === 0) {
    refuse('matchImages must be a non-empty list of strings', 'copy matchImages from deploy/credential-provider-config.yaml');
  } else {
    for (const pattern of matchImages) {
      const finding = patternFinding(pattern);
      if (finding !== undefined) findings.push({ ...finding, text: `${at}: ${finding.text}` });
    }
  }
  if (!isStringList(args)) refuse('args must be a list of strings', 'quote every args entry');
  const envList = Array.isArray(env) ? (env as unknown[]) : undefined;
  const pairs = envList?.filter((e): e is { name: string; value: string } => isRecord(e) && typeof e.name === 'string' && typeof e.value === 'string');
  if (envList === undefined || pairs === undefined || pairs.length !== envList.length) {
    // The classic trap: `value: false` is a YAML boolean where the kubelet wants a string.
    refuse('env must be a list of {name, value} strings', 'quote every env value, e.g. value: "enabled"');
  }
  if (typeof apiVersion !== 'string' || typeof defaultCacheDuration !== 'string' || !isStringList(matchImages) || !isStringList(args) || pairs === undefined) {
    return undefined;
  }
  const tokenAttributes = isRecord(entry.tokenAttributes) ? { tokenAttributes: entry.tokenAttributes } : {};
  return { file: path, apiVersion, defaultCacheDuration, matchImages, args, env: pairs.map(({ name, value }) => ({ name, value })), configApiVersion, ...tokenAttributes };
}

/**
 * A matchImages entry the kubelet refuses, or one that can never match: the kubelet keeps a
 * scheme as part of the host, and globs in a path compare literally (kubelet-protocol.md §1.8, §3.4).
 */
export function patternFinding(pattern: string): Finding | undefined {
  const quoted = JSON.stringify(pattern);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(pattern)) {
    return { level: 'warn', text: `matchImages ${quoted} has a scheme and never matches`, fix: 'give the host only, e.g. "*.ocir.io"' };
  }
  if (parseSchemelessUrl(pattern) === undefined && !pattern.startsWith('[')) {
    return { level: 'fail', text: `matchImages ${quoted} is not a valid host pattern`, fix: `correct or remove it; ${REFUSES}` };
  }
  const slash = pattern.indexOf('/');
  if (slash !== -1 && /[*?[]/.test(pattern.slice(slash))) {
    return { level: 'warn', text: `matchImages ${quoted} has a glob in its path, which the kubelet compares literally, so it never matches`, fix: 'give the host only, e.g. "*.ocir.io"' };
  }
  return undefined;
}
