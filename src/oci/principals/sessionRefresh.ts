/**
 * When a session token (instance principal, workload identity) is due for renewal: at
 * `exp - min(5 min, lifetime/2)`, since a fixed 5 min would refresh on every call for tokens under
 * 5 min (oracle/nosql-go-sdk#11). A module of its own so the shared cache can judge a cached
 * session without loading the federation code.
 */
export const SESSION_REFRESH_MARGIN_MS = 5 * 60_000;

export function sessionNeedsRefresh(session: { expiresAtMs: number; issuedAtMs: number }, nowMs: number): boolean {
  const margin = Math.min(SESSION_REFRESH_MARGIN_MS, (session.expiresAtMs - session.issuedAtMs) / 2);
  return nowMs >= session.expiresAtMs - margin;
}
