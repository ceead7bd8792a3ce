import type { Memo } from '../cache/memo.ts';
import type { Settings } from '../config/settings.ts';
import { ProviderError } from '../errors.ts';
import type { SignerRequest } from '../identity/resolveSigner.ts';
import type { IdentityProvider, Signer } from '../identity/types.ts';
import { parseImage } from '../kubelet/image.ts';
import type { CredentialProviderRequest } from '../kubelet/request.ts';
import { noCredentialsResponse, type CredentialProviderResponse } from '../kubelet/response.ts';
import type { Logger } from '../log.ts';
import type { HttpClient } from '../net/http.ts';
import type { AccessVerdict } from '../ocir/accessProbe.ts';
import { accessProofEntry, accessProofFor, dockerTokenEntry, dockerTokenIsFresh, type CachedDockerToken } from '../ocir/cacheEntries.ts';
import { recognizeRegistry, type RegistryPolicy } from '../ocir/hosts.ts';
import type { Clock } from '../runtime.ts';
import { tokenResponse } from './tokenResponse.ts';

/**
 * One exec, from the kubelet's request to its response, in the order that touches the least:
 * decode (done by the caller) → is the registry one we may sign for → who signs → the cache → the
 * docker token (and the optional access check) → how long the kubelet may keep it. A refused
 * registry touches nothing: no identity, no file, no network.
 */
export interface ProviderContext {
  readonly settings: Settings;
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registryPolicy: RegistryPolicy;
  /** Who signs for this request; asked only once the registry is accepted. */
  readonly resolveSigner: (request: SignerRequest) => Promise<Signer | undefined>;
  /** The node's shared cache (or memory when it is unusable or turned off); opened on first use. */
  readonly memo: Memo;
}

/**
 * Answers one request: refuses a registry that is not OCIR, answers "no credentials" when the pod
 * gets none, else the docker token of the request's signer (cached per registry and identity).
 */
export interface Answer {
  readonly response: CredentialProviderResponse;
  /**
   * Present when the answer holds for every repository of the registry and every request of the
   * same shape until the token is no longer fresh (no token validation, no service-account token):
   * what the warm answer may serve again.
   */
  readonly registryWide?: { readonly registry: string; readonly username: string; readonly principalKey: string };
}

export async function provideCredentials(request: CredentialProviderRequest, ctx: ProviderContext): Promise<Answer> {
  const image = parseImage(request.image);
  const match = recognizeRegistry(image.registry, ctx.registryPolicy);
  if (match === undefined) {
    throw new ProviderError('ERR_REGISTRY_NOT_ALLOWED', `refusing to sign for ${image.registry}: it is not an OCIR host`, {
      host: image.registry,
      hint: 'narrow matchImages in the kubelet config to OCIR hosts, or allow this registry explicitly with registryHosts / REGISTRY_HOSTS',
    });
  }
  ctx.log.debug('registry recognised', { host: image.registry, kind: match.kind });
  const signer = await ctx.resolveSigner(request);
  // A valid empty answer, not a failure: the kubelet then pulls as it would without this provider
  // (imagePullSecrets, anonymous), logs nothing, and with "0s" does not remember the refusal.
  if (signer === undefined) return { response: noCredentialsResponse(request.apiVersion) };

  const token = await ctx.memo.get(
    dockerTokenEntry(image.registry, signer.principalKey),
    (cached) => dockerTokenIsFresh(cached, ctx.clock.now()),
    () => dockerTokenWithOneRefresh(image.registry, signer.identity, ctx),
  );
  const verdict = ctx.settings.tokenValidation ? await checkAccess(image.registry, image.repository, image.digest ?? image.tag, token, signer.principalKey, ctx) : 'unchecked';
  if (request.serviceAccountToken !== undefined && token.token === request.serviceAccountToken) {
    // The kubelet discards a response whose password is the pod's token unless cacheType is Token
    // (kubelet-protocol.md §4.4 step 8). A docker token never is; this guards against a bug that would.
    throw new ProviderError('ERR_INTERNAL', 'refusing to answer with the service account token as the password');
  }

  const username = ctx.settings.defaultUser;
  const response = tokenResponse({ apiVersion: request.apiVersion, registry: image.registry, username, token, verdict, nowMs: ctx.clock.now() });
  const podless = request.serviceAccountToken === undefined && request.serviceAccountAnnotations === undefined;
  return { response, ...(verdict === 'unchecked' && podless ? { registryWide: { registry: image.registry, username, principalKey: signer.principalKey } } : {}) };
}

/** Token validation, at most once per token and repository: a success is remembered. */
async function checkAccess(
  registry: string,
  repository: string,
  reference: string | undefined,
  token: CachedDockerToken,
  principalKey: string,
  ctx: ProviderContext,
): Promise<AccessVerdict> {
  const entry = accessProofEntry(registry, principalKey, repository);
  const proof = accessProofFor(token);
  const known = ctx.memo.read(entry);
  if (known !== undefined && known.tokenSha256 === proof.tokenSha256 && known.expiresAtMs > ctx.clock.now()) return 'authorized';
  const { probeRepositoryAccess } = await import('../ocir/accessProbe.ts');
  const verdict = await probeRepositoryAccess(ctx.http, ctx.log, {
    registry,
    protocol: ctx.settings.registryProtocol,
    repository,
    reference: reference ?? 'latest',
    token: token.token,
  });
  if (verdict === 'authorized') await ctx.memo.write(entry, proof);
  return verdict;
}

/**
 * A 401 to a request signed with a session token can mean the token was revoked or the cached
 * session is stale: re-federate once and try again. Never more (no loop), and never for API keys,
 * where a second try would fail the same way.
 */
export async function dockerTokenWithOneRefresh(registry: string, provider: IdentityProvider, ctx: Pick<ProviderContext, 'http' | 'clock' | 'log' | 'settings'>): Promise<CachedDockerToken> {
  const issuedAtMs = ctx.clock.now();
  // Loaded on a miss only (with the request signer and node:crypto behind it): a cached answer never fetches.
  const { DockerTokenRefused, fetchDockerToken } = await import('../ocir/dockerToken.ts');
  const request = async (identity: Awaited<ReturnType<IdentityProvider>>): Promise<CachedDockerToken> => ({
    ...(await fetchDockerToken(ctx.http, ctx.clock, {
      registry,
      protocol: ctx.settings.registryProtocol,
      tokenPath: ctx.settings.registryTokenPath,
      identity,
    })),
    issuedAtMs,
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
