import type { HttpClient } from '../net/http.ts';
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
  let response;
  try {
    response = await http({
      name: `OCIR GET ${url.host}/v2/.../manifests`,
      timeoutMs: PROBE_TIMEOUT_MS,
      retry: NO_RETRY,
      request: () => ({ method: 'GET', url, headers: { authorization: `Bearer ${request.token}`, accept: MANIFEST_ACCEPT } }),
    });
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
