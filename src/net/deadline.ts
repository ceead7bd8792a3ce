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

/** A budget of `budgetMs` from `startedAtMs` (default: now). */
export function createDeadline(clock: Clock, budgetMs: number, startedAtMs: number = clock.now()): Deadline {
  const expiresAtMs = startedAtMs + budgetMs;
  return {
    expiresAtMs,
    budgetMs,
    remainingMs: () => Math.max(0, expiresAtMs - clock.now()),
  };
}
