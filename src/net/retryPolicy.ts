/**
 * When to try an HTTP call again, and how long to wait first. Pure, so every rule is a table test.
 * Full-jitter exponential backoff (a random delay in [0, min(cap, base·2^(n-1))]) spreads a burst
 * of node processes instead of having them retry in lockstep; `Retry-After` wins when the server
 * sends one (no OCI SDK reads it, but a 429 with it is the server telling us exactly what it needs).
 */
export interface RetryPolicy {
  /** Total attempts including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Whether an answer with this status is worth another attempt. */
  readonly retryStatus: (status: number) => boolean;
}

/** What the last attempt ended with. */
export type AttemptOutcome =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string | null }
  | { readonly kind: 'network' }
  /** The server's certificate was refused: the same certificate will be refused again, so never retried. */
  | { readonly kind: 'tls' }
  | { readonly kind: 'timeout' };

/** 429 and 5xx except 501 (MethodNotImplemented will not change), as the OCI SDKs' default policies. */
export function isRetryableServiceStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

/** IMDS also answers 404 for a few milliseconds while it updates (canonical/cloud-init#536; Python SDK retries it). */
export function isRetryableImdsStatus(status: number): boolean {
  return status === 404 || isRetryableServiceStatus(status);
}

/** IMDS is link-local and answers in milliseconds: short waits, more tries. */
export const IMDS_RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  retryStatus: isRetryableImdsStatus,
};

/** The auth service and OCIR: remote, so longer waits. */
export const SERVICE_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  retryStatus: isRetryableServiceStatus,
};

export const NO_RETRY: RetryPolicy = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, retryStatus: () => false };

/**
 * The delay before attempt `attempt + 1`, or undefined when the outcome is final or attempts are used up.
 * @param attempt the 1-based number of the attempt that just ended
 * @param random a number in [0, 1)
 * @param nowMs the current time, for an HTTP-date `Retry-After`
 */
export function nextRetryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  outcome: AttemptOutcome,
  random: number,
  nowMs: number,
): number | undefined {
  if (attempt >= policy.maxAttempts || outcome.kind === 'tls') return undefined;
  if (outcome.kind === 'status') {
    if (!policy.retryStatus(outcome.status)) return undefined;
    const hinted = parseRetryAfterMs(outcome.retryAfter, nowMs);
    if (hinted !== undefined) return Math.min(hinted, policy.maxDelayMs);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random * ceiling);
}

/** `Retry-After` as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
