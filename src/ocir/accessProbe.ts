import type { HttpClient, HttpResponse } from '../net/http.ts';
import { readOciError } from '../net/ociError.ts';
import { NO_RETRY } from '../net/retryPolicy.ts';
import type { Logger } from '../log.ts';

/**
 * Token validation: OCIR hands out a docker token to any authenticated principal, and the IAM
 * policy (`read repos`) is only checked when the registry is used. A node whose dynamic group or
 * policy is not in effect yet would have the kubelet cache a useless token for an hour. So, when
 * enabled, we read the repository's manifest once with the new token.
 */
export type AccessVerdict =
  /** 200, or 404 (the token may read the repository; the reference just does not exist). */
  | 'authorized'
  /** 401/403: the token is valid but the policy does not let it read this repository (yet). */
  | 'denied'
  /** No verdict: network failure or a 5xx. */
  | 'unknown';

/** Media types a runtime accepts, so OCIR answers the manifest as it would for a pull. */
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const PROBE_TIMEOUT_MS = 5_000;

export interface AccessProbeRequest {
  readonly registry: string;
  readonly protocol: 'https' | 'http';
  readonly repository: string;
  /**
   * Tag or digest to read. The kubelet sends no tag, so we probe `latest`, but a 404 counts as
   * authorized: the verdict never depends on the tag existing.
   */
  readonly reference: string;
  readonly token: string;
}

export async function probeRepositoryAccess(http: HttpClient, log: Logger, request: AccessProbeRequest): Promise<AccessVerdict> {
  const url = new URL(`${request.protocol}://${request.registry}/v2/${request.repository}/manifests/${request.reference}`);
  const get = (authorization: string) =>
    http({
      name: `OCIR GET ${url.host}/v2/.../manifests`,
      timeoutMs: PROBE_TIMEOUT_MS,
      retry: NO_RETRY,
      request: () => ({ method: 'GET', url, headers: { authorization, accept: MANIFEST_ACCEPT } }),
    });
  let response: HttpResponse;
  try {
    // OCIR accepts its docker token as a Bearer directly (the original plugin's check). A registry
    // that honours only scoped tokens answers 401 with a challenge: then do what a runtime does.
    response = await get(`Bearer ${request.token}`);
    const realm = response.status === 401 ? sameHostRealm(response.headers.get('www-authenticate'), url) : undefined;
    if (realm !== undefined) {
      const scoped = await exchangeForScopedToken(http, realm, request);
      if (scoped !== undefined) response = await get(`Bearer ${scoped}`);
    }
  } catch (error) {
    log.warn('repository access check failed; answering with a short cache duration', {
      host: url.host,
      reason: error instanceof Error ? error.message : String(error),
    });
    return 'unknown';
  }
  if (response.status === 200 || response.status === 404) return 'authorized';
  const info = readOciError(response);
  if (response.status === 401 || response.status === 403) {
    log.warn('the docker token may not read this repository: the IAM policy (read repos) is missing or not in effect yet', {
      host: url.host,
      repository: request.repository,
      status: response.status,
      code: info.ociCode,
      opcRequestId: info.opcRequestId,
    });
    return 'denied';
  }
  log.warn('repository access check got an unexpected answer', { host: url.host, status: response.status, code: info.ociCode });
  return 'unknown';
}

/**
 * The token realm of a `Bearer realm="...",service="..."` challenge, only when it is on the registry's
 * own origin (as OCIR's is): the docker token is never sent to a host the challenge merely names.
 */
export function sameHostRealm(challenge: string | null, registryUrl: URL): { url: URL; service: string | undefined } | undefined {
  if (challenge === null || !/^bearer\s/i.test(challenge)) return undefined;
  const params = new Map<string, string>();
  for (const match of challenge.matchAll(/(\w+)="([^"]*)"/g)) params.set((match[1] ?? '').toLowerCase(), match[2] ?? '');
  const realm = params.get('realm');
  if (realm === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return undefined;
  }
  if (url.origin !== registryUrl.origin) return undefined;
  return { url, service: params.get('service') };
}

/** The runtime's exchange: GET the realm with Basic `BEARER_TOKEN:<token>` for a token scoped to pull this repository. */
async function exchangeForScopedToken(
  http: HttpClient,
  realm: { url: URL; service: string | undefined },
  request: AccessProbeRequest,
): Promise<string | undefined> {
  const url = new URL(realm.url);
  if (realm.service !== undefined) url.searchParams.set('service', realm.service);
  url.searchParams.set('scope', `repository:${request.repository}:pull`);
  const basic = Buffer.from(`BEARER_TOKEN:${request.token}`).toString('base64');
  const response = await http({
    name: `OCIR GET ${url.host}${url.pathname} (scoped)`,
    timeoutMs: PROBE_TIMEOUT_MS,
    retry: NO_RETRY,
    request: () => ({ method: 'GET', url, headers: { authorization: `Basic ${basic}`, accept: 'application/json' } }),
  });
  if (response.status !== 200) return undefined;
  try {
    const body = JSON.parse(response.body) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    return undefined;
  }
}
