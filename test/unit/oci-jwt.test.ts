import { describe, expect, test } from 'bun:test';
import { withCode } from '../../src/errors.ts';
import { caught } from '../support/caught.ts';
import { decodeJwtClaims, JwtUnreadable, describeInstant, jwtExpiresAtMs, jwtIssuedAtMs, MAX_SESSION_REMAINING_MS, readSessionLifetime } from '../../src/oci/jwt.ts';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = b64url({ alg: 'RS256', kid: 'asw', typ: 'JWT' });
const SIGNATURE = 'c2lnbmF0dXJl';
const jwt = (claims: unknown, header = HEADER): string => `${header}.${b64url(claims)}.${SIGNATURE}`;

// The claim set of the Go SDK's instance-token fixture (common/auth/jwt_test.go), 6 hours of life.
const INSTANCE_CLAIMS = {
  sub: 'ocid1.instance.oc1.phx.abyhqljrt5ufhnmgcm3rmg5jkiceyb4ggokvdcwcgmqkgxaqtf3hcdwmwmra',
  'opc-certtype': 'instance',
  iss: 'authService.oracle.com',
  'opc-compartment': 'ocid1.compartment.oc1..aaaaaaaa',
  'opc-instance': 'ocid1.instance.oc1.phx.abyhqljrt5ufhnmgcm3rmg5jkiceyb4ggokvdcwcgmqkgxaqtf3hcdwmwmra',
  aud: 'opc.oracle.com',
  'opc-tenant': 'ocid1.tenancy.oc1..aaaaaaaa',
  ttype: 'x509',
  ptype: 'instance',
  exp: 1511838793,
  iat: 1511817193,
  jwk: '{"kid":"k","n":"AQAB","e":"AQAB","kty":"RSA","alg":"RS256","use":"sig"}',
  tenant: 'ocid1.tenancy.oc1..aaaaaaaa',
};

describe('decodeJwtClaims: accepted tokens', () => {
  const padded = (() => {
    const payload = b64url({ exp: 1 });
    return `${HEADER}.${payload}${'='.repeat((4 - (payload.length % 4)) % 4)}.${SIGNATURE}`;
  })();
  const rows: readonly { name: string; token: string; exp: number | undefined; iat?: number; sub?: string }[] = [
    { name: 'an instance token', token: jwt(INSTANCE_CLAIMS), exp: 1511838793_000, iat: 1511817193_000, sub: INSTANCE_CLAIMS.sub },
    { name: 'a payload with padding', token: padded, exp: 1_000 },
    { name: 'a payload without padding', token: jwt({ exp: 1, sub: 'x' }), exp: 1_000, sub: 'x' },
    { name: 'surrounding whitespace (a token file)', token: `\n ${jwt({ exp: 2 })}\n`, exp: 2_000 },
    { name: 'no exp (the caller decides)', token: jwt({ sub: 'x' }), exp: undefined, sub: 'x' },
    { name: 'an empty signature (never verified)', token: `${HEADER}.${b64url({ exp: 3 })}.`, exp: 3_000 },
    // "é" makes a payload with - or _ in base64url, which plain base64 would spell + or /.
    { name: 'base64url-only characters', token: jwt({ exp: 4, sub: 'ééé>>>???' }), exp: 4_000, sub: 'ééé>>>???' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const claims = decodeJwtClaims(row.token);
      expect(jwtExpiresAtMs(claims)).toBe(row.exp);
      expect(jwtIssuedAtMs(claims)).toBe(row.iat);
      expect(claims.sub).toBe(row.sub);
    });
  }

  test('other claims pass through', () => {
    const claims = decodeJwtClaims(jwt(INSTANCE_CLAIMS));
    expect(claims).toEqual(INSTANCE_CLAIMS);
    expect(claims['opc-tenant']).toBe('ocid1.tenancy.oc1..aaaaaaaa');
  });
});

describe('decodeJwtClaims: malformed tokens', () => {
  const secretPayload = b64url({ exp: 1, secret: 'do-not-echo' });
  const rows: readonly { name: string; token: string; why: RegExp }[] = [
    { name: 'empty', token: '', why: /1 dot-separated parts, not 3/ },
    { name: 'two parts', token: `${HEADER}.${secretPayload}`, why: /2 dot-separated parts/ },
    { name: 'four parts', token: `${HEADER}.${secretPayload}.${SIGNATURE}.x`, why: /4 dot-separated parts/ },
    { name: 'standard base64 in the payload', token: `${HEADER}.${Buffer.from('{"exp":1,"s":"ééé>>>???"}').toString('base64')}.x`, why: /payload is not a base64url JSON object/ },
    { name: 'a payload of impossible length', token: `${HEADER}.eyJhY.x`, why: /payload/ },
    { name: 'a payload that is not JSON', token: `${HEADER}.${Buffer.from('not json').toString('base64url')}.x`, why: /payload/ },
    { name: 'a payload that is a JSON array', token: jwt([1, 2]), why: /payload/ },
    { name: 'a payload that is JSON null', token: jwt(null), why: /payload/ },
    { name: 'an empty payload', token: `${HEADER}..x`, why: /payload/ },
    { name: 'a header that is not JSON', token: `bm90.${secretPayload}.x`, why: /header is not a base64url JSON object/ },
    { name: 'exp as a string', token: jwt({ exp: '1511838793' }), why: /exp claim is not a number/ },
    { name: 'iat as a boolean', token: jwt({ exp: 1, iat: true }), why: /iat claim is not a number/ },
    { name: 'sub as a number', token: jwt({ exp: 1, sub: 5 }), why: /sub claim is not a string/ },
    { name: 'jwk as an object (real tokens carry a string)', token: jwt({ exp: 1, jwk: { kty: 'RSA' } }), why: /jwk claim is not a string/ },
  ];
  for (const row of rows) {
    test(row.name, () => {
      let error: unknown;
      try {
        decodeJwtClaims(row.token, 'security_token_file /tmp/token');
      } catch (caught) {
        error = caught;
      }
      // A leaf failure: the caller decides the code (withCode); the leaf says what and why.
      expect(error).toBeInstanceOf(JwtUnreadable);
      const e = error as JwtUnreadable;
      expect(e.message).toStartWith('security_token_file /tmp/token is not a valid JWT: ');
      expect(e.message).toMatch(row.why);
      expect(e.message).not.toContain(secretPayload);
      expect(e.message).not.toContain(HEADER);
      const mapped = caught(() => withCode('ERR_FEDERATION', () => decodeJwtClaims(row.token), { host: 'auth.example' }));
      expect(mapped.code).toBe('ERR_FEDERATION');
      expect(mapped.details.host).toBe('auth.example');
      expect(mapped.hint).toBe(e.hint);
    });
  }

  test('the default source names the session token', () => {
    expect(() => decodeJwtClaims('x')).toThrow(/^the session token is not a valid JWT/);
  });
});

describe('readSessionLifetime: a session is cached only for a window the token can really have', () => {
  const NOW_S = Date.UTC(2026, 5, 1, 12, 0, 0) / 1000;
  const NOW_MS = NOW_S * 1000;
  const usable: readonly { name: string; claims: Record<string, number>; expiresAtMs: number; issuedAtMs: number }[] = [
    { name: 'an hour with iat', claims: { iat: NOW_S, exp: NOW_S + 3600 }, expiresAtMs: NOW_MS + 3_600_000, issuedAtMs: NOW_MS },
    { name: 'no iat: issued now', claims: { exp: NOW_S + 60 }, expiresAtMs: NOW_MS + 60_000, issuedAtMs: NOW_MS },
    { name: 'a NumericDate with a fraction (RFC 7519 allows it)', claims: { iat: NOW_S, exp: NOW_S + 0.5 }, expiresAtMs: NOW_MS + 500, issuedAtMs: NOW_MS },
    { name: 'exactly the longest remaining life', claims: { exp: NOW_S + MAX_SESSION_REMAINING_MS / 1000 }, expiresAtMs: NOW_MS + MAX_SESSION_REMAINING_MS, issuedAtMs: NOW_MS },
    { name: 'issued 23 h ago, an hour left', claims: { iat: NOW_S - 23 * 3600, exp: NOW_S + 3600 }, expiresAtMs: NOW_MS + 3_600_000, issuedAtMs: NOW_MS - 23 * 3_600_000 },
  ];
  for (const row of usable) {
    test(`usable: ${row.name}`, () => {
      expect(readSessionLifetime(row.claims, NOW_MS)).toEqual({ expiresAtMs: row.expiresAtMs, issuedAtMs: row.issuedAtMs });
    });
  }

  const unusable: readonly { name: string; claims: Record<string, number>; why: string }[] = [
    { name: 'no exp', claims: { iat: NOW_S }, why: 'has no exp claim' },
    { name: 'exp now', claims: { exp: NOW_S }, why: `expired at ${new Date(NOW_MS).toISOString()}` },
    { name: 'exp in the past', claims: { iat: NOW_S - 7200, exp: NOW_S - 3600 }, why: `expired at ${new Date(NOW_MS - 3_600_000).toISOString()}` },
    { name: 'exp at the epoch', claims: { exp: 0 }, why: `expired at ${new Date(0).toISOString()}` },
    { name: 'exp negative', claims: { exp: -5 }, why: `expired at ${new Date(-5000).toISOString()}` },
    { name: 'one second past the longest life', claims: { exp: NOW_S + MAX_SESSION_REMAINING_MS / 1000 + 1 }, why: 'more than 24 h from now' },
    { name: 'exp ten years away', claims: { iat: NOW_S, exp: NOW_S + 10 * 365 * 86400 }, why: 'more than 24 h from now' },
    { name: 'exp in milliseconds (beyond what a Date holds)', claims: { exp: NOW_MS * 1000 }, why: `claims to be valid until ${NOW_MS * 1000} s after the epoch` },
    { name: 'exp equal to iat', claims: { iat: NOW_S + 60, exp: NOW_S + 60 }, why: 'no later than it was issued' },
    { name: 'exp before iat', claims: { iat: NOW_S + 120, exp: NOW_S + 60 }, why: 'no later than it was issued' },
    { name: 'exp before iat, both past: expiry is what to act on', claims: { iat: NOW_S - 60, exp: NOW_S - 120 }, why: 'expired at' },
  ];
  for (const row of unusable) {
    test(`unusable: ${row.name}`, () => {
      const lifetime = readSessionLifetime(row.claims, NOW_MS);
      expect(lifetime).toHaveProperty('unusable');
      expect((lifetime as { unusable: string }).unusable).toContain(row.why);
    });
  }

  test('describeInstant never throws, even for an exp no Date can hold', () => {
    expect(describeInstant(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(describeInstant(1e20)).toBe('100000000000000000 s after the epoch');
  });
});
