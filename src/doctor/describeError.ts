import { ProviderError } from '../errors.ts';
import { redact } from '../log.ts';

/** A failure as one report line and its fix: the provider's own message and facts, its hint as the fix. */
export function describeError(error: unknown): { readonly detail: string; readonly fix: string | undefined } {
  if (!(error instanceof ProviderError)) {
    return { detail: `unexpected error: ${redact(error instanceof Error ? error.message : String(error))}`, fix: undefined };
  }
  const d = error.details;
  const facts = [
    d.host !== undefined ? `host=${d.host}` : '',
    d.status !== undefined ? `status=${d.status}` : '',
    d.ociCode !== undefined ? `code=${d.ociCode}` : '',
    d.opcRequestId !== undefined ? `opc-request-id=${d.opcRequestId}` : '',
  ].filter((f) => f !== '');
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  return {
    detail: redact(`${error.code}: ${message}${facts.length > 0 ? ` (${facts.join(' ')})` : ''}`),
    fix: error.hint === undefined ? undefined : redact(error.hint),
  };
}
