/** What one check found: a mark, one line of detail and, when something is wrong, what to do about it. */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  /** Short, stable name shown in the report (`kubelet flags`, `IMDS`). */
  readonly name: string;
  readonly status: CheckStatus;
  /** One line: what was found. Never a token, key or signature. */
  readonly detail: string;
  /** One line: what to change, for `fail` and `warn`. */
  readonly fix?: string;
}

/**
 * A check's result plus what it learned for the checks after it. `value` is present when the
 * check produced something usable (pass, and some warnings); dependents are skipped without it.
 */
export interface Outcome<T> {
  readonly result: CheckResult;
  readonly value?: T;
}

export function pass<T>(name: string, detail: string, value: T): Outcome<T> {
  return { result: { name, status: 'pass', detail }, value };
}

export function fail(name: string, detail: string, fix: string | undefined): Outcome<never> {
  return { result: fix === undefined ? { name, status: 'fail', detail } : { name, status: 'fail', detail, fix } };
}

/** Usable, with something to correct: dependents still run with `value`. */
export function warn<T>(name: string, detail: string, fix: string, value: T): Outcome<T> {
  return { result: { name, status: 'warn', detail, fix }, value };
}

export function skip(name: string, detail: string): Outcome<never> {
  return { result: { name, status: 'skip', detail } };
}
