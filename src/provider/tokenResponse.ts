import { buildResponse, type CredentialProviderResponse } from '../kubelet/response.ts';
import type { ApiVersion } from '../kubelet/apiVersion.ts';
import type { AccessVerdict } from '../ocir/accessProbe.ts';
import { cacheDurationMs } from './cacheDuration.ts';

/**
 * The kubelet's answer for a docker token: one registry-wide entry (the token is good for every
 * repository the principal may read on this host), kept by the kubelet for as long as the policy
 * in `cacheDurationMs` allows. Built here for a fresh answer and for a warm one alike.
 */
export function tokenResponse(init: {
  readonly apiVersion: ApiVersion;
  readonly registry: string;
  readonly username: string;
  readonly token: { readonly token: string; readonly expiresAtMs: number };
  readonly verdict: AccessVerdict | 'unchecked';
  readonly nowMs: number;
}): CredentialProviderResponse {
  return buildResponse({
    apiVersion: init.apiVersion,
    cacheKeyType: 'Registry',
    cacheDurationMs: cacheDurationMs(init.token, init.verdict, init.nowMs),
    auth: { [init.registry]: { username: init.username, password: init.token.token } },
  });
}
