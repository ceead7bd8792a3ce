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
 * The two JWTs the emulator mints and checks: the auth service's session token (the `ST$` of
 * instance principals, oci-auth.md §3.5) and OCIR's docker token (§7.2). Both RS256 with a `kid`.
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

export async function issueSessionToken(signer: TokenSigner, request: SessionTokenRequest): Promise<string> {
  const iat = Math.floor(request.nowMs / 1000);
  const jwk = request.sessionKey.export({ format: 'jwk' });
  // Real tokens carry the JWK as a JSON *string*, in this member order (oci-auth.md §3.5).
  const jwkString = JSON.stringify({ kid: `session-${newTokenId()}`, n: jwk.n, e: jwk.e, kty: 'RSA', alg: ALGORITHM, use: 'sig' });
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
  if (ptype !== 'instance' && ptype !== 'user' && ptype !== 'resource') {
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
  return { ok: true, value: { principal: { type: ptype, id: claims.sub, tenancyId }, sessionKey } };
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
  if ((ptype !== 'instance' && ptype !== 'user' && ptype !== 'resource') || tenancyId === undefined || claims.sub === undefined || claims.jti === undefined) {
    return { ok: false, message: 'the docker token lacks its principal claims' };
  }
  const access = Array.isArray(claims['access']) ? (claims['access'] as RepositoryAccess[]) : [];
  return {
    ok: true,
    value: { principal: { type: ptype, id: claims.sub, tenancyId }, access, scoped: claims['scoped'] === true, jti: claims.jti },
  };
}

// ---- shared ----

async function verifyJwt(
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
