import { ProviderError, withCode } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { HttpClient } from '../../net/http.ts';
import { readOciError } from '../../net/ociError.ts';
import { SERVICE_RETRY } from '../../net/retryPolicy.ts';
import type { Clock, Env } from '../../runtime.ts';
import type { FederatedSession } from '../types.ts';
import type { ImdsClient, InstanceCertificates } from '../../oci/imds.ts';
import { decodeJwtClaims, readSessionLifetime } from '../../oci/jwt.ts';
import { generateSessionKeyPair, publicKeySpkiBase64 } from '../../oci/keys.ts';
import { createRegionTable, parseImdsRegionInfo, resolveAuthEndpoint, type RegionInfo } from '../../oci/regions.ts';
import { FEDERATION_HEADERS, signRequest } from '../../oci/signer.ts';

/**
 * Instance principal: the node's IMDS certificates are federated at the auth service
 * (`POST /v1/x509`, signed with the certificate's key) into a session token for a fresh RSA key.
 * The token and that key are one `Identity`; OCIR requests are then signed as `ST$<token>`.
 */
export const AUTH_URL_OVERRIDE_ENV = 'OCI_SDK_AUTH_CLIENT_REGION_URL';
/** The auth service answers in well under a second; 10 s is the TS SDK's circuit-breaker timeout. */
export const FEDERATION_TIMEOUT_MS = 10_000;

export interface InstancePrincipalInit {
  readonly imds: ImdsClient;
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly env: Env;
  /** Region metadata beyond the built-in table (regions-config.json, OCI_REGION_METADATA). */
  readonly regionMetadata: readonly RegionInfo[];
  readonly log: Logger;
}


/** Federates once: IMDS region and certificates, a fresh session key, the signed POST. */
export async function federateInstancePrincipal(init: InstancePrincipalInit): Promise<FederatedSession> {
  const authBase = await authServiceBaseUrl(init);
  const certificates = await init.imds.certificates();
  const session = await generateSessionKeyPair();
  const url = new URL(`${authBase}/v1/x509`);
  const body = JSON.stringify({
    certificate: certificates.leaf.raw.toString('base64'),
    publicKey: publicKeySpkiBase64(session.publicKey),
    intermediateCertificates: [certificates.intermediate.raw.toString('base64')],
    fingerprintAlgorithm: 'SHA256',
    purpose: 'DEFAULT',
  });
  const signer = { keyId: federationKeyId(certificates), privateKey: certificates.leafKey };
  const name = `auth service POST ${url.pathname}`;
  const response = await init.http({
    name,
    timeoutMs: FEDERATION_TIMEOUT_MS,
    retry: SERVICE_RETRY,
    request: () => ({
      method: 'POST',
      url,
      body,
      headers: signRequest(
        { method: 'POST', url, body, headers: { 'content-type': 'application/json' } },
        signer,
        { date: new Date(init.clock.now()), headersToSign: FEDERATION_HEADERS },
      ),
    }),
  });
  if (response.status !== 200) throw federationError(response, url.host, certificates.tenancyId);
  const token = readToken(response.body, url.host);
  const claims = withCode('ERR_FEDERATION', () => decodeJwtClaims(token), { host: url.host });
  const lifetime = readSessionLifetime(claims, init.clock.now());
  if ('unusable' in lifetime) {
    throw new ProviderError('ERR_FEDERATION', `the session token from the auth service ${lifetime.unusable}`, {
      host: url.host,
      hint: 'check the node clock (chrony) against OCI; if it is right, the auth service minted a bad token, so open a support ticket',
    });
  }
  const { expiresAtMs, issuedAtMs } = lifetime;
  const instanceId = certificates.instanceId ?? (typeof claims.sub === 'string' ? claims.sub : 'unknown');
  init.log.debug('federated instance principal', { tenancy: certificates.tenancyId, instance: instanceId, expiresAt: new Date(expiresAtMs).toISOString() });
  return {
    keyId: `ST$${token}`,
    privateKey: session.privateKey,
    principal: `instance:${instanceId}`,
    tenancyId: certificates.tenancyId,
    expiresAtMs,
    issuedAtMs,
  };
}

/** `<tenancy>/fed-x509-sha256/<sha256 of the leaf DER>`, lowercase colon hex as Go sends it. */
export function federationKeyId(certificates: InstanceCertificates): string {
  return `${certificates.tenancyId}/fed-x509-sha256/${certificates.leaf.fingerprint256.toLowerCase()}`;
}

async function authServiceBaseUrl(init: InstancePrincipalInit): Promise<string> {
  const override = init.env[AUTH_URL_OVERRIDE_ENV];
  if (override !== undefined && override.trim() !== '') return resolveAuthEndpoint('', createRegionTable(init.regionMetadata), { override, overrideName: AUTH_URL_OVERRIDE_ENV });
  const region = await init.imds.region();
  let table = createRegionTable(init.regionMetadata);
  if (table.lookup(region) === undefined && !region.includes('.')) {
    // A region newer than this build: IMDS knows its realm (Go's EnableInstanceMetadataServiceLookup).
    table = createRegionTable([...init.regionMetadata, parseImdsRegionInfo(await init.imds.regionInfo())]);
  }
  return resolveAuthEndpoint(region, table);
}

function readToken(body: string, host: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const token = (parsed as { token?: unknown } | undefined)?.token;
  if (typeof token !== 'string' || token === '') {
    throw new ProviderError('ERR_FEDERATION', 'the auth service answered 200 without a token', { host });
  }
  return token;
}

function federationError(response: Parameters<typeof readOciError>[0], host: string, tenancyId: string): ProviderError {
  const info = readOciError(response);
  const said = info.message !== undefined ? `: ${info.message}` : '';
  return new ProviderError('ERR_FEDERATION', `the auth service refused instance-principal federation for tenancy ${tenancyId}${said}`, {
    host,
    status: info.status,
    ociCode: info.ociCode,
    opcRequestId: info.opcRequestId,
    hint: federationHint(info.status),
  });
}

function federationHint(status: number): string {
  if (status === 401) {
    return 'the node clock must be within 5 minutes of OCI (chrony), and the IMDS instance certificate must be valid; a certificate rotating mid-request clears on the next pull';
  }
  if (status === 429) return 'the auth service is throttling this node; a shared credential cache keeps federations rare';
  if (status >= 500) return 'the OCI auth service is failing; see the OCI status page and retry';
  return 'OCI rejected the federation request; open a support ticket with the opc-request-id';
}
