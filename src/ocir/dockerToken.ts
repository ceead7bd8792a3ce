import { ProviderError } from '../errors.ts';
import type { HttpClient } from '../net/http.ts';
import { readOciError, type OciErrorInfo } from '../net/ociError.ts';
import { SERVICE_RETRY } from '../net/retryPolicy.ts';
import type { Clock } from '../runtime.ts';
import { GENERIC_HEADERS, signRequest, type SigningIdentity } from '../oci/signer.ts';

/** OCIR's docker token endpoint path (the original plugin's `registryTokenPath` default). */
export const DEFAULT_TOKEN_PATH = '/20180419/docker/token';
/** Docker's spec default is 60 s, but OCIR tokens live 3600 s (observed); used only when `expires_in` is missing. */
export const DEFAULT_DOCKER_TOKEN_LIFETIME_S = 3600;
/**
 * The longest `expires_in` believed. OCIR's tokens live 3600 s; a day and more is no registry
 * token's lifetime but a unit mistake (3600000 "seconds" meant as ms), and the kubelet would keep
 * the dead token that long.
 */
export const MAX_DOCKER_TOKEN_LIFETIME_S = 24 * 3600;
/**
 * What a token may be made of: visible ASCII. It travels as a registry password, then as a Bearer
 * credential (RFC 6750 token68 is ASCII) or inside Basic auth; anything else (controls, spaces,
 * non-ASCII, a lone UTF-16 surrogate that Go would turn into U+FFFD) arrives changed or not at all.
 */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;
export const OCIR_TIMEOUT_MS = 10_000;

/** A docker token and when it stops working. The token is a secret: never log it. */
export interface DockerToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

export interface DockerTokenRequest {
  readonly registry: string;
  readonly protocol: 'https' | 'http';
  readonly tokenPath: string;
  /** Who signs, with a non-secret name for messages. */
  readonly identity: SigningIdentity & { readonly principal: string };
}

/** The failure of a docker token request, with the answer's facts; `status` 401 means the identity was refused. */
export class DockerTokenRefused extends ProviderError {
  readonly info: OciErrorInfo;
  constructor(info: OciErrorInfo, host: string, principal: string) {
    const said = info.message !== undefined ? `: ${info.message}` : '';
    super('ERR_OCIR_TOKEN', `OCIR refused the docker token request for ${host} signed as ${principal}${said}`, {
      host,
      status: info.status,
      ociCode: info.ociCode,
      opcRequestId: info.opcRequestId,
      hint: dockerTokenHint(info.status),
    });
    this.info = info;
  }
}

function dockerTokenHint(status: number): string {
  if (status === 401) {
    return 'the signing identity was not accepted: for an instance principal the node clock must be within 5 minutes of OCI; for an API key the key, fingerprint and user must match the OCI config profile';
  }
  if (status === 404) return 'the registry token path is wrong (registryTokenPath / REGISTRY_TOKEN_PATH) or the host is not an OCIR endpoint';
  if (status === 429) return 'OCIR is throttling this node; a shared credential cache keeps token requests rare';
  if (status >= 500) return 'OCIR is failing; see the OCI status page and retry';
  return 'OCIR rejected the request; open a support ticket with the opc-request-id';
}

/** `GET <protocol>://<registry><tokenPath>`, OCI-signed by `identity` (once: never re-signed with a second identity). */
export async function fetchDockerToken(http: HttpClient, clock: Clock, request: DockerTokenRequest): Promise<DockerToken> {
  const url = new URL(`${request.protocol}://${request.registry}${request.tokenPath}`);
  const response = await http({
    name: `OCIR GET ${url.host}${url.pathname}`,
    timeoutMs: OCIR_TIMEOUT_MS,
    retry: SERVICE_RETRY,
    request: () => ({
      method: 'GET',
      url,
      headers: signRequest({ method: 'GET', url, headers: { accept: 'application/json' } }, request.identity, {
        date: new Date(clock.now()),
        headersToSign: GENERIC_HEADERS,
      }),
    }),
  });
  if (response.status !== 200) throw new DockerTokenRefused(readOciError(response), url.host, request.identity.principal);
  return parseDockerTokenResponse(response.body, url.host, clock.now());
}

/** Reads `token` (falling back to the OAuth2 alias `access_token`) and `expires_in`; an empty token is an error, never an answer. */
export function parseDockerTokenResponse(body: string, host: string, nowMs: number): DockerToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ProviderError('ERR_OCIR_TOKEN', `OCIR answered 200 with a body that is not JSON`, { host });
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ProviderError('ERR_OCIR_TOKEN', 'OCIR answered 200 with JSON that is not an object', { host });
  }
  const fields = parsed as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = nonEmptyString(fields.token) ?? nonEmptyString(fields.access_token);
  if (token === undefined) {
    throw new ProviderError('ERR_OCIR_TOKEN', 'OCIR answered 200 without a token', { host });
  }
  if (!TOKEN_CHARACTERS.test(token)) {
    // The position helps a support ticket; the character itself could be part of a secret.
    const at = [...token].findIndex((c) => !TOKEN_CHARACTERS.test(c));
    throw new ProviderError('ERR_OCIR_TOKEN', `OCIR answered 200 with a token that cannot be passed on as a registry password (character ${at + 1} is not visible ASCII)`, {
      host,
      hint: 'OCIR tokens are printable ASCII; a proxy or middlebox between the node and OCIR may have altered the answer',
    });
  }
  return { token, expiresAtMs: nowMs + lifetimeSeconds(fields.expires_in, host) * 1000 };
}

/**
 * `expires_in` when absent is the documented default. Present, it must be what Docker's own Go
 * client decodes (an `int`) and lie in 1 s to {@link MAX_DOCKER_TOKEN_LIFETIME_S}: anything else
 * (0, negative, a string, a fraction, a huge number) means the answer is not understood, and
 * guessing a lifetime would let the kubelet cache a dead token. A clear failure is retried on the
 * next pull; a wrong cache entry is not.
 */
function lifetimeSeconds(value: unknown, host: string): number {
  if (value === undefined) return DEFAULT_DOCKER_TOKEN_LIFETIME_S;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_DOCKER_TOKEN_LIFETIME_S) return value;
  // From JSON.parse, so always stringifiable; a number is shown as itself (JSON would write Infinity as null).
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  throw new ProviderError(
    'ERR_OCIR_TOKEN',
    `OCIR answered 200 with an unusable expires_in ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}: it must be whole seconds from 1 to ${MAX_DOCKER_TOKEN_LIFETIME_S}`,
    { host, hint: 'the answer did not come from OCIR as expected; check registryHosts and any proxy between the node and OCIR' },
  );
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
