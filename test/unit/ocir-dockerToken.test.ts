import { describe, expect, test } from 'bun:test';
import { DEFAULT_DOCKER_TOKEN_LIFETIME_S, MAX_DOCKER_TOKEN_LIFETIME_S, parseDockerTokenResponse } from '../../src/ocir/dockerToken.ts';
import { cacheDurationMs } from '../../src/provider/cacheDuration.ts';
import { caught } from '../support/caught.ts';

const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
const HOST = 'fra.ocir.io';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
const body = (fields: Record<string, unknown>) => JSON.stringify(fields);

describe('parseDockerTokenResponse: expires_in', () => {
  const believed: readonly [string, string, number][] = [
    ['absent: the documented default', body({ token: TOKEN }), DEFAULT_DOCKER_TOKEN_LIFETIME_S],
    ['OCIR’s 3600', body({ token: TOKEN, expires_in: 3600 }), 3600],
    ['one second', body({ token: TOKEN, expires_in: 1 }), 1],
    ['exactly the longest believed', body({ token: TOKEN, expires_in: MAX_DOCKER_TOKEN_LIFETIME_S }), MAX_DOCKER_TOKEN_LIFETIME_S],
    ['written as 6e1 (still the integer 60)', '{"token":"t","expires_in":6e1}', 60],
  ];
  for (const [name, text, seconds] of believed) {
    test(`believed: ${name}`, () => {
      expect(parseDockerTokenResponse(text, HOST, NOW_MS).expiresAtMs).toBe(NOW_MS + seconds * 1000);
    });
  }

  // Each of these became the 3600 s default before, so the kubelet cached a dead token for 55 minutes.
  const refused: readonly [string, string, string][] = [
    ['zero', body({ token: TOKEN, expires_in: 0 }), 'expires_in 0:'],
    ['negative', body({ token: TOKEN, expires_in: -5 }), 'expires_in -5:'],
    ['a string of digits', body({ token: TOKEN, expires_in: '60' }), 'expires_in "60":'],
    ['a non-numeric string', body({ token: TOKEN, expires_in: 'soon' }), 'expires_in "soon":'],
    ['null', body({ token: TOKEN, expires_in: null }), 'expires_in null:'],
    ['a boolean', body({ token: TOKEN, expires_in: true }), 'expires_in true:'],
    ['an object', body({ token: TOKEN, expires_in: { s: 60 } }), 'expires_in {"s":60}:'],
    ['a fraction (Docker’s Go client decodes an int)', body({ token: TOKEN, expires_in: 59.5 }), 'expires_in 59.5:'],
    ['milliseconds instead of seconds', body({ token: TOKEN, expires_in: 3_600_000 }), 'expires_in 3600000:'],
    ['one second past a day', body({ token: TOKEN, expires_in: MAX_DOCKER_TOKEN_LIFETIME_S + 1 }), `expires_in ${MAX_DOCKER_TOKEN_LIFETIME_S + 1}:`],
    ['a number JSON.parse turns into Infinity', '{"token":"t","expires_in":1e400}', 'expires_in Infinity:'],
    ['a very long string, shown cut', body({ token: TOKEN, expires_in: 'x'.repeat(500) }), `expires_in "${'x'.repeat(39)}…:`],
  ];
  for (const [name, text, shown] of refused) {
    test(`refused with ERR_OCIR_TOKEN naming the field: ${name}`, () => {
      const error = caught(() => parseDockerTokenResponse(text, HOST, NOW_MS));
      expect(error.code).toBe('ERR_OCIR_TOKEN');
      expect(error.message).toContain(`unusable ${shown}`);
      expect(error.message).toContain(`whole seconds from 1 to ${MAX_DOCKER_TOKEN_LIFETIME_S}`);
      expect(error.details.host).toBe(HOST);
      expect(error.message).not.toContain(TOKEN);
    });
  }

  test('a short but valid lifetime never gives the kubelet a cache duration that outlives the token', () => {
    for (const seconds of [1, 2, 30, 60, 600, 3600]) {
      const token = parseDockerTokenResponse(body({ token: TOKEN, expires_in: seconds }), HOST, NOW_MS);
      const duration = cacheDurationMs(token, 'unchecked', NOW_MS);
      expect(duration).toBeLessThan(seconds * 1000);
      expect(duration).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('parseDockerTokenResponse: the token itself', () => {
  test('token, or access_token when token is absent', () => {
    expect(parseDockerTokenResponse(body({ token: 'a.b-c_d~e+f/g=' }), HOST, NOW_MS).token).toBe('a.b-c_d~e+f/g=');
    expect(parseDockerTokenResponse(body({ access_token: 'xyz' }), HOST, NOW_MS).token).toBe('xyz');
  });

  // Each of these cannot travel as a registry password; a lone surrogate used to be refused later as ERR_INTERNAL.
  const refused: readonly [string, string, number][] = [
    ['a lone high surrogate', `abc\uD800def`, 4],
    ['a lone low surrogate at the start', `\uDC00abc`, 1],
    ['a paired surrogate (non-ASCII emoji)', `ab\u{1F600}`, 3],
    ['a space', 'ab cd', 3],
    ['a newline', 'abcd\n', 5],
    ['a NUL', 'a\u0000b', 2],
    ['DEL', 'ab\u007f', 3],
    ['a Latin-1 letter', 'caf\u00e9', 4],
  ];
  for (const [name, token, position] of refused) {
    test(`a token with ${name} is ERR_OCIR_TOKEN, naming the position and not the token`, () => {
      const error = caught(() => parseDockerTokenResponse(body({ token, expires_in: 3600 }), HOST, NOW_MS));
      expect(error.code).toBe('ERR_OCIR_TOKEN');
      expect(error.message).toBe(`OCIR answered 200 with a token that cannot be passed on as a registry password (character ${position} is not visible ASCII)`);
      expect(error.details.host).toBe(HOST);
    });
  }

  test('a bad token is refused even when access_token would be fine', () => {
    expect(caught(() => parseDockerTokenResponse(body({ token: 'a\uD800', access_token: 'ok' }), HOST, NOW_MS)).code).toBe('ERR_OCIR_TOKEN');
  });

  const malformed: readonly [string, string, string][] = [
    ['not JSON', 'nope', 'not JSON'],
    ['a JSON array', '[]', 'without a token'],
    ['JSON null', 'null', 'not an object'],
    ['no token', body({ expires_in: 3600 }), 'without a token'],
    ['an empty token', body({ token: '', expires_in: 3600 }), 'without a token'],
  ];
  for (const [name, text, message] of malformed) {
    test(`${name}: ERR_OCIR_TOKEN`, () => {
      const error = caught(() => parseDockerTokenResponse(text, HOST, NOW_MS));
      expect(error.code).toBe('ERR_OCIR_TOKEN');
      expect(error.message).toContain(message);
    });
  }
});
