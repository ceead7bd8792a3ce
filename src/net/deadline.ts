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
