import { describeFailure, ProviderError } from '../errors.ts';
import { redact } from '../log.ts';

/** A failure as one report line and its fix: the provider's own message and facts, its hint as the fix. */
export function describeError(error: unknown): { readonly detail: string; readonly fix: string | undefined } {
  if (!(error instanceof ProviderError)) {
    return { detail: `unexpected error: ${redact(error instanceof Error ? error.message : String(error))}`, fix: undefined };
  }
  return {
    detail: redact(describeFailure(error)),
    fix: error.hint === undefined ? undefined : redact(error.hint),
  };
}
