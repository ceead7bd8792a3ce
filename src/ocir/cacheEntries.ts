import type { MemoEntry } from '../cache/memo.ts';
import { sha256Hex } from '../webCrypto.ts';
import type { DockerToken } from './dockerToken.ts';

/**
 * What of OCIR the shared cache keeps, and when it is still good: docker tokens per (registry,
 * identity), and the proof that a token could read a repository. Both are bound to the identity's
 * name (`Signer.principalKey`), so another identity's entry is a miss.
 */

/** A docker token with when it was fetched: freshness is judged on its whole life. */
export interface CachedDockerToken extends DockerToken {
  readonly issuedAtMs: number;
}

/** Reuse a docker token until this close to its expiry (at most half its life for short tokens), so the cacheDuration we hand out stays ≥ 5 min. */
export const DOCKER_TOKEN_REUSE_MARGIN_MS = 10 * 60_000;

export function dockerTokenIsFresh(token: { issuedAtMs: number; expiresAtMs: number }, nowMs: number): boolean {
  const margin = Math.min(DOCKER_TOKEN_REUSE_MARGIN_MS, (token.expiresAtMs - token.issuedAtMs) / 2);
  return nowMs < token.expiresAtMs - margin;
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

export function dockerTokenEntry(registry: string, principalKey: string): MemoEntry<CachedDockerToken> {
  return {
    key: ['docker', registry, principalKey],
    codec: {
      encode: (t) => ({ token: t.token, issuedAtMs: t.issuedAtMs, expiresAtMs: t.expiresAtMs }),
      decode: (json) => {
        const e = json as Partial<CachedDockerToken> | undefined;
        if (typeof e?.token !== 'string' || e.token === '' || !isTime(e.issuedAtMs) || !isTime(e.expiresAtMs) || e.expiresAtMs <= e.issuedAtMs) return undefined;
        return { token: e.token, issuedAtMs: e.issuedAtMs, expiresAtMs: e.expiresAtMs };
      },
    },
  };
}

/** Proof that one token could read one repository: the token's digest (never the token) and its expiry. */
export interface AccessProof {
  readonly tokenSha256: string;
  readonly expiresAtMs: number;
}

export function accessProofEntry(registry: string, principalKey: string, repository: string): MemoEntry<AccessProof> {
  return {
    key: ['verified', registry, principalKey, repository],
    codec: {
      encode: (p) => p,
      decode: (json) => {
        const e = json as Partial<AccessProof> | undefined;
        if (typeof e?.tokenSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.tokenSha256) || !isTime(e.expiresAtMs)) return undefined;
        return { tokenSha256: e.tokenSha256, expiresAtMs: e.expiresAtMs };
      },
    },
  };
}

export function accessProofFor(token: DockerToken): AccessProof {
  return { tokenSha256: sha256Hex(token.token), expiresAtMs: token.expiresAtMs };
}
