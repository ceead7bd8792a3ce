import { describe, expect, test } from 'bun:test';
import { generateKeyPairSync } from 'node:crypto';
import { DEFAULT_SETTINGS } from '../../src/config/settings.ts';
import type { Identity, IdentityRequest } from '../../src/identity/types.ts';
import { silentLogger } from '../../src/silentLogger.ts';
import type { HttpClient } from '../../src/net/http.ts';
import { CACHE_SAFETY_MARGIN_MS, cacheDurationMs, UNVERIFIED_CACHE_DURATION_MS } from '../../src/provider/cacheDuration.ts';
import { dockerTokenWithOneRefresh } from '../../src/provider/provideCredentials.ts';
import { rejected } from '../support/caught.ts';

const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
const MIN = 60_000;

describe('cacheDurationMs: how long the kubelet may keep a token, never longer than the token lives', () => {
  const token = (lifeMs: number) => ({ expiresAtMs: NOW_MS + lifeMs });
  const rows: [string, number, 'authorized' | 'unchecked' | 'denied' | 'unknown', number][] = [
    ['an hour-long token, unchecked: 55 min (the original plugin default)', 60 * MIN, 'unchecked', 55 * MIN],
    ['an hour-long token, proven readable', 60 * MIN, 'authorized', 55 * MIN],
    ['an hour-long token the policy does not allow yet: 2 min, so a late policy heals', 60 * MIN, 'denied', UNVERIFIED_CACHE_DURATION_MS],
    ['no verdict (network trouble): 2 min', 60 * MIN, 'unknown', UNVERIFIED_CACHE_DURATION_MS],
    ['a 6 min token keeps half its life, not 1 min', 6 * MIN, 'unchecked', 3 * MIN],
    ['a 60 s token: 30 s', MIN, 'unchecked', 30_000],
    ['a denied short token: the shorter of the two', 3 * MIN, 'denied', 90_000],
    ['an expired token: 0', -MIN, 'unchecked', 0],
    ['a token expiring now: 0', 0, 'authorized', 0],
  ];
  for (const [name, lifeMs, verdict, expected] of rows) {
    test(name, () => {
      const ms = cacheDurationMs(token(lifeMs), verdict, NOW_MS);
      expect(ms).toBe(expected);
      expect(ms).toBeLessThanOrEqual(Math.max(0, lifeMs));
    });
  }
  test('a lifetime that is not a number is 0, never a long duration', () => {
    expect(cacheDurationMs({ expiresAtMs: Number.NaN }, 'unchecked', NOW_MS)).toBe(0);
  });
  test('the margin is 5 min for long tokens', () => {
    expect(cacheDurationMs(token(12 * 60 * MIN), 'unchecked', NOW_MS)).toBe(12 * 60 * MIN - CACHE_SAFETY_MARGIN_MS);
  });
});

describe('dockerTokenWithOneRefresh: one re-federation after OCIR refuses a session, never more', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const session = (n: number): Identity => ({ keyId: `ST$session-${n}`, privateKey, principal: 'instance:i', tenancyId: 't', expiresAtMs: NOW_MS + 20 * MIN });
  const apiKey: Identity = { keyId: 't/u/fp', privateKey, principal: 'user:u', tenancyId: 't' };

  /** OCIR answering with `statuses` in turn, recording which keyId signed each request. */
  function ocir(statuses: number[]): HttpClient & { signedBy: string[] } {
    const signedBy: string[] = [];
    const client: HttpClient = (spec) => {
      const authorization = spec.request().headers?.authorization ?? '';
      signedBy.push(/keyId="([^"]*)"/.exec(authorization)?.[1] ?? '');
      const status = statuses.shift() ?? 500;
      const body = status === 200 ? JSON.stringify({ token: `docker-${signedBy.length}`, expires_in: 3600 }) : JSON.stringify({ code: 'NotAuthenticated', message: 'no' });
      return Promise.resolve({ status, body, headers: new Headers() });
    };
    return Object.assign(client, { signedBy });
  }
  const ctx = (http: HttpClient) => ({ http, clock: { now: () => NOW_MS }, log: silentLogger, settings: DEFAULT_SETTINGS });

  test('a 401 to a session: the provider is asked once for a fresh one, naming the rejected one, and the second answer is used', async () => {
    const http = ocir([401, 200]);
    const asked: (IdentityRequest | undefined)[] = [];
    let n = 0;
    const provider = (request?: IdentityRequest) => {
      asked.push(request);
      return Promise.resolve(session(++n));
    };
    const token = await dockerTokenWithOneRefresh('fra.ocir.io', provider, ctx(http));
    expect(token).toMatchObject({ token: 'docker-2', issuedAtMs: NOW_MS, expiresAtMs: NOW_MS + 3600_000 });
    expect(http.signedBy).toEqual(['ST$session-1', 'ST$session-2']);
    expect(asked).toEqual([undefined, { forceRefresh: true, rejected: session(1) }]);
  });

  test('a second 401 is the answer: no loop', async () => {
    const http = ocir([401, 401, 200]);
    let n = 0;
    const error = await rejected(dockerTokenWithOneRefresh('fra.ocir.io', () => Promise.resolve(session(++n)), ctx(http)));
    expect(error.code).toBe('ERR_OCIR_TOKEN');
    expect(http.signedBy).toHaveLength(2);
  });

  test('an API key (no session to renew) is not retried', async () => {
    const http = ocir([401, 200]);
    const error = await rejected(dockerTokenWithOneRefresh('fra.ocir.io', () => Promise.resolve(apiKey), ctx(http)));
    expect(error.code).toBe('ERR_OCIR_TOKEN');
    expect(http.signedBy).toEqual(['t/u/fp']);
  });

  test('other refusals (403, 404) are not retried', async () => {
    for (const status of [403, 404]) {
      const http = ocir([status, 200]);
      await rejected(dockerTokenWithOneRefresh('fra.ocir.io', () => Promise.resolve(session(1)), ctx(http)));
      expect(http.signedBy).toHaveLength(1);
    }
  });
});
