import { ProviderError } from './errors.ts';
import type { CredentialProviderRequest } from './kubelet/request.ts';
import { buildResponse, noCredentialsResponse, type CredentialProviderResponse } from './kubelet/response.ts';
import { parseImage } from './kubelet/image.ts';
import type { Logger } from './log.ts';
import type { HttpClient } from './net/http.ts';
import type { IdentityProvider, Signer } from './oci/identity.ts';
import { probeRepositoryAccess, type AccessVerdict } from './ocir/accessProbe.ts';
import { DockerTokenRefused, fetchDockerToken, type DockerToken } from './ocir/dockerToken.ts';
import { recognizeRegistry, type RegistryPolicy } from './ocir/hosts.ts';
import type { Settings } from './config/settings.ts';
import type { Clock } from './runtime.ts';
import type { CredentialCache } from './cache/credentialCache.ts';

/**
 * One exec, from the kubelet's request to its response: is the registry one we may sign for,
 * who signs, the docker token, the optional access check, and how long the kubelet may cache it.
 */
export interface ProviderContext {
  readonly settings: Settings;
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Who signs for this request (the node, or the pod's workload identity) and the name its cached
   * credentials are filed under; undefined when this pod gets no credentials (`serviceAccountFallback: none`).
   */
  readonly signer: Signer | undefined;
  readonly registryPolicy: RegistryPolicy;
  /** The node's shared credential cache; undefined when the cache directory is unusable or turned off. */
  readonly cache?: CredentialCache;
}

/**
 * Subtracted from a token's remaining life for the kubelet's cache: a pull that starts just before
 * the cache entry expires still gets a token that outlives its registry handshake.
 * 5 min of a 60 min OCIR token gives the original plugin's `defaultCacheDuration` of 55m.
 */
export const CACHE_SAFETY_MARGIN_MS = 5 * 60_000;
/** While the IAM policy does not (yet) let the token read the repository: short, so a late policy heals by itself. */
export const UNVERIFIED_CACHE_DURATION_MS = 2 * 60_000;

/** How long the kubelet may reuse this token: its remaining life minus the margin (at most half the life for short tokens). */
export function cacheDurationMs(token: DockerToken, verdict: AccessVerdict | 'unchecked', nowMs: number): number {
  const remaining = token.expiresAtMs - nowMs;
  const full = Math.max(0, remaining - Math.min(CACHE_SAFETY_MARGIN_MS, remaining / 2));
  if (verdict === 'authorized' || verdict === 'unchecked') return full;
  return Math.min(full, UNVERIFIED_CACHE_DURATION_MS);
}

/**
 * Answers one request: refuses a registry that is not OCIR, answers "no credentials" when the pod
 * gets none, else the docker token of the request's signer (cached per registry and signer).
 */
export async function provideCredentials(request: CredentialProviderRequest, ctx: ProviderContext): Promise<CredentialProviderResponse> {
  const image = parseImage(request.image);
  const match = recognizeRegistry(image.registry, ctx.registryPolicy);
  if (match === undefined) {
    throw new ProviderError('ERR_REGISTRY_NOT_ALLOWED', `refusing to sign for ${image.registry}: it is not an OCIR host`, {
      host: image.registry,
      hint: 'narrow matchImages in the kubelet config to OCIR hosts, or allow this registry explicitly with registryHosts / REGISTRY_HOSTS',
    });
  }
  ctx.log.debug('registry recognised', { host: image.registry, kind: match.kind });
  const signer = ctx.signer;
  // A valid empty answer, not a failure: the kubelet then pulls as it would without this provider
  // (imagePullSecrets, anonymous), logs nothing, and with "0s" does not remember the refusal.
  if (signer === undefined) return noCredentialsResponse(request.apiVersion);

  const fetch = () => dockerTokenWithOneRefresh(image.registry, signer.identity, ctx);
  const token = ctx.cache === undefined ? await fetch() : await ctx.cache.dockerToken(image.registry, signer.principalKey, fetch);
  const verdict = ctx.settings.tokenValidation ? await checkAccess(image.registry, image.repository, image.digest ?? image.tag, token, signer.principalKey, ctx) : 'unchecked';
  if (request.serviceAccountToken !== undefined && token.token === request.serviceAccountToken) {
    // The kubelet discards a response whose password is the pod's token unless cacheType is Token
    // (kubelet-protocol.md §4.4 step 8). A docker token never is; this guards against a bug that would.
    throw new ProviderError('ERR_INTERNAL', 'refusing to answer with the service account token as the password');
  }

  return buildResponse({
    apiVersion: request.apiVersion,
    // The docker token is good for every repository the principal may read on this host.
    cacheKeyType: 'Registry',
    cacheDurationMs: cacheDurationMs(token, verdict, ctx.clock.now()),
    auth: { [image.registry]: { username: ctx.settings.defaultUser, password: token.token } },
  });
}

/** Token validation, at most once per token and repository when the cache can remember a success. */
async function checkAccess(
  registry: string,
  repository: string,
  reference: string | undefined,
  token: DockerToken,
  principalKey: string,
  ctx: ProviderContext,
): Promise<AccessVerdict> {
  if (ctx.cache !== undefined && (await ctx.cache.isVerified(registry, principalKey, repository, token))) return 'authorized';
  const verdict = await probeRepositoryAccess(ctx.http, ctx.log, {
    registry,
    protocol: ctx.settings.registryProtocol,
    repository,
    reference: reference ?? 'latest',
    token: token.token,
  });
  if (verdict === 'authorized') await ctx.cache?.markVerified(registry, principalKey, repository, token);
  return verdict;
}

/**
 * A 401 to a request signed with a session token can mean the token was revoked or the cached
 * session is stale: re-federate once and try again. Never more (no loop), and never for API keys,
 * where a second try would fail the same way.
 */
async function dockerTokenWithOneRefresh(registry: string, provider: IdentityProvider, ctx: ProviderContext): Promise<DockerToken> {
  const request = (identity: Awaited<ReturnType<IdentityProvider>>) =>
    fetchDockerToken(ctx.http, ctx.clock, {
      registry,
      protocol: ctx.settings.registryProtocol,
      tokenPath: ctx.settings.registryTokenPath,
      identity,
    });
  const identity = await provider();
  try {
    return await request(identity);
  } catch (error) {
    if (!(error instanceof DockerTokenRefused) || error.info.status !== 401 || identity.expiresAtMs === undefined) throw error;
    ctx.log.info('OCIR refused the session token; federating again once', { host: registry });
    return request(await provider({ forceRefresh: true, rejected: identity }));
  }
}
