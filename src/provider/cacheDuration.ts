import type { AccessVerdict } from '../ocir/accessProbe.ts';

/**
 * How long the kubelet may reuse a docker token (`cacheDuration`): a pure policy, so it is tested on
 * its own. It can never outlive the token it is for.
 */

/**
 * Subtracted from a token's remaining life for the kubelet's cache: a pull that starts just before
 * the cache entry expires still gets a token that outlives its registry handshake.
 * 5 min of a 60 min OCIR token gives the original plugin's `defaultCacheDuration` of 55m.
 */
export const CACHE_SAFETY_MARGIN_MS = 5 * 60_000;
/** While the IAM policy does not (yet) let the token read the repository: short, so a late policy heals by itself. */
export const UNVERIFIED_CACHE_DURATION_MS = 2 * 60_000;

/** The remaining life minus the margin (at most half the remaining life for short tokens); never negative. */
export function cacheDurationMs(token: { expiresAtMs: number }, verdict: AccessVerdict | 'unchecked', nowMs: number): number {
  const remaining = token.expiresAtMs - nowMs;
  if (!(remaining > 0)) return 0;
  const full = remaining - Math.min(CACHE_SAFETY_MARGIN_MS, remaining / 2);
  if (verdict === 'authorized' || verdict === 'unchecked') return full;
  return Math.min(full, UNVERIFIED_CACHE_DURATION_MS);
}
