import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { EXECUTABLE_NAME } from '../../scripts/lib/targets.ts';
import { DEFAULT_SETTINGS, SETTING_NAMES } from '../../src/config/settings.ts';
import { parseSchemelessUrl, urlsMatch } from '../../src/kubelet/glob.ts';
import { createRegionTable } from '../../src/oci/regions.ts';
import { ocirHostsForRegion, recognizeRegistry, validateHostPattern } from '../../src/ocir/hosts.ts';

/**
 * deploy/credential-provider-config.yaml, checked the way the kubelet reads it (kubelet-protocol.md
 * §3.2–3.4): a config the kubelet rejects stops the kubelet, and a matchImages list that misses a host
 * is a silent anonymous pull, so both are tested here rather than found on a node.
 */

const CONFIG_PATH = join(import.meta.dir, '..', '..', 'deploy', 'credential-provider-config.yaml');
const CONFIG_TEXT = readFileSync(CONFIG_PATH, 'utf8');

const CONFIG_API_VERSION = 'kubelet.config.k8s.io/v1';
const PLUGIN_API_VERSIONS = [
  'credentialprovider.kubelet.k8s.io/v1',
  'credentialprovider.kubelet.k8s.io/v1beta1',
  'credentialprovider.kubelet.k8s.io/v1alpha1',
];
// Fields of kubelet.config.k8s.io/v1 (kubernetes/kubelet config/v1/types.go); anything else is an
// unknown field, which the kubelet's strict decoder turns into a startup failure.
const CONFIG_FIELDS = ['apiVersion', 'kind', 'providers'];
const PROVIDER_FIELDS = ['name', 'matchImages', 'defaultCacheDuration', 'apiVersion', 'args', 'env', 'tokenAttributes'];
const ENV_FIELDS = ['name', 'value'];

/**
 * Parses like the kubelet: sigs.k8s.io/yaml (go-yaml v2, i.e. YAML 1.1 scalars, so `on`/`no` are
 * booleans) converted to JSON, duplicate keys being an error. Returns the JSON value or the problems.
 */
function parseLikeKubelet(text: string): { value?: unknown; problems: string[] } {
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, strict: true, prettyErrors: false });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  return problems.length > 0 ? { problems } : { value: doc.toJS(), problems };
}

const GO_DURATION_UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go `time.ParseDuration`, in nanoseconds; undefined where Go returns an error. */
function parseGoDuration(text: string): number | undefined {
  const match = /^([-+]?)(.*)$/.exec(text);
  const sign = match?.[1] === '-' ? -1 : 1;
  const rest = match?.[2] ?? '';
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < rest.length) {
    part.lastIndex = at;
    const p = part.exec(rest);
    if (p === null) return undefined;
    total += Number(p[1]) * (GO_DURATION_UNITS_NS[p[2] ?? ''] ?? Number.NaN);
    at = part.lastIndex;
  }
  return sign * total;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** kubelet `validateCredentialProviderConfig` plus the strict decoder's type and field checks. */
function kubeletProblems(config: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(config)) return ['the document is not a mapping'];
  for (const key of Object.keys(config)) if (!CONFIG_FIELDS.includes(key)) problems.push(`unknown field "${key}"`);
  if (config.kind !== 'CredentialProviderConfig') problems.push(`kind is ${String(config.kind)}`);
  if (config.apiVersion !== CONFIG_API_VERSION) problems.push(`apiVersion is ${String(config.apiVersion)}`);
  const providers = config.providers;
  if (!Array.isArray(providers) || providers.length === 0) return [...problems, 'providers must be a non-empty list'];
  const names = new Set<string>();
  providers.forEach((provider: unknown, i) => {
    const at = `providers[${i}]`;
    if (!isRecord(provider)) return problems.push(`${at} is not a mapping`);
    for (const key of Object.keys(provider)) {
      if (!PROVIDER_FIELDS.includes(key)) problems.push(`${at}: unknown field "${key}"`);
    }
    const { name, matchImages, defaultCacheDuration, apiVersion, args, env } = provider;
    if (typeof name !== 'string' || name === '') problems.push(`${at}.name is required`);
    else if (name.includes('/') || name.includes(' ') || name === '.' || name === '..') {
      problems.push(`${at}.name "${name}" is not a valid file name`);
    } else if (names.has(name)) problems.push(`${at}.name "${name}" is duplicated`);
    else names.add(name);
    if (typeof apiVersion !== 'string' || !PLUGIN_API_VERSIONS.includes(apiVersion)) {
      problems.push(`${at}.apiVersion ${String(apiVersion)} is not supported`);
    }
    if (!Array.isArray(matchImages) || matchImages.length === 0) problems.push(`${at}.matchImages is required`);
    else {
      for (const image of matchImages as unknown[]) {
        if (typeof image !== 'string') problems.push(`${at}.matchImages has a non-string ${String(image)}`);
        else if (parseSchemelessUrl(image) === undefined) problems.push(`${at}.matchImages "${image}" does not parse`);
      }
    }
    // metav1.Duration only decodes from a JSON string; a YAML number here fails decoding.
    if (typeof defaultCacheDuration !== 'string') problems.push(`${at}.defaultCacheDuration must be a duration string`);
    else {
      const ns = parseGoDuration(defaultCacheDuration);
      if (ns === undefined) problems.push(`${at}.defaultCacheDuration "${defaultCacheDuration}" is not a Go duration`);
      else if (ns < 0) problems.push(`${at}.defaultCacheDuration must not be negative`);
    }
    if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) {
      problems.push(`${at}.args must be a list of strings`);
    }
    if (env !== undefined && env !== null) {
      if (!Array.isArray(env)) problems.push(`${at}.env must be a list`);
      else {
        env.forEach((entry: unknown, j) => {
          if (!isRecord(entry)) return problems.push(`${at}.env[${j}] is not a mapping`);
          for (const key of Object.keys(entry)) {
            if (!ENV_FIELDS.includes(key)) problems.push(`${at}.env[${j}]: unknown field "${key}"`);
          }
          // Both are Go strings: an unquoted `false` or `8080` in YAML fails the kubelet's decoding.
          if (typeof entry.name !== 'string') problems.push(`${at}.env[${j}].name must be a string`);
          if (typeof entry.value !== 'string') problems.push(`${at}.env[${j}].value must be a string`);
        });
      }
    }
    return undefined;
  });
  return problems;
}

/** The document as the kubelet sees it, or a failing assertion that lists why it would not start. */
function loadConfig(text: string): Record<string, unknown> {
  const { value, problems } = parseLikeKubelet(text);
  expect(problems).toEqual([]);
  expect(kubeletProblems(value)).toEqual([]);
  return value as Record<string, unknown>;
}

interface Provider {
  name: string;
  apiVersion: string;
  defaultCacheDuration: string;
  matchImages: string[];
  env?: { name: string; value: string }[];
}

const config = loadConfig(CONFIG_TEXT);
const provider = (config.providers as Provider[])[0]!;
const kubeletWouldRun = (image: string): boolean => provider.matchImages.some((pattern) => urlsMatch(pattern, image));

/** The realm domains of oci-auth.md §11, written out independently of src/oci/regionTable.ts. */
const SPEC_REALM_DOMAINS = [
  'oraclecloud.com',
  'oraclegovcloud.com',
  'oraclegovcloud.uk',
  'oraclecloud8.com',
  'oraclecloud9.com',
  'oraclecloud10.com',
  'oraclecloud14.com',
  'oraclecloud15.com',
  'oraclecloud.eu',
  'oraclecloud20.com',
  'oraclecloud21.com',
  'oraclecloud23.com',
  'oraclecloud24.com',
  'oraclecloud26.com',
  'oraclecloud29.com',
  'oraclecloud35.com',
  'oraclecloud42.com',
  'oraclecloud51.com',
  'oraclecloud52.com',
];

describe('deploy/credential-provider-config.yaml as the kubelet reads it', () => {
  test('one provider, named like the executable, protocol v1, 55m default cache', () => {
    expect(config.providers).toHaveLength(1);
    expect(provider.name).toBe(EXECUTABLE_NAME);
    expect(provider.apiVersion).toBe('credentialprovider.kubelet.k8s.io/v1');
    expect(provider.defaultCacheDuration).toBe('55m');
    expect(parseGoDuration(provider.defaultCacheDuration)).toBe(55 * 60e9);
    // No KEP-4412 service-account mode: tokenAttributes needs a feature gate on older kubelets.
    expect(Object.keys(provider)).not.toContain('tokenAttributes');
  });

  test('every matchImages entry is as narrow as the provider allows for its own allowlist', () => {
    for (const pattern of provider.matchImages) expect({ pattern, problem: validateHostPattern(pattern) }).toEqual({ pattern, problem: undefined });
    expect(new Set(provider.matchImages).size).toBe(provider.matchImages.length);
  });

  const table = createRegionTable([]);
  const regionHosts = table.all().flatMap((region) => ocirHostsForRegion(region).map((host) => ({ region, host })));

  test('matches every OCIR host form of every region of every realm', () => {
    expect(table.all().length).toBeGreaterThanOrEqual(85);
    const missed = regionHosts
      .filter(({ host }) => !kubeletWouldRun(`${host}/ns/repo`) || !kubeletWouldRun(`${host}/team/app/api:1.2.3`))
      .map(({ host }) => host);
    expect(missed).toEqual([]);
    // The forms themselves, spelled out for oc1 and one other realm, in case ocirHostsForRegion changes.
    for (const host of [
      'fra.ocir.io',
      'eu-frankfurt-1.ocir.io',
      'ocir.eu-frankfurt-1.oci.oraclecloud.com',
      'artifacts.eu-frankfurt-1.oci.oraclecloud.com',
      'ocir.uk-gov-london-1.oci.oraclegovcloud.uk',
      'artifacts.eu-frankfurt-2.oci.oraclecloud.eu',
      'ocir.us-gov-ashburn-1.oci.oraclegovcloud.com',
    ]) {
      expect({ host, matched: kubeletWouldRun(`${host}/ns/repo`) }).toEqual({ host, matched: true });
    }
  });

  test('covers every realm domain of the spec and of the region table, and no other', () => {
    const configured = new Set(
      provider.matchImages.filter((p) => p.startsWith('ocir.*.oci.')).map((p) => p.slice('ocir.*.oci.'.length)),
    );
    const artifacts = new Set(
      provider.matchImages.filter((p) => p.startsWith('artifacts.*.oci.')).map((p) => p.slice('artifacts.*.oci.'.length)),
    );
    const expected = new Set([...SPEC_REALM_DOMAINS, ...table.realmDomains()]);
    expect([...configured].sort()).toEqual([...expected].sort());
    expect([...artifacts].sort()).toEqual([...expected].sort());
  });

  test('every host the kubelet would run the provider for is one the provider accepts', () => {
    const policy = { regions: table, extraRealmDomains: [], allowedHostPatterns: [] };
    const rejected = regionHosts.filter(({ host }) => recognizeRegistry(host, policy) === undefined).map(({ host }) => host);
    expect(rejected).toEqual([]);
  });

  test('matches nothing outside OCIR', () => {
    const foreign = [
      'docker.io/library/nginx',
      'nginx',
      'quay.io/x',
      'ocir.io/x',
      'fra.ocir.io.attacker.example/x',
      'ocir.eu-frankfurt-1.oci.oraclecloud.com.evil.com/x',
      'evil.com/fra.ocir.io',
      'registry.local:5000/x',
      'fra.ocir.io:5000/x',
      'fra.ocir.io:443/x',
      'eu-frankfurt-1.ocir.io.evil.com/x',
      'x.fra.ocir.io/x',
      'ocir.eu-frankfurt-1.oraclecloud.com/x',
      'ocir.eu-frankfurt-1.oci.oraclecloud.net/x',
      'ocir.eu-frankfurt-1.oci.oraclecloud99.com/x',
      'evil.eu-frankfurt-1.oci.oraclecloud.com/x',
      'auth.eu-frankfurt-1.oraclecloud.com/x',
    ];
    expect(foreign.filter(kubeletWouldRun)).toEqual([]);
  });
});

describe('the commented env block', () => {
  /** The file with the `# BEGIN env` … `# END env` lines uncommented, as an operator would. */
  function withEnvUncommented(text: string): string {
    const lines = text.split('\n');
    const begin = lines.findIndex((l) => l.includes('# BEGIN env'));
    const end = lines.findIndex((l) => l.includes('# END env'));
    expect(begin).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(begin);
    return lines.map((l, i) => (i > begin && i < end ? l.replace(/^(\s*)# ?/, '$1') : l)).join('\n');
  }

  test('is valid for the kubelet once uncommented and lists the original settings at our defaults', () => {
    const uncommented = loadConfig(withEnvUncommented(CONFIG_TEXT));
    const env = (uncommented.providers as Provider[])[0]!.env ?? [];
    expect(Object.fromEntries(env.map((e) => [e.name, e.value]))).toEqual({
      [SETTING_NAMES.ocirAuthMethod]: DEFAULT_SETTINGS.ocirAuthMethod,
      [SETTING_NAMES.registryTokenPath]: DEFAULT_SETTINGS.registryTokenPath,
      [SETTING_NAMES.registryProtocol]: DEFAULT_SETTINGS.registryProtocol,
      [SETTING_NAMES.defaultUser]: DEFAULT_SETTINGS.defaultUser,
      [SETTING_NAMES.tokenValidation]: DEFAULT_SETTINGS.tokenValidation ? 'enabled' : 'disabled',
    });
  });

  test('is inactive as shipped', () => {
    expect(Object.keys(provider)).not.toContain('env');
  });
});

describe('the checker itself rejects what the kubelet rejects', () => {
  const valid = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: p
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: ["*.ocir.io"]
    defaultCacheDuration: 1h
`;
  const problemsOf = (text: string): string[] => {
    const { value, problems } = parseLikeKubelet(text);
    return problems.length > 0 ? problems : kubeletProblems(value);
  };

  test.each([
    ['an unknown provider field', valid.replace('    defaultCacheDuration', '    cacheType: Token\n    defaultCacheDuration')],
    ['an unknown top-level field', `${valid}extra: 1\n`],
    ['a duplicate key', valid.replace('    defaultCacheDuration: 1h', '    defaultCacheDuration: 1h\n    defaultCacheDuration: 2h')],
    ['a negative duration', valid.replace('1h', '-1m')],
    ['a duration without unit', valid.replace('1h', '"60"')],
    ['a numeric duration', valid.replace('1h', '0')],
    ['a name with a slash', valid.replace('name: p', 'name: bin/p')],
    ['an unsupported apiVersion', valid.replace('k8s.io/v1\n    matchImages', 'k8s.io/v2\n    matchImages')],
    ['a matchImage with a bad port', valid.replace('"*.ocir.io"', '"reg.io:abc"')],
    ['no matchImages', valid.replace('["*.ocir.io"]', '[]')],
    ['a YAML boolean env value', `${valid}    env:\n      - name: X\n        value: false\n`],
    ['a YAML 1.1 boolean env value', `${valid}    env:\n      - name: X\n        value: on\n`],
    ['the wrong kind', valid.replace('kind: CredentialProviderConfig', 'kind: CredentialProviderConfiguration')],
  ])('%s', (_what, text) => {
    expect(problemsOf(text)).not.toEqual([]);
  });

  test('accepts the minimal valid document', () => {
    expect(problemsOf(valid)).toEqual([]);
  });
});
