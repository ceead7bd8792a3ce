import { describe, expect, test } from 'bun:test';
import {
  IMDS_RETRY,
  SERVICE_RETRY,
  isRetryableImdsStatus,
  isRetryableServiceStatus,
  nextRetryDelayMs,
  parseRetryAfterMs,
} from '../../src/net/retryPolicy.ts';

describe('retryable statuses', () => {
  const table: [number, boolean, boolean][] = [
    // status, service, imds
    [200, false, false],
    [400, false, false],
    [401, false, false],
    [403, false, false],
    [404, false, true],
    [409, false, false],
    [429, true, true],
    [500, true, true],
    [501, false, false],
    [502, true, true],
    [503, true, true],
    [504, true, true],
  ];
  for (const [status, service, imds] of table) {
    test(`${status}`, () => {
      expect(isRetryableServiceStatus(status)).toBe(service);
      expect(isRetryableImdsStatus(status)).toBe(imds);
    });
  }
});

describe('nextRetryDelayMs', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  test('full jitter: the delay lies in [0, base·2^(n-1)] capped', () => {
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 503 }, 0, now)).toBe(0);
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 503 }, 0.999, now)).toBe(249);
    expect(nextRetryDelayMs(SERVICE_RETRY, 3, { kind: 'network' }, 0.5, now)).toBe(500);
    expect(nextRetryDelayMs({ ...SERVICE_RETRY, maxAttempts: 20 }, 10, { kind: 'timeout' }, 0.5, now)).toBe(4000);
  });
  test('final outcomes and used-up attempts return undefined', () => {
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 401 }, 0.5, now)).toBeUndefined();
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 501 }, 0.5, now)).toBeUndefined();
    expect(nextRetryDelayMs(SERVICE_RETRY, SERVICE_RETRY.maxAttempts, { kind: 'status', status: 503 }, 0.5, now)).toBeUndefined();
    expect(nextRetryDelayMs(IMDS_RETRY, 1, { kind: 'status', status: 404 }, 0.5, now)).toBe(50);
  });
  test('Retry-After wins, in seconds or as a date, capped at the maximum delay', () => {
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 429, retryAfter: '2' }, 0.5, now)).toBe(2000);
    const date = new Date(now + 3000).toUTCString();
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 429, retryAfter: date }, 0.5, now)).toBe(3000);
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 503, retryAfter: '3600' }, 0.5, now)).toBe(SERVICE_RETRY.maxDelayMs);
    // A Retry-After on a final status does not make it retryable.
    expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'status', status: 400, retryAfter: '1' }, 0.5, now)).toBeUndefined();
  });
  test('parseRetryAfterMs', () => {
    expect(parseRetryAfterMs(null, now)).toBeUndefined();
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs(' 5 ', now)).toBe(5000);
    expect(parseRetryAfterMs(new Date(now - 5000).toUTCString(), now)).toBe(0);
  });
});

test('a refused server certificate is never retried', () => {
  expect(nextRetryDelayMs(SERVICE_RETRY, 1, { kind: 'tls' }, 0.5, 0)).toBeUndefined();
});
