import type { Clock } from '../runtime.ts';

/**
 * The whole exec's time budget. The kubelet SIGKILLs a plugin after 60 s and then logs only
 * "context deadline exceeded"; we stop earlier and say which call was slow.
 */
export interface Deadline {
  /** When the budget runs out, in ms since the epoch. */
  readonly expiresAtMs: number;
  readonly budgetMs: number;
  /** Milliseconds left, never negative. */
  remainingMs(): number;
}

/** A budget of `budgetMs` from `startedAtMs` (now by default: pass the exec's start so reading the inputs counts too). */
export function createDeadline(clock: Clock, budgetMs: number, startedAtMs: number = clock.now()): Deadline {
  const expiresAtMs = startedAtMs + budgetMs;
  return {
    expiresAtMs,
    budgetMs,
    remainingMs: () => Math.max(0, expiresAtMs - clock.now()),
  };
}

/**
 * `work`, or a rejection with `onExpiry()` once the deadline passes first. For waits that take no
 * signal (a read of stdin): the exec must answer by the deadline even if the kubelet never closes
 * the pipe. The timer is cleared as soon as either side settles.
 */
export function raceDeadline<T>(work: Promise<T>, deadline: Deadline, onExpiry: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onExpiry()), deadline.remainingMs());
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * How long to wait for another process's work (a refresh, or the exec leading a burst) before doing
 * it without the lock: until 15 s (or half the budget, for short budgets) before the deadline, which
 * leaves this exec time for a federation and a docker token of its own when the holder is stuck.
 */
export function lockWaitUntilMs(deadline: Deadline, nowMs: number): number {
  const remaining = deadline.expiresAtMs - nowMs;
  return deadline.expiresAtMs - Math.min(LOCK_WAIT_RESERVE_MS, remaining / 2);
}
const LOCK_WAIT_RESERVE_MS = 15_000;
