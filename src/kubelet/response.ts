import { ProviderError } from '../errors.ts';
import { isApiVersion } from './apiVersion.ts';
import type { ApiVersion } from './apiVersion.ts';
import { formatGoDuration } from './duration.ts';

/**
 * How the kubelet caches the answer (`plugin.go` `provide`): per image, per `host[:port]`, or one
 * entry for every image the provider serves. Anything else makes the kubelet discard the response.
 */
export type CacheKeyType = 'Image' | 'Registry' | 'Global';

export const CACHE_KEY_TYPES: readonly CacheKeyType[] = ['Image', 'Registry', 'Global'];

/** The only credential shape the kubelet knows (`AuthConfig`): no `auth`, `email` or tokens. */
export interface AuthEntry {
  readonly username: string;
  readonly password: string;
}

/** The response as the kubelet reads it (`CredentialProviderResponse`, same in all versions). */
export interface CredentialProviderResponse {
  /** Must equal the request's version exactly, or the kubelet rejects the response. */
  readonly apiVersion: ApiVersion;
  readonly cacheKeyType: CacheKeyType;
  /** A Go duration string (`"55m0s"`); `"0s"` means "do not cache". */
  readonly cacheDuration: string;
  /** Match key (`host[:port][/path]`, globs allowed in the host) to credentials. */
  readonly auth: Readonly<Record<string, AuthEntry>>;
}

export interface BuildResponseOptions {
  readonly apiVersion: ApiVersion;
  readonly cacheKeyType: CacheKeyType;
  /** How long the kubelet may reuse the credentials; floored to whole seconds, negative means 0. */
  readonly cacheDurationMs: number;
  readonly auth: Readonly<Record<string, AuthEntry>>;
}

const RESPONSE_KIND = 'CredentialProviderResponse';
/** What `formatGoDuration` writes; checked again before encoding so no other shape can escape. */
const GO_WHOLE_SECONDS = /^(?:[1-9]\d*h)?(?:(?:[1-9]\d*|0)m)?(?:[1-9]\d*|0)s$/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
// Go's url.Parse rejects control characters, and the kubelet drops keys it cannot parse (keyring.go Add).
const UNPARSEABLE_KEY = /[\u0000-\u0020\u007f]/;

/**
 * Builds a response the kubelet accepts, after checking what TypeScript cannot: known version
 * and cache key type, non-empty parseable auth keys, strings that survive the trip through Go
 * (a lone UTF-16 surrogate would arrive as U+FFFD and silently change a password), and no
 * path-scoped key (`reg.io/team-a`) with a `Registry` or `Global` cache key.
 * Throws `ERR_INTERNAL`: each of these is a bug in the caller, not a condition to report.
 */
export function buildResponse(options: BuildResponseOptions): CredentialProviderResponse {
  const response: CredentialProviderResponse = {
    apiVersion: options.apiVersion,
    cacheKeyType: options.cacheKeyType,
    cacheDuration: formatGoDuration(options.cacheDurationMs),
    auth: copyAuth(options.auth),
  };
  checkResponse(response);
  // §1.5 of the protocol notes: the kubelet returns a cached Registry or Global entry for every
  // image on the host (or everywhere) without asking again, so a key limited to one path would
  // leave other paths pulling anonymously until the entry expires.
  if (response.cacheKeyType !== 'Image') {
    const scoped = Object.keys(response.auth).find(isPathScoped);
    if (scoped !== undefined) {
      throw new ProviderError('ERR_INTERNAL', `refusing a path-scoped auth key ${JSON.stringify(scoped)} with cacheKeyType ${response.cacheKeyType}`);
    }
  }
  return response;
}

/** The response for "nothing to offer": no credentials, and `"0s"` so the kubelet does not cache the refusal. */
export function noCredentialsResponse(apiVersion: ApiVersion): CredentialProviderResponse {
  return buildResponse({ apiVersion, cacheKeyType: 'Image', cacheDurationMs: 0, auth: {} });
}

/**
 * Serializes `response` as the kubelet's strict decoder wants it: one JSON object, keys in the
 * order kind, apiVersion, cacheKeyType, cacheDuration, auth, auth keys sorted, each entry with only
 * `username` and `password`, then one `\n`. The object is rebuilt field by field, so an extra
 * property on the input (which the kubelet would reject as an unknown field) cannot slip through.
 */
export function encodeResponse(response: CredentialProviderResponse): string {
  checkResponse(response);
  const auth = Object.fromEntries(
    Object.keys(response.auth)
      .sort()
      .map((key) => {
        const entry = response.auth[key] as AuthEntry;
        return [key, { username: entry.username, password: entry.password }];
      }),
  );
  const wire = {
    kind: RESPONSE_KIND,
    apiVersion: response.apiVersion,
    cacheKeyType: response.cacheKeyType,
    cacheDuration: response.cacheDuration,
    auth,
  };
  return `${JSON.stringify(wire)}\n`;
}

function copyAuth(auth: Readonly<Record<string, AuthEntry>>): Readonly<Record<string, AuthEntry>> {
  // Object.fromEntries defines own properties, so even a "__proto__" key stays data.
  return Object.fromEntries(
    Object.entries(auth).map(([key, entry]) => [key, { username: entry.username, password: entry.password }]),
  );
}

function checkResponse(response: CredentialProviderResponse): void {
  const bug = (message: string): never => {
    throw new ProviderError('ERR_INTERNAL', `refusing to write a response the kubelet would reject: ${message}`);
  };
  if (!isApiVersion(response.apiVersion)) bug('unsupported apiVersion');
  if (!CACHE_KEY_TYPES.includes(response.cacheKeyType)) bug('invalid cacheKeyType');
  if (typeof response.cacheDuration !== 'string' || !GO_WHOLE_SECONDS.test(response.cacheDuration)) bug('cacheDuration is not a Go duration');
  for (const [key, entry] of Object.entries(response.auth)) {
    // Keys are hosts, never secrets, so naming one is safe; credentials are never named.
    if (key.length === 0 || UNPARSEABLE_KEY.test(key) || LONE_SURROGATE.test(key)) bug(`auth key ${JSON.stringify(key)} is not a host[:port][/path]`);
    if (typeof entry.username !== 'string' || typeof entry.password !== 'string') bug(`auth entry for ${key} needs string username and password`);
    if (LONE_SURROGATE.test(entry.username) || LONE_SURROGATE.test(entry.password)) bug(`auth entry for ${key} is not valid Unicode`);
  }
}

/**
 * Does the kubelet store `key` with a path? As `keyring.go` `Add` normalizes it: scheme dropped,
 * query and fragment ignored, a leading `/v1/` or `/v2/` removed, and `""` or `/` meaning none.
 */
function isPathScoped(key: string): boolean {
  // A bare `host[:port]`, every key a token response has: no path, and none of the regex built-ins
  // below on a warm exec (their first call alone cost it ~0.1 M instructions).
  if (!key.includes('/')) return false;
  const rest = key.replace(/^https?:\/\//, '').split(/[?#]/)[0] ?? '';
  const slash = rest.indexOf('/');
  if (slash === -1) return false;
  let path = rest.slice(slash);
  if (path.startsWith('/v1/') || path.startsWith('/v2/')) path = path.slice(3);
  return path !== '' && path !== '/';
}
