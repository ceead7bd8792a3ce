/**
 * What the kubelet would do with the provider's stdout, reimplemented for tests so that a
 * response is checked offline against the kubelet's real rules (docs: kubelet-protocol.md §1.4,
 * §1.6, §1.7). Written independently of `src/` so a bug in the encoder is not mirrored here: host
 * matching (kubeletGlob.ts) and durations (goDuration.ts) are the oracle's own transcriptions of Go.
 *
 * Sources: `kubernetes/kubernetes` `pkg/credentialprovider/plugin/plugin.go` (`ExecPlugin`,
 * `decodeResponse`, `provide`), `pkg/credentialprovider/keyring.go`; `kubernetes/apimachinery`
 * `pkg/runtime/serializer/json/{meta.go,json.go}`, `pkg/runtime/schema/group_version.go`,
 * `pkg/apis/meta/v1/duration.go`; `kubernetes-sigs/json` (strict: case-sensitive keys, unknown
 * and duplicate fields are errors); Go's `encoding/json` and `time.ParseDuration`.
 */
import { Buffer } from 'node:buffer';
import { kubeletUrlsMatch as urlsMatch, parseSchemeless as parseSchemelessUrl } from './kubeletGlob.ts';
import { parseGoDuration } from './goDuration.ts';

export { parseGoDuration };

/** The kubelet's `AuthConfig` as it decodes it. */
export interface AuthEntry {
  readonly username: string;
  readonly password: string;
}

/** The cache key types the kubelet knows (`provide()` in plugin.go). */
export type CacheKeyType = 'Image' | 'Registry' | 'Global';

/** The response as the kubelet holds it after a successful decode. */
export interface KubeletView {
  readonly kind: 'CredentialProviderResponse';
  readonly apiVersion: string;
  readonly cacheKeyType: CacheKeyType;
  /** The duration string as sent; null when absent or `null` (the kubelet then uses `defaultCacheDuration`). */
  readonly cacheDuration: string | null;
  /** `cacheDuration` in nanoseconds (negative allowed: stored already expired); null when absent. */
  readonly cacheDurationNs: number | null;
  /**
   * `auth` (absent or `null` becomes `{}`). A `null` entry stays `null` (the kubelet uses an empty
   * username and password for it); a missing or `null` username/password becomes `""`.
   */
  readonly auth: Readonly<Record<string, AuthEntry | null>>;
}

export type KubeletVerdict = { readonly ok: true; readonly response: KubeletView } | { readonly ok: false; readonly reason: string };

/** Service-account mode settings that add the kubelet's "echoed token" rule (§4.4 step 8). */
export interface ServiceAccountCheck {
  /** The token that was sent in the request. */
  readonly serviceAccountToken: string;
  /** `tokenAttributes.cacheType`; the echo rule applies unless it is `Token`. Default `ServiceAccount`. */
  readonly cacheType?: 'Token' | 'ServiceAccount';
}

const GROUP = 'credentialprovider.kubelet.k8s.io';
const RESPONSE_KIND = 'CredentialProviderResponse';
const REQUEST_KIND = 'CredentialProviderRequest';
const CACHE_KEY_TYPES: readonly string[] = ['Image', 'Registry', 'Global'];
const RESPONSE_FIELDS = ['kind', 'apiVersion', 'cacheKeyType', 'cacheDuration', 'auth'] as const;
const AUTH_FIELDS = ['username', 'password'] as const;

/**
 * Decides whether the kubelet would accept `stdout` from a provider configured with
 * `expectedApiVersion`, following plugin.go step by step: GVK sniff with Go's lenient
 * `encoding/json`, exact apiVersion equality, strict typed decode, kind and group, then the
 * `cacheKeyType` check in `provide()` and, when `serviceAccount` is given, the echoed-token rule.
 * The reason names the first rule broken (the kubelet itself logs only a generic message).
 */
export function validateKubeletResponse(stdout: string, expectedApiVersion: string, serviceAccount?: ServiceAccountCheck): KubeletVerdict {
  const reject = (reason: string): KubeletVerdict => ({ ok: false, reason });

  // 1. meta.go Interpret: encoding/json.Unmarshal of the whole stdout into {apiVersion, kind}.
  const parsed = readGoJson(stdout);
  if (!parsed.ok) return reject(`error reading GVK from response: json parse error: ${parsed.error}`);
  const sniffed = sniffTypeMeta(parsed.value);
  if (typeof sniffed === 'string') return reject(`error reading GVK from response: ${sniffed}`);
  const groupVersion = parseGroupVersion(sniffed.apiVersion);
  if (groupVersion === undefined) return reject(`error reading GVK from response: unexpected GroupVersion string: ${sniffed.apiVersion}`);

  // 2. ExecPlugin: the response's group/version must equal the configured apiVersion.
  const actual = groupVersion.group.length > 0 ? `${groupVersion.group}/${groupVersion.version}` : groupVersion.version;
  if (actual !== expectedApiVersion) {
    return reject(`apiVersion from credential plugin response did not match expected apiVersion:${expectedApiVersion}, actual apiVersion:${actual}`);
  }

  // 3. decodeResponse: the universal decoder needs a kind registered in the scheme.
  if (sniffed.kind.length === 0) return reject('Object \'Kind\' is missing in the response');
  if (sniffed.kind === REQUEST_KIND) return reject(`unexpected Kind "${REQUEST_KIND}": the response echoes the request`);
  if (sniffed.kind !== RESPONSE_KIND || groupVersion.group !== GROUP) {
    return reject(`no kind "${sniffed.kind}" is registered for version "${actual}"`);
  }
  if (parsed.value.type !== 'object') return reject('the response is not a JSON object'); // unreachable after the sniff

  // 4. sigs.k8s.io/json UnmarshalStrict into the typed v1/v1beta1/v1alpha1 response.
  const decoded = decodeStrict(parsed.value);
  if (typeof decoded === 'string') return reject(`error decoding credential provider plugin response from stdout: ${decoded}`);

  // 5. provide(): an invalid cacheKeyType discards the whole response.
  if (!CACHE_KEY_TYPES.includes(decoded.cacheKeyType)) {
    return reject(`credential provider plugin did not return a valid cacheKeyType: ${JSON.stringify(decoded.cacheKeyType)}`);
  }
  // 6. provide() in service-account mode: a password equal to the token is refused unless cacheType is Token.
  if (serviceAccount !== undefined && serviceAccount.serviceAccountToken.length > 0 && (serviceAccount.cacheType ?? 'ServiceAccount') !== 'Token') {
    const echoed = Object.values(decoded.auth).some((entry) => entry !== null && entry.password === serviceAccount.serviceAccountToken);
    if (echoed) return reject('the response returns the service account token as a password while cacheType is not Token');
  }
  return { ok: true, response: { ...decoded, kind: RESPONSE_KIND, cacheKeyType: decoded.cacheKeyType as CacheKeyType } };
}

// ---------------------------------------------------------------------------------------------
// Go's JSON syntax, keeping every member (duplicates included) in order.

type GoJson =
  | { readonly type: 'null' }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'number'; readonly raw: string }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'array'; readonly items: readonly GoJson[] }
  | { readonly type: 'object'; readonly members: readonly { readonly key: string; readonly value: GoJson }[] };

/** encoding/json's scanner limit. */
const GO_MAX_NESTING = 10_000;

class GoSyntaxError extends Error {}

/**
 * Reads `text` like Go's `json.Unmarshal` syntax check: one value, only space/tab/LF/CR around it.
 * Lone surrogates (escaped or raw) become U+FFFD as Go does with invalid input.
 */
function readGoJson(text: string): { ok: true; value: GoJson } | { ok: false; error: string } {
  let i = 0;
  const ws = (): void => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const error = (what: string): GoSyntaxError =>
    new GoSyntaxError(i >= text.length ? 'unexpected end of JSON input' : `invalid character ${JSON.stringify(text[i])} ${what} (offset ${i})`);
  const hex4 = (): number | undefined => {
    const digits = text.slice(i, i + 4);
    return /^[0-9A-Fa-f]{4}$/.test(digits) ? parseInt(digits, 16) : undefined;
  };
  const string = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw error('in string literal');
      if (c === '"') {
        i++;
        return out.replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
      }
      if (c < ' ') throw error('in string literal');
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      i++;
      const e = text[i];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) {
        out += simple[e];
        i++;
      } else if (e === 'u') {
        i++;
        const unit = hex4();
        if (unit === undefined) throw error('in \\u hexadecimal character escape');
        i += 4;
        out += String.fromCharCode(unit); // unpaired halves are replaced when the string ends
      } else {
        throw error('in string escape code');
      }
    }
  };
  const digits = (what: string): void => {
    if (!(text[i]! >= '0' && text[i]! <= '9')) throw error(what);
    while (text[i]! >= '0' && text[i]! <= '9') i++;
  };
  const value = (depth: number): GoJson => {
    if (depth > GO_MAX_NESTING) throw new GoSyntaxError('exceeded max depth');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const members: { key: string; value: GoJson }[] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { type: 'object', members };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw error('looking for beginning of object key string');
        const key = string();
        ws();
        if (text[i] !== ':') throw error('after object key');
        i++;
        members.push({ key, value: value(depth + 1) });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { type: 'object', members };
        }
        throw error('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      const items: GoJson[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { type: 'array', items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { type: 'array', items };
        }
        throw error('after array element');
      }
    }
    if (c === '"') return { type: 'string', value: string() };
    for (const [word, literal] of [
      ['true', { type: 'bool', value: true }],
      ['false', { type: 'bool', value: false }],
      ['null', { type: 'null' }],
    ] as const) {
      if (c === word[0]) {
        for (const w of word) {
          if (text[i] !== w) throw error(`in literal ${word} (expecting ${JSON.stringify(w)})`);
          i++;
        }
        return literal;
      }
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      const start = i;
      if (text[i] === '-') i++;
      if (text[i] === '0') i++;
      else digits('in numeric literal');
      if (text[i] === '.') {
        i++;
        digits('after decimal point in numeric literal');
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        digits('in exponent of numeric literal');
      }
      return { type: 'number', raw: text.slice(start, i) };
    }
    throw error('looking for beginning of value');
  };
  try {
    const result = value(0);
    ws();
    if (i < text.length) throw error('after top-level value');
    return { ok: true, value: result };
  } catch (e) {
    if (e instanceof GoSyntaxError) return { ok: false, error: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Step 1: the lenient sniff (Go encoding/json: case-insensitive keys, last duplicate wins, null is a no-op).

/** Go's case folding for struct field names: ASCII letters, plus K (U+212A) and ſ (U+017F). */
const foldKey = (key: string): string => key.replace(/\u212A/g, 'k').replace(/\u017F/g, 's').replace(/[A-Z]/g, (c) => c.toLowerCase());

function sniffTypeMeta(document: GoJson): { apiVersion: string; kind: string } | string {
  const meta = { apiVersion: '', kind: '' };
  if (document.type === 'null') return meta;
  if (document.type !== 'object') return `couldn't get version/kind; json parse error: json: cannot unmarshal ${document.type} into Go value of type struct`;
  let typeError: string | undefined;
  for (const { key, value } of document.members) {
    const field = foldKey(key) === 'apiversion' ? 'apiVersion' : foldKey(key) === 'kind' ? 'kind' : undefined;
    if (field === undefined || value.type === 'null') continue;
    if (value.type === 'string') meta[field] = value.value;
    else typeError ??= `couldn't get version/kind; json parse error: json: cannot unmarshal ${value.type} into Go struct field .${field} of type string`;
  }
  return typeError ?? meta;
}

/** apimachinery `schema.ParseGroupVersion`. */
function parseGroupVersion(text: string): { group: string; version: string } | undefined {
  if (text === '' || text === '/') return { group: '', version: '' };
  const slashes = text.split('/').length - 1;
  if (slashes === 0) return { group: '', version: text };
  if (slashes === 1) {
    const [group = '', version = ''] = text.split('/');
    return { group, version };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Step 4: the strict typed decode (sigs.k8s.io/json UnmarshalStrict into CredentialProviderResponse).

interface Decoded {
  apiVersion: string;
  cacheKeyType: string;
  cacheDuration: string | null;
  cacheDurationNs: number | null;
  auth: Record<string, AuthEntry | null>;
}

/** Go's `UnmarshalTypeError` wording for a JSON value landing in the wrong Go type. */
const typeError = (value: GoJson, field: string, goType: string): string =>
  `json: cannot unmarshal ${value.type === 'bool' ? 'bool' : value.type} into Go struct field ${field} of type ${goType}`;

/** Checks an object's keys: exact case only, each at most once, none unknown. */
function strictKeys(members: readonly { key: string }[], known: readonly string[], where: string): string | undefined {
  const seen = new Set<string>();
  for (const { key } of members) {
    if (!known.includes(key)) return `json: unknown field ${JSON.stringify(where === '' ? key : `${where}.${key}`)}`;
    if (seen.has(key)) return `json: duplicate field ${JSON.stringify(where === '' ? key : `${where}.${key}`)}`;
    seen.add(key);
  }
  return undefined;
}

/** A string field: a string, or `null` (leaves Go's zero value ""). */
function stringField(value: GoJson, field: string): string | { error: string } {
  if (value.type === 'null') return '';
  if (value.type === 'string') return value.value;
  return { error: typeError(value, field, 'string') };
}

function decodeStrict(document: Extract<GoJson, { type: 'object' }>): Decoded | string {
  const keyProblem = strictKeys(document.members, RESPONSE_FIELDS, '');
  if (keyProblem !== undefined) return keyProblem;
  const decoded: Decoded = { apiVersion: '', cacheKeyType: '', cacheDuration: null, cacheDurationNs: null, auth: {} };
  for (const { key, value } of document.members) {
    if (key === 'kind' || key === 'apiVersion' || key === 'cacheKeyType') {
      const text = stringField(value, `CredentialProviderResponse.${key}`);
      if (typeof text !== 'string') return text.error;
      if (key === 'apiVersion') decoded.apiVersion = text;
      if (key === 'cacheKeyType') decoded.cacheKeyType = text;
    } else if (key === 'cacheDuration') {
      // *metav1.Duration: null leaves the pointer nil; otherwise UnmarshalJSON wants a string ParseDuration takes.
      if (value.type === 'null') continue;
      if (value.type !== 'string') return `json: cannot unmarshal ${value.type} into Go value of type string`;
      const ns = parseGoDuration(value.value);
      if (ns === undefined) return `time: invalid duration ${JSON.stringify(value.value)}`;
      decoded.cacheDuration = value.value;
      decoded.cacheDurationNs = ns;
    } else {
      const auth = decodeAuth(value);
      if (typeof auth === 'string') return auth;
      decoded.auth = auth;
    }
  }
  return decoded;
}

function decodeAuth(value: GoJson): Record<string, AuthEntry | null> | string {
  if (value.type === 'null') return {};
  if (value.type !== 'object') return typeError(value, 'CredentialProviderResponse.auth', 'map[string]AuthConfig');
  const auth: Record<string, AuthEntry | null> = Object.create(null) as Record<string, AuthEntry | null>;
  const seen = new Set<string>();
  for (const { key, value: entry } of value.members) {
    if (seen.has(key)) return `json: duplicate field ${JSON.stringify(`auth.${key}`)}`;
    seen.add(key);
    if (entry.type === 'null') {
      auth[key] = null;
      continue;
    }
    if (entry.type !== 'object') return typeError(entry, `CredentialProviderResponse.auth.${key}`, 'AuthConfig');
    const keyProblem = strictKeys(entry.members, AUTH_FIELDS, `auth.${key}`);
    if (keyProblem !== undefined) return keyProblem;
    const credentials = { username: '', password: '' };
    for (const member of entry.members) {
      const text = stringField(member.value, `CredentialProviderResponse.auth.${key}.${member.key}`);
      if (typeof text !== 'string') return text.error;
      credentials[member.key as 'username' | 'password'] = text;
    }
    auth[key] = credentials;
  }
  return { ...auth };
}

// ---------------------------------------------------------------------------------------------
// The kubelet's keyring (keyring.go BasicDockerKeyring Add and Lookup).

/** `defaultRegistryHost`: the key Docker Hub images fall back to. */
const DOCKER_HUB_KEY = 'index.docker.io';

/**
 * The credentials the kubelet would try, in order, for `image` given a response's `auth` map:
 * keys normalized as `Add` does (`https://` assumed, `/v1/` or `/v2/` dropped, unparsable keys
 * ignored), de-duplicated, tried in reverse byte order with `URLsMatch`, and, when none matches
 * a Docker Hub image, the entry under exactly `index.docker.io`. A `null` entry gives an empty
 * username and password, as in the kubelet. Several keys normalizing to one keep their insertion
 * order (Go's map order is random there).
 */
export function keyringLookup(auth: Readonly<Record<string, AuthEntry | null>>, image: string): AuthEntry[] {
  const credentials = new Map<string, AuthEntry[]>();
  for (const [location, entry] of Object.entries(auth)) {
    const key = normalizeKey(location);
    if (key === undefined) continue; // the kubelet logs "Entry ... in dockercfg invalid" and ignores it
    const list = credentials.get(key) ?? [];
    list.push({ username: entry?.username ?? '', password: entry?.password ?? '' });
    credentials.set(key, list);
  }
  const index = [...credentials.keys()].sort((a, b) => Buffer.compare(Buffer.from(b), Buffer.from(a)));
  const found = index.filter((key) => urlsMatch(key, image)).flatMap((key) => credentials.get(key) ?? []);
  if (found.length > 0) return found;
  if (isDefaultRegistryMatch(image)) return credentials.get(DOCKER_HUB_KEY) ?? [];
  return [];
}

/** `Add`: the index key for an `auth` map key, or undefined when Go's `url.Parse` fails. */
function normalizeKey(location: string): string | undefined {
  const withScheme = location.startsWith('https://') || location.startsWith('http://') ? location : `https://${location}`;
  const parsed = parseSchemelessUrl(withScheme.slice(withScheme.indexOf('://') + 3));
  if (parsed === undefined) return undefined;
  const path = parsed.path.startsWith('/v2/') || parsed.path.startsWith('/v1/') ? parsed.path.slice(3) : parsed.path;
  return path.length > 0 && path !== '/' ? parsed.host + path : parsed.host;
}

/** `isDefaultRegistryMatch`: does `image` pull from Docker Hub? */
function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash === -1 ? image : image.slice(0, slash);
  if (first.length === 0) return false;
  if (slash === -1) return true;
  if (first === 'docker.io' || first === 'index.docker.io') return true;
  return !/[.:]/.test(first);
}
