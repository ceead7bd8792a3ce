import type { HttpResponse } from './http.ts';
import { redactOutside } from '../log.ts';

/** The facts of a failed OCI answer that are safe to show an operator. */
export interface OciErrorInfo {
  readonly status: number;
  /** OCI's `code` (`NotAuthenticated`) or the registry's (`DENIED`). */
  readonly ociCode?: string;
  /** OCI's message, redacted and shortened: it is shown in the kubelet log. */
  readonly message?: string;
  readonly opcRequestId?: string;
}

/** OCI codes (`NotAuthenticated`) and request ids (`<hex>/<hex>/<hex>`) have these shapes; anything else is not shown. */
const CODE_SHAPE = /^[A-Za-z0-9_.-]{1,64}$/;
const REQUEST_ID_SHAPE = /^[A-Za-z0-9_./:-]{1,128}$/;
const shaped = (value: string | null | undefined, shape: RegExp): string | undefined =>
  value !== null && value !== undefined && shape.test(value) ? value : undefined;

/**
 * Reads OCI's error shape `{"code","message"}` and the Docker registry shape
 * `{"errors":[{"code","message"}]}`; a body that is neither (an HTML error page from a proxy) yields
 * only the status, never the body itself.
 */
export function readOciError(response: HttpResponse): OciErrorInfo {
  const opcRequestId = shaped(response.headers.get('opc-request-id'), REQUEST_ID_SHAPE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    return { status: response.status, opcRequestId };
  }
  const first = pickErrorObject(parsed);
  const code = typeof first?.code === 'string' ? shaped(first.code, CODE_SHAPE) : undefined;
  const message = typeof first?.message === 'string' ? redactOutside(first.message) : undefined;
  return { status: response.status, ociCode: code, message, opcRequestId };
}

function pickErrorObject(value: unknown): { code?: unknown; message?: unknown } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const errors = (value as { errors?: unknown }).errors;
  if (Array.isArray(errors) && typeof errors[0] === 'object' && errors[0] !== null) {
    return errors[0] as { code?: unknown; message?: unknown };
  }
  return value;
}
