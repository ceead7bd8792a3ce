import { createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import type { CertificateAuthority, KeyPair } from './certificates.ts';
import { generateRsaKeyPair, issueCertificate } from './certificates.ts';
import { newTokenId } from './ids.ts';
import type { Verdict } from './signature.ts';
import type { PrincipalInfo } from './types.ts';

/**
 * The JWTs the emulator mints and checks: the auth service's session tokens (the `ST$` of
 * instance principals, oci-auth.md §3.5; of `oci session authenticate`; and the RPSTs of resource
 * principals and OKE workloads, §6) and OCIR's docker token (§7.2). All RS256 with a `kid`.
 */

export interface TokenSigner {
  readonly kid: string;
  readonly keys: KeyPair;
  /** Base64 DER chain, signer first, put in the JWT header (docker tokens only). */
  readonly x5c?: readonly string[];
}

export const AUTH_ISSUER = 'authService.oracle.com';
export const AUTH_AUDIENCE = 'opc.oracle.com';
export const REGISTRY_ISSUER = 'emulator-ocir';
const ALGORITHM = 'RS256';
const SIGNER_CERT_VALIDITY_MS = 365 * 24 * 60 * 60 * 1000;

export async function createAuthSigner(given?: KeyPair): Promise<TokenSigner> {
  return { kid: `asw-${newTokenId()}`, keys: given ?? (await generateRsaKeyPair()) };
}

/** A docker-token key certified by `ca`, so clients that check `x5c` see a real chain. */
export async function createRegistrySigner(ca: CertificateAuthority, nowMs: number, given?: KeyPair): Promise<TokenSigner> {
  const keys = given ?? (await generateRsaKeyPair());
  const certificate = issueCertificate({
    subject: [['CN', 'emulator-ocir docker token signer']],
    subjectKey: keys.publicKey,
    issuer: ca,
    notBefore: new Date(nowMs - 60_000),
    notAfter: new Date(nowMs + SIGNER_CERT_VALIDITY_MS),
    isCa: false,
  });
  return {
    kid: `ocir-${newTokenId()}`,
    keys,
    x5c: [certificate.raw.toString('base64'), ca.certificate.raw.toString('base64')],
  };
}

// ---- session tokens (auth service) ----

export interface SessionTokenRequest {
  readonly instanceId: string;
  readonly compartmentId: string;
  readonly tenancyId: string;
  /** The `publicKey` of the federation request: the token is only usable with its private half. */
  readonly sessionKey: KeyObject;
  readonly nowMs: number;
  readonly lifetimeSeconds: number;
}

/** Real tokens carry the JWK as a JSON *string*, in this member order (oci-auth.md §3.5). */
function jwkClaim(sessionKey: KeyObject): string {
  const jwk = sessionKey.export({ format: 'jwk' });
  return JSON.stringify({ kid: `session-${newTokenId()}`, n: jwk.n, e: jwk.e, kty: 'RSA', alg: ALGORITHM, use: 'sig' });
}

/** Signs auth-service claims: issuer, audience, subject, lifetime and jti as every `ST$` token has them. */
function signAuthToken(signer: TokenSigner, claims: JWTPayload, subject: string, nowMs: number, lifetimeSeconds: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: signer.kid, typ: 'JWT' })
    .setIssuer(AUTH_ISSUER)
    .setAudience(AUTH_AUDIENCE)
    .setSubject(subject)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetimeSeconds)
    .setJti(newTokenId())
    .sign(signer.keys.privateKey);
}

export async function issueSessionToken(signer: TokenSigner, request: SessionTokenRequest): Promise<string> {
  const iat = Math.floor(request.nowMs / 1000);
  const jwkString = jwkClaim(request.sessionKey);
  return new SignJWT({
    'opc-instance': request.instanceId,
    'opc-compartment': request.compartmentId,
    'opc-tenant': request.tenancyId,
    tenant: request.tenancyId,
    'opc-certtype': 'instance',
    ptype: 'instance',
    ttype: 'x509',
    jwk: jwkString,
  })
    .setProtectedHeader({ alg: ALGORITHM, kid: signer.kid, typ: 'JWT' })
    .setIssuer(AUTH_ISSUER)
    .setAudience(AUTH_AUDIENCE)
    .setSubject(request.instanceId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + request.lifetimeSeconds)
    .setJti(newTokenId())
    .sign(signer.keys.privateKey);
}

/** A user's session token, as `oci session authenticate` writes to `security_token_file`. */
export interface UserSessionTokenRequest {
  readonly userId: string;
  readonly tenancyId: string;
  readonly sessionKey: KeyObject;
  readonly nowMs: number;
  readonly lifetimeSeconds: number;
}

export function issueUserSessionToken(signer: TokenSigner, request: UserSessionTokenRequest): Promise<string> {
  const claims = { tenant: request.tenancyId, ptype: 'user', ttype: 'login', jwk: jwkClaim(request.sessionKey) };
  return signAuthToken(signer, claims, request.userId, request.nowMs, request.lifetimeSeconds);
}

/**
 * A resource principal session token (RPST, oci-auth.md §6): `ptype` `resource` for the RP v2.2
 * environment, `workload` for OKE Workload Identity, whose tokens also name the pod's namespace,
 * service account and cluster (emulator claims named like the IAM policy variables, so the
 * emulator's policy can decide per workload).
 */
export interface ResourcePrincipalTokenRequest {
  readonly ptype: 'resource' | 'workload';
  readonly resourceId: string;
  readonly resourceType: string;
  readonly tenancyId: string;
  readonly compartmentId: string;
  readonly sessionKey: KeyObject;
  readonly nowMs: number;
  readonly lifetimeSeconds: number;
  readonly workload?: { readonly namespace: string; readonly serviceAccount: string; readonly clusterId: string };
}

export function issueResourcePrincipalToken(signer: TokenSigner, request: ResourcePrincipalTokenRequest): Promise<string> {
  const claims: JWTPayload = {
    res_id: request.resourceId,
    res_type: request.resourceType,
    res_tenant: request.tenancyId,
    res_compartment: request.compartmentId,
    ptype: request.ptype,
    ttype: 'res',
    jwk: jwkClaim(request.sessionKey),
    ...(request.workload === undefined
      ? {}
      : { namespace: request.workload.namespace, service_account: request.workload.serviceAccount, cluster_id: request.workload.clusterId }),
  };
  return signAuthToken(signer, claims, request.resourceId, request.nowMs, request.lifetimeSeconds);
}

export interface VerifiedSessionToken {
  readonly principal: PrincipalInfo;
  /** The key from the `jwk` claim: requests with this token must be signed by its private half. */
  readonly sessionKey: KeyObject;
}

/** Verifies an `ST$` token as OCI services do: signature by the auth key, `exp`, and a usable `jwk`. */
export async function verifySessionToken(signer: TokenSigner, jwt: string, nowMs: number): Promise<Verdict<VerifiedSessionToken>> {
  const verified = await verifyJwt('security token', signer, jwt, {
    issuer: AUTH_ISSUER,
    audience: AUTH_AUDIENCE,
    nowMs,
  });
  if (!verified.ok) return verified;
  const claims = verified.value;
  const ptype = claims['ptype'];
  if (!isPrincipalType(ptype)) {
    return { ok: false, message: 'the security token has no known ptype claim' };
  }
  const tenancyId = stringClaim(claims, 'opc-tenant') ?? stringClaim(claims, 'tenant') ?? stringClaim(claims, 'res_tenant');
  if (claims.sub === undefined || tenancyId === undefined) {
    return { ok: false, message: 'the security token names no subject or tenancy' };
  }
  const jwkClaim = claims['jwk'];
  if (typeof jwkClaim !== 'string') return { ok: false, message: 'the security token has no jwk claim (a JSON string)' };
  let sessionKey: KeyObject;
  try {
    sessionKey = createPublicKey({ key: JSON.parse(jwkClaim) as JsonWebKey, format: 'jwk' });
  } catch {
    return { ok: false, message: 'the jwk claim of the security token is not a JSON Web Key' };
  }
  if (sessionKey.asymmetricKeyType !== 'rsa') return { ok: false, message: 'the jwk claim is not an RSA key' };
  const principal = principalFromClaims(ptype, claims.sub, tenancyId, claims);
  if (principal === undefined) return { ok: false, message: 'the workload token names no namespace, service account or cluster' };
  return { ok: true, value: { principal, sessionKey } };
}

const PRINCIPAL_TYPES: ReadonlySet<unknown> = new Set<PrincipalInfo['type']>(['instance', 'user', 'resource', 'workload']);

function isPrincipalType(value: unknown): value is PrincipalInfo['type'] {
  return PRINCIPAL_TYPES.has(value);
}

/** A principal from token claims; a workload must name its namespace, service account and cluster. */
function principalFromClaims(type: PrincipalInfo['type'], id: string, tenancyId: string, claims: JWTPayload): PrincipalInfo | undefined {
  if (type !== 'workload') return { type, id, tenancyId };
  const namespace = stringClaim(claims, 'namespace');
  const serviceAccount = stringClaim(claims, 'service_account');
  const clusterId = stringClaim(claims, 'cluster_id');
  if (namespace === undefined || serviceAccount === undefined || clusterId === undefined) return undefined;
  return { type, id, tenancyId, namespace, serviceAccount, clusterId };
}

// ---- docker tokens (OCIR) ----

/** A Docker token `access` entry (distribution's token spec). */
export interface RepositoryAccess {
  readonly type: 'repository';
  readonly name: string;
  readonly actions: readonly string[];
}

export interface DockerTokenRequest {
  readonly principal: PrincipalInfo;
  /** The registry host: `aud`, as a string. */
  readonly audience: string;
  readonly access: readonly RepositoryAccess[];
  /**
   * False for tokens from a signed request (what they may pull is decided by policy at /v2 time);
   * true for tokens from the challenge flow, which are limited to their `access`.
   */
  readonly scoped: boolean;
  readonly nowMs: number;
  readonly lifetimeSeconds: number;
}

export interface IssuedDockerToken {
  readonly token: string;
  readonly jti: string;
}

export async function issueDockerToken(signer: TokenSigner, request: DockerTokenRequest): Promise<IssuedDockerToken> {
  const iat = Math.floor(request.nowMs / 1000);
  const jti = newTokenId();
  const token = await new SignJWT({
    access: request.access,
    // Emulator-private claims: the principal behind the token, for the pull policy at /v2 time.
    ptype: request.principal.type,
    tenant: request.principal.tenancyId,
    scoped: request.scoped,
    ...(request.principal.type === 'workload'
      ? { namespace: request.principal.namespace, service_account: request.principal.serviceAccount, cluster_id: request.principal.clusterId }
      : {}),
  })
    .setProtectedHeader({ alg: ALGORITHM, kid: signer.kid, typ: 'JWT', ...(signer.x5c ? { x5c: [...signer.x5c] } : {}) })
    .setIssuer(REGISTRY_ISSUER)
    .setSubject(request.principal.id)
    .setAudience(request.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + request.lifetimeSeconds)
    .setJti(jti)
    .sign(signer.keys.privateKey);
  return { token, jti };
}

export interface VerifiedDockerToken {
  readonly principal: PrincipalInfo;
  readonly access: readonly RepositoryAccess[];
  readonly scoped: boolean;
  readonly jti: string;
}

/** Signature by the registry key, issuer, audience = this registry, `nbf`/`exp` on the emulator clock. */
export async function verifyDockerToken(
  signer: TokenSigner,
  token: string,
  audience: string,
  nowMs: number,
): Promise<Verdict<VerifiedDockerToken>> {
  const verified = await verifyJwt('docker token', signer, token, { issuer: REGISTRY_ISSUER, audience, nowMs });
  if (!verified.ok) return verified;
  const claims = verified.value;
  const ptype = claims['ptype'];
  const tenancyId = stringClaim(claims, 'tenant');
  const principal =
    isPrincipalType(ptype) && tenancyId !== undefined && claims.sub !== undefined ? principalFromClaims(ptype, claims.sub, tenancyId, claims) : undefined;
  if (principal === undefined || claims.jti === undefined) {
    return { ok: false, message: 'the docker token lacks its principal claims' };
  }
  const access = Array.isArray(claims['access']) ? (claims['access'] as RepositoryAccess[]) : [];
  return { ok: true, value: { principal, access, scoped: claims['scoped'] === true, jti: claims.jti } };
}

// ---- shared ----

export async function verifyJwt(
  what: string,
  signer: TokenSigner,
  jwt: string,
  expected: { issuer: string; audience: string; nowMs: number },
): Promise<Verdict<JWTPayload>> {
  try {
    // A verifier picks its key by kid; a token naming another key was not issued here.
    const { kid, alg } = decodeProtectedHeader(jwt);
    if (alg !== ALGORITHM) return { ok: false, message: `the ${what} is not ${ALGORITHM} (alg ${String(alg)})` };
    if (kid !== signer.kid) return { ok: false, message: `the ${what} names an unknown signing key (kid ${String(kid)})` };
    const { payload } = await jwtVerify(jwt, signer.keys.publicKey, {
      algorithms: [ALGORITHM],
      issuer: expected.issuer,
      audience: expected.audience,
      currentDate: new Date(expected.nowMs),
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
    });
    return { ok: true, value: payload };
  } catch (error) {
    return { ok: false, message: describeJwtError(what, error, expected.nowMs) };
  }
}

function describeJwtError(what: string, error: unknown, nowMs: number): string {
  if (error instanceof errors.JWTExpired) {
    const exp = error.payload.exp;
    const at = typeof exp === 'number' ? new Date(exp * 1000).toISOString() : 'an unknown time';
    return `the ${what} expired at ${at} (service clock ${new Date(nowMs).toISOString()})`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return `the ${what} signature does not verify with the issuer's key (forged, or issued by someone else)`;
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `the ${what} claim "${error.claim}" is invalid (${error.reason})`;
  }
  if (error instanceof errors.JOSEError) return `the ${what} is malformed (${error.code})`;
  return `the ${what} is not a JWT`;
}

function stringClaim(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
