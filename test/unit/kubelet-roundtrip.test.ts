import { describe, expect, test } from 'bun:test';
import { API_VERSIONS } from '../../src/kubelet/apiVersion.ts';
import { MAX_GO_DURATION_SECONDS } from '../../src/kubelet/duration.ts';
import { buildResponse, encodeResponse } from '../../src/kubelet/response.ts';
import type { AuthEntry, CacheKeyType } from '../../src/kubelet/response.ts';
import { keyringLookup, validateKubeletResponse } from '../support/kubeletResponse.ts';

/**
 * Property: whatever the provider builds, the kubelet accepts, and reads back the same
 * credentials and duration, and its keyring hands them to an image on that host. Inputs come
 * from a seeded generator, so a failure names a seed that reproduces it.
 */

/** mulberry32: small, seedable, good enough to spread test inputs. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generators(next: () => number) {
  const int = (max: number): number => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chars = (alphabet: string, min: number, max: number): string =>
    Array.from({ length: min + int(max - min + 1) }, () => alphabet[int(alphabet.length)]).join('');
  const label = (): string => {
    const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const inner = next() < 0.3 ? chars(`${alnum}-`, 0, 8) : '';
    return `${chars(alnum, 1, 1)}${inner}${inner === '' ? '' : chars(alnum, 1, 1)}`;
  };
  const host = (): string => {
    const name = Array.from({ length: 1 + int(4) }, label).join('.');
    return next() < 0.25 ? `${name}:${1 + int(65535)}` : name;
  };
  /** Any Unicode text except lone surrogates: quotes, backslashes, controls, U+2028, astral. */
  const text = (maxLength: number): string => {
    const length = next() < 0.05 ? 16 * 1024 : int(maxLength);
    let out = '';
    for (let k = 0; k < length; k++) {
      const kind = next();
      if (kind < 0.6) out += String.fromCharCode(0x20 + int(0x5f));
      else if (kind < 0.7) out += pick(['"', '\\', '/', '\u2028', '\u2029', '<', '>', '&']);
      else if (kind < 0.8) out += String.fromCharCode(int(0x20));
      else if (kind < 0.9) out += String.fromCharCode(0xa0 + int(0xd7ff - 0xa0));
      else out += String.fromCodePoint(0x10000 + int(0xfffff));
    }
    return out;
  };
  const durationMs = (): number =>
    pick([
      () => 0,
      () => -int(1e9),
      () => int(1000),
      () => int(3600) * 1000 + int(1000),
      () => int(1e10),
      () => int(MAX_GO_DURATION_SECONDS) * 1000,
      () => 1e25 * next(),
      () => Number.NaN,
      () => Number.POSITIVE_INFINITY,
    ])();
  return { int, pick, host, text, durationMs };
}

const expectedSeconds = (ms: number): number =>
  Number.isNaN(ms) || ms < 1000 ? 0 : Math.min(Math.floor(ms / 1000), MAX_GO_DURATION_SECONDS);

describe('encodeResponse(buildResponse(...)) always passes validateKubeletResponse', () => {
  for (let seed = 1; seed <= 400; seed++) {
    test(`seed ${seed}`, () => {
      const g = generators(random(seed));
      const apiVersion = g.pick(API_VERSIONS);
      const cacheKeyType: CacheKeyType = g.pick(['Image', 'Registry', 'Global'] as const);
      const hosts = [...new Set(Array.from({ length: g.int(4) }, g.host))];
      const auth: Record<string, AuthEntry> = Object.fromEntries(hosts.map((host) => [host, { username: g.text(40), password: g.text(3000) }]));
      if (cacheKeyType === 'Image' && hosts.length > 0) auth[`${hosts[0]}/team-a`] = { username: g.text(10), password: g.text(100) };
      const cacheDurationMs = g.durationMs();

      const stdout = encodeResponse(buildResponse({ apiVersion, cacheKeyType, cacheDurationMs, auth }));
      const verdict = validateKubeletResponse(stdout, apiVersion);
      if (!verdict.ok) throw new Error(`seed ${seed}: kubelet would reject: ${verdict.reason}`);
      expect(verdict.response.apiVersion).toBe(apiVersion);
      expect(verdict.response.cacheKeyType).toBe(cacheKeyType);
      expect(verdict.response.cacheDurationNs).toBe(expectedSeconds(cacheDurationMs) * 1e9);
      expect(verdict.response.auth).toEqual(auth);
      for (const host of hosts) {
        expect(keyringLookup(verdict.response.auth, `${host}/team-b/app`)).toContainEqual(auth[host]!);
      }
      // Any other version, even a supported one, is refused.
      for (const other of API_VERSIONS.filter((v) => v !== apiVersion)) expect(validateKubeletResponse(stdout, other).ok).toBe(false);
    });
  }
});
