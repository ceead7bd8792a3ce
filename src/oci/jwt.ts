import { LeafFailure } from '../errors.ts';

/**
 * Reading OCI session tokens (JWTs). The provider never verifies them: it received them over TLS
 * from the service that will check them, and only needs `exp` to know when to refresh (the Go,
 * Python, TS and Java SDKs all decode without verifying).
 */

/** The claims of an OCI session token that the provider reads; other claims pass through untyped. */
export interface JwtClaims {
  /** Expiry, seconds since the epoch. */
  readonly exp?: number;
  /** Issue time, seconds since the epoch. */
  readonly iat?: number;
  /** Subject: the instance, resource or user OCID. */
  readonly sub?: string;
  /** Tenancy OCID, in instance and resource principal tokens. */
  readonly tenant?: string;
  /** The session public key as a JSON *string* (a JWK), in real tokens. */
  readonly jwk?: string;
  readonly [claim: string]: unknown;
}

/** base64url with optional padding; Buffer's decoder would silently skip anything else. */
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * The claims of a compact JWS (`header.payload.signature`), unverified. The payload is base64url
 * with or without padding (Go adds padding before decoding; Python and TS do too).
 *
 * Throws `JwtUnreadable` (the caller maps it to its own code) when the token is not three segments, a segment is not base64url, header or
 * payload is not a JSON object, or `exp`/`iat`/`sub` have the wrong type. The message names
 * `source` and never the token.
 */
export function decodeJwtClaims(token: string, source = 'the session token'): JwtClaims {
  const fail = (why: string): JwtUnreadable => new JwtUnreadable(`${source} is not a valid JWT: ${why}`);

  const segments = token.trim().split('.');
  if (segments.length !== 3) throw fail(`it has ${segments.length} dot-separated parts, not 3`);
  const [header, payload] = segments as [string, string, string];
  decodeJsonObject(header, () => fail('its header is not a base64url JSON object'));
  const claims = decodeJsonObject(payload, () => fail('its payload is not a base64url JSON object'));

  for (const name of ['exp', 'iat'] as const) {
    const value = claims[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw fail(`its ${name} claim is not a number`);
    }
  }
  for (const name of ['sub', 'tenant', 'jwk'] as const) {
    const value = claims[name];
    if (value !== undefined && typeof value !== 'string') throw fail(`its ${name} claim is not a string`);
  }
  // The loops above checked the typed claims.
  return claims;
}

/** A token that is not a JWT with the claims' expected types; the message names the source and why, never the token. */
export class JwtUnreadable extends LeafFailure {
  override readonly name = 'JwtUnreadable';
  constructor(message: string) {
    super(message, { hint: 'the token is damaged or is not an OCI session token' });
  }
}

/** When the token expires, in ms since the epoch; undefined when it carries no `exp`. */
export function jwtExpiresAtMs(claims: JwtClaims): number | undefined {
  return claims.exp === undefined ? undefined : claims.exp * 1000;
}

/** When the token was issued, in ms since the epoch; undefined when it carries no `iat`. */
export function jwtIssuedAtMs(claims: JwtClaims): number | undefined {
  return claims.iat === undefined ? undefined : claims.iat * 1000;
}

/**
 * The longest a session token may still have to live. OCI does not document session lifetimes:
 * the Go SDK's instance fixture lives 6 h, `oci session authenticate` tokens 1 h (refreshable for
 * at most 24 h). An `exp` further out is not a session lifetime but a unit mistake (milliseconds
 * read as seconds) or a mis-minted token, and caching on it would keep a dead session for days.
 */
export const MAX_SESSION_REMAINING_MS = 24 * 3_600_000;

/** When a session token stops working and when it was issued, both checked against the clock. */
export interface SessionLifetime {
  readonly expiresAtMs: number;
  /** `iat`, or `nowMs` when the token carries none. */
  readonly issuedAtMs: number;
}

/**
 * The validity window of a session token (instance, resource, workload, `oci session` token), or
 * why it may not be used: no `exp`, an `exp` not after `nowMs`, an `exp` not after `iat`, or
 * an `exp` more than {@link MAX_SESSION_REMAINING_MS} away. Each would otherwise be
 * cached as a long-lived (or never-valid) session. The reason is a sentence fragment that
 * follows the token's name ("the RPST from the OKE proxymux has no exp claim").
 */
export function readSessionLifetime(claims: JwtClaims, nowMs: number): SessionLifetime | { readonly unusable: string } {
  const expiresAtMs = jwtExpiresAtMs(claims);
  const issuedAtMs = jwtIssuedAtMs(claims);
  if (expiresAtMs === undefined) return { unusable: 'has no exp claim' };
  // Expiry first: "expired" is what an operator acts on, whatever else is wrong with the token.
  if (expiresAtMs <= nowMs) return { unusable: `expired at ${describeInstant(expiresAtMs)}` };
  if (issuedAtMs !== undefined && expiresAtMs <= issuedAtMs) {
    return { unusable: `expires (exp ${describeInstant(expiresAtMs)}) no later than it was issued (iat ${describeInstant(issuedAtMs)})` };
  }
  if (expiresAtMs - nowMs > MAX_SESSION_REMAINING_MS) {
    return {
      unusable: `claims to be valid until ${describeInstant(expiresAtMs)}, more than ${MAX_SESSION_REMAINING_MS / 3_600_000} h from now; no OCI session lives that long`,
    };
  }
  return { expiresAtMs, issuedAtMs: issuedAtMs ?? nowMs };
}

/** ISO time when a Date can hold it; otherwise the raw claim in seconds (a huge `exp` must not throw here). */
export function describeInstant(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms / 1000} s after the epoch` : date.toISOString();
}

function decodeJsonObject(segment: string, fail: () => JwtUnreadable): Record<string, unknown> {
  // A length of 1 mod 4 cannot come from any byte string.
  if (!BASE64URL.test(segment) || segment.replace(/=+$/, '').length % 4 === 1) throw fail();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw fail();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail();
  return value as Record<string, unknown>;
}
