import type { Memo } from '../../cache/memo.ts';
import type { Settings } from '../../config/settings.ts';
import { ProviderError, withCode } from '../../errors.ts';
import { errnoCode } from '../../errno.ts';
import type { ServiceAccountRef } from '../serviceAccount.ts';
import type { Logger } from '../../log.ts';
import type { HttpClient } from '../../net/http.ts';
import { readOciError } from '../../net/ociError.ts';
import { SERVICE_RETRY } from '../../net/retryPolicy.ts';
import type { Clock, Env, FileReader } from '../../runtime.ts';
import type { FederatedSession, Signer } from '../types.ts';
import { cachedSession } from '../session.ts';
import { decodeJwtClaims, readSessionLifetime } from '../../oci/jwt.ts';
import { generateSessionKeyPair, publicKeySpkiBase64 } from '../../oci/keys.ts';
import { randomHex } from '../../webCrypto.ts';

/**
 * OKE Workload Identity for one pod (oci-auth.md §6.2): the pod's service-account token, which the
 * kubelet hands the provider, is exchanged at the cluster's proxymux for a resource principal
 * session token (RPST) bound to a fresh session key. OCIR requests are then signed as `ST$<RPST>`
 * with that key, so OCIR and IAM see the workload (namespace, service account, cluster), not the node.
 */
export const PROXYMUX_PORT = 12250;
export const PROXYMUX_PATH = '/resourcePrincipalSessionTokens';
/** Go's client waits 30 s; the exchange is one hop inside the cluster, so 10 s leaves room for a retry within the exec. */
export const PROXYMUX_TIMEOUT_MS = 10_000;

export interface WorkloadIdentityInit {
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly files: FileReader;
  /** For `KUBERNETES_SERVICE_HOST` when no endpoint is configured. */
  readonly env: Env;
  readonly settings: Pick<Settings, 'workloadIdentityEndpoint' | 'workloadIdentityCaFile'>;
  /** Sessions are shared per service account (the node's directory, or memory when it is unusable). */
  readonly memo: Memo;
}

/**
 * The signer for one service account: its cache name (namespace, name and UID from the token's
 * claims, never the token) and a provider that exchanges the token when no session is cached.
 * Throws `ERR_WORKLOAD_IDENTITY` at once when the node is not set up for workload identity.
 */
export function workloadSigner(init: WorkloadIdentityInit, account: ServiceAccountRef, token: string): Signer {
  const endpoint = proxymuxEndpoint(init.settings, init.env);
  const caFile = init.settings.workloadIdentityCaFile;
  if (caFile === undefined) {
    throw new ProviderError('ERR_WORKLOAD_IDENTITY', `the service account ${account.namespace}/${account.name} asks for workload identity, but no cluster CA is configured`, {
      key: 'WORKLOAD_IDENTITY_CA_FILE',
      hint: 'set workloadIdentityCaFile / WORKLOAD_IDENTITY_CA_FILE to the cluster CA (PEM) that signed the proxymux certificate',
    });
  }
  const who = [endpoint.host, account.namespace, account.name, account.uid ?? ''];
  const exchange = (): Promise<FederatedSession> => exchangeServiceAccountToken({ ...init, endpoint, caFile, account, token });
  return {
    principalKey: `workload:${who[0]}:${who.slice(1).join('/')}`,
    identity: cachedSession(init.memo, ['workload', ...who], init.clock, exchange),
  };
}

/** The configured endpoint, else `https://$KUBERNETES_SERVICE_HOST:12250` as the SDKs build it. */
export function proxymuxEndpoint(settings: Pick<Settings, 'workloadIdentityEndpoint'>, env: Env): URL {
  if (settings.workloadIdentityEndpoint !== undefined) return new URL(settings.workloadIdentityEndpoint);
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  if (host === undefined || host === '') {
    throw new ProviderError('ERR_WORKLOAD_IDENTITY', 'no OKE proxymux endpoint: workloadIdentityEndpoint is not set and the environment has no KUBERNETES_SERVICE_HOST', {
      key: 'WORKLOAD_IDENTITY_ENDPOINT',
      hint: 'set workloadIdentityEndpoint / WORKLOAD_IDENTITY_ENDPOINT to https://<kubernetes service or API endpoint IP>:12250',
    });
  }
  // An IPv6 service host needs brackets in a URL.
  return new URL(`https://${host.includes(':') ? `[${host}]` : host}:${PROXYMUX_PORT}`);
}

interface ExchangeInit extends WorkloadIdentityInit {
  readonly endpoint: URL;
  readonly caFile: string;
  readonly account: ServiceAccountRef;
  readonly token: string;
}

/** One exchange: a fresh RSA-2048 session key, `POST /resourcePrincipalSessionTokens`, the RPST read from the answer. */
export async function exchangeServiceAccountToken(init: ExchangeInit): Promise<FederatedSession> {
  const who = `${init.account.namespace}/${init.account.name}`;
  const caPem = await readClusterCa(init.files, init.caFile);
  const session = await generateSessionKeyPair();
  const url = new URL(PROXYMUX_PATH, init.endpoint);
  // Python and TS send base64 SPKI; Go the PEM. Both are accepted (§6.2); the shorter form here.
  const body = JSON.stringify({ podKey: publicKeySpkiBase64(session.publicKey) });
  const requestId = newOpcRequestId();
  const name = `OKE proxymux POST ${url.host}${PROXYMUX_PATH}`;
  let response;
  try {
    response = await init.http({
      name,
      timeoutMs: PROXYMUX_TIMEOUT_MS,
      retry: SERVICE_RETRY,
      request: () => ({
        method: 'POST',
        url,
        body,
        caPem,
        headers: {
          authorization: `Bearer ${init.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
          'opc-request-id': requestId,
        },
      }),
    });
  } catch (error) {
    if (!(error instanceof ProviderError) || error.code !== 'ERR_NETWORK') throw error;
    // The usual cause is a certificate the configured CA did not sign, or the wrong address.
    throw new ProviderError('ERR_NETWORK', error.message, {
      ...error.details,
      cause: error,
      hint: 'workloadIdentityEndpoint must be the proxymux (port 12250 of the Kubernetes service or API endpoint IP) and workloadIdentityCaFile the cluster CA that signed its certificate',
    });
  }
  if (response.status !== 200) throw exchangeError(readOciError(response), url.host, who);

  const rpst = parseProxymuxAnswer(response.body, url.host);
  const claims = withCode('ERR_WORKLOAD_IDENTITY', () => decodeJwtClaims(rpst, 'the RPST from the OKE proxymux'), { host: url.host });
  const lifetime = readSessionLifetime(claims, init.clock.now());
  if ('unusable' in lifetime) {
    throw new ProviderError('ERR_WORKLOAD_IDENTITY', `the RPST from the OKE proxymux ${lifetime.unusable}`, {
      host: url.host,
      hint: 'check the node clock (chrony); if it is right, the proxymux minted a bad token, so open a support ticket',
    });
  }
  const { expiresAtMs, issuedAtMs } = lifetime;
  const tenancy = claims['res_tenant'];
  if (typeof tenancy !== 'string' || tenancy === '') {
    throw new ProviderError('ERR_WORKLOAD_IDENTITY', 'the OKE proxymux returned an RPST without res_tenant', { host: url.host });
  }
  init.log.debug('exchanged a service account token for a workload identity', { serviceAccount: who, expiresAt: new Date(expiresAtMs).toISOString() });
  return {
    keyId: `ST$${rpst}`,
    privateKey: session.privateKey,
    principal: `workload:${who}`,
    tenancyId: tenancy,
    expiresAtMs,
    issuedAtMs,
  };
}

/**
 * The RPST from the proxymux's answer: a JSON string literal whose content is base64 of
 * `{"token":"ST$<RPST>"}` (Go's test fixture writes it with `%q`). Surrounding quotes and
 * whitespace are optional; the key is matched case-insensitively, as Go's decoder does. Throws
 * `ERR_WORKLOAD_IDENTITY` naming the problem, never the body.
 */
export function parseProxymuxAnswer(body: string, host: string): string {
  const fail = (why: string): never => {
    throw new ProviderError('ERR_WORKLOAD_IDENTITY', `the OKE proxymux answered 200 with ${why}`, {
      host,
      hint: 'the endpoint may not be the OKE proxymux; check workloadIdentityEndpoint',
    });
  };
  let text = body.trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return fail('a body that is not a base64 string');
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return fail('base64 that does not hold JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return fail('base64 that does not hold a JSON object');
  const key = Object.keys(document).find((k) => k.toLowerCase() === 'token');
  const token = key === undefined ? undefined : (document as Record<string, unknown>)[key];
  if (typeof token !== 'string') return fail('no token in it');
  if (!token.startsWith('ST$') || token.length === 3) return fail('a token that is not ST$<RPST>');
  return token.slice(3);
}

async function readClusterCa(files: FileReader, path: string): Promise<string> {
  let text: string;
  try {
    text = await files.readText(path);
  } catch (cause) {
    const code = errnoCode(cause);
    throw new ProviderError('ERR_WORKLOAD_IDENTITY', `cannot read the cluster CA ${path} (${code ?? 'unknown error'})`, {
      key: 'WORKLOAD_IDENTITY_CA_FILE',
      cause,
      hint: 'point workloadIdentityCaFile at the cluster CA certificate (PEM) on the node',
    });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ProviderError('ERR_WORKLOAD_IDENTITY', `the cluster CA ${path} holds no PEM certificate`, {
      key: 'WORKLOAD_IDENTITY_CA_FILE',
      hint: 'point workloadIdentityCaFile at the cluster CA certificate (PEM) on the node',
    });
  }
  return text;
}

function exchangeError(info: ReturnType<typeof readOciError>, host: string, who: string): ProviderError {
  const said = info.message !== undefined ? `: ${info.message}` : '';
  const facts = { host, status: info.status, ociCode: info.ociCode, opcRequestId: info.opcRequestId };
  if (info.status === 401) {
    return new ProviderError('ERR_SERVICE_ACCOUNT_TOKEN', `the OKE proxymux refused the service account token of ${who}${said}`, {
      ...facts,
      hint: 'the token must come from this cluster, be unexpired, and carry an audience the proxymux accepts (tokenAttributes.serviceAccountTokenAudience)',
    });
  }
  if (info.status === 403) {
    return new ProviderError('ERR_WORKLOAD_IDENTITY', `the OKE proxymux refused workload identity for ${who}: the cluster must be an enhanced cluster${said}`, {
      ...facts,
      hint: 'OKE Workload Identity works only on enhanced clusters; upgrade the cluster type, or remove the annotation so the pod pulls with the node identity',
    });
  }
  return new ProviderError('ERR_WORKLOAD_IDENTITY', `the OKE proxymux failed the token exchange for ${who}${said}`, {
    ...facts,
    hint: info.status >= 500 ? 'the proxymux is failing; retry, and check the cluster control plane' : 'open a support ticket with the opc-request-id',
  });
}

/** `<32hex>/<32hex>/<32hex>`, the form Go and Python send, so one id follows the exchange through OCI's logs. */
function newOpcRequestId(): string {
  return [0, 1, 2].map(() => randomHex(16).toUpperCase()).join('/');
}
