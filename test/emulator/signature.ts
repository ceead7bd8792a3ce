import { Buffer } from 'node:buffer';
import { verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Verification of OCI request signatures (draft-cavage-http-signatures-08 as OCI profiles it,
 * oci-auth.md §4), written independently of src/oci/signer.ts so that a bug there cannot be
 * mirrored here. Pure functions: each returns a verdict whose failure message says what was
 * wrong, because the provider's error messages show it.
 */

export type Verdict<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export interface SignatureParameters {
  readonly version: string;
  /** The `headers="..."` list, lowercased, in the order the client signed them. */
  readonly headers: readonly string[];
  readonly keyId: string;
  readonly algorithm: string;
  readonly signature: Buffer;
}

/** What the verifier needs from an incoming request. */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target exactly as it arrived on the request line (path and query, still escaped). */
  readonly target: string;
  /** Node's lowercased header map. */
  readonly headers: IncomingHttpHeaders;
}

/** "If the client's clock is skewed more than 5 minutes, a 401 (NotAuthenticated)" (OCI signing docs). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const REQUEST_TARGET = '(request-target)';
/** RFC 7231 IMF-fixdate, what every SDK sends (`Thu, 05 Jan 2014 21:31:40 GMT`). */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** One `name="value"` parameter followed by a comma or the end; values never contain quotes. */
const PARAMETER = /\s*([A-Za-z]+)="([^"]*)"\s*(?:,|$)/y;

const ok = <T>(value: T): Verdict<T> => ({ ok: true, value });
const fail = <T>(message: string): Verdict<T> => ({ ok: false, message });

/**
 * Parses `Authorization: Signature k="v",...`. Parameters may come in any order (Go, Python and
 * TS each use a different one); `version="1"` and `algorithm="rsa-sha256"` are required.
 * Unknown parameters are ignored, as draft-cavage allows.
 */
export function parseAuthorization(header: string | undefined): Verdict<SignatureParameters> {
  if (header === undefined || header.trim() === '') return fail('the request has no Authorization header');
  const match = /^Signature\s+(.*)$/is.exec(header.trim());
  if (match === null) return fail('the Authorization header is not of the "Signature" scheme');
  const text = match[1]!;
  const params = new Map<string, string>();
  PARAMETER.lastIndex = 0;
  while (PARAMETER.lastIndex < text.length) {
    const at = PARAMETER.lastIndex;
    const parameter = PARAMETER.exec(text);
    if (parameter === null) return fail(`the Authorization header does not parse at offset ${at}`);
    const name = parameter[1]!;
    if (params.has(name)) return fail(`the Authorization header names "${name}" twice`);
    params.set(name, parameter[2]!);
  }
  for (const name of ['version', 'headers', 'keyId', 'algorithm', 'signature']) {
    if (!params.has(name)) return fail(`the Authorization header has no "${name}" parameter`);
  }
  const version = params.get('version')!;
  if (version !== '1') return fail(`unsupported signature version "${version}" (expected "1")`);
  const algorithm = params.get('algorithm')!;
  if (algorithm !== 'rsa-sha256') return fail(`unsupported signature algorithm "${algorithm}" (expected "rsa-sha256")`);
  // Names are compared and rebuilt lowercased (draft-cavage §2.3): the TS SDK writes `Content-Type
  // Content-Length` in this list for every POST, and OCI accepts it.
  const headers = params
    .get('headers')!
    .split(' ')
    .filter((name) => name !== '')
    .map((name) => name.toLowerCase());
  if (headers.length === 0) return fail('the signature covers no headers');
  if (new Set(headers).size !== headers.length) return fail('the "headers" parameter lists a header twice');
  const keyId = params.get('keyId')!;
  if (keyId === '') return fail('the keyId is empty');
  const signature = params.get('signature')!;
  if (signature === '' || !BASE64.test(signature)) return fail('the signature is not padded base64');
  return ok({ version, headers, keyId, algorithm, signature: Buffer.from(signature, 'base64') });
}

/**
 * Each entry of `required` is a set of alternatives, one of which must be signed
 * (e.g. `['date', 'x-date']`). Every signed header must also be present in the request.
 */
export function checkSignedHeaders(
  params: SignatureParameters,
  request: ReceivedRequest,
  required: ReadonlyArray<readonly string[]>,
): Verdict<void> {
  for (const alternatives of required) {
    if (!alternatives.some((name) => params.headers.includes(name))) {
      return fail(`the signature must cover ${alternatives.join(' or ')} (signed: ${params.headers.join(' ')})`);
    }
  }
  for (const name of params.headers) {
    if (name !== REQUEST_TARGET && headerValue(request.headers, name) === undefined) {
      return fail(`the signed header ${name} is not in the request`);
    }
  }
  return ok(undefined);
}

/** Every signed `date`/`x-date` must be an IMF-fixdate within ±5 minutes of the service clock. */
export function checkClockSkew(params: SignatureParameters, request: ReceivedRequest, nowMs: number): Verdict<void> {
  for (const name of ['date', 'x-date']) {
    if (!params.headers.includes(name)) continue;
    const value = headerValue(request.headers, name) ?? '';
    if (!IMF_FIXDATE.test(value)) return fail(`the ${name} header "${value}" is not an RFC 7231 IMF-fixdate`);
    const skewMs = Date.parse(value) - nowMs;
    if (Math.abs(skewMs) > MAX_CLOCK_SKEW_MS) {
      const direction = skewMs > 0 ? 'ahead of' : 'behind';
      return fail(
        `the ${name} header is ${Math.round(Math.abs(skewMs) / 1000)} s ${direction} the service clock ` +
          `(limit ${MAX_CLOCK_SKEW_MS / 1000} s): check the client's clock`,
      );
    }
  }
  return ok(undefined);
}

/** Rebuilds the signing string from the request as received, in the order of `headers="..."`. */
export function rebuildSigningString(params: SignatureParameters, request: ReceivedRequest): string {
  return params.headers
    .map((name) =>
      name === REQUEST_TARGET
        ? `${REQUEST_TARGET}: ${request.method.toLowerCase()} ${request.target}`
        : `${name}: ${headerValue(request.headers, name) ?? ''}`,
    )
    .join('\n');
}

/** RSASSA-PKCS1-v1_5 / SHA-256 over the rebuilt signing string with the principal's public key. */
export function verifySignature(params: SignatureParameters, request: ReceivedRequest, publicKey: KeyObject): Verdict<void> {
  if (publicKey.asymmetricKeyType !== 'rsa') return fail('the principal key is not an RSA key');
  const signingString = Buffer.from(rebuildSigningString(params, request), 'utf8');
  if (verify('sha256', signingString, publicKey, params.signature)) return ok(undefined);
  return fail(
    `the signature does not verify over the signing string rebuilt from "${params.headers.join(' ')}" ` +
      `(host "${headerValue(request.headers, 'host') ?? ''}", target "${request.method.toLowerCase()} ${request.target}"): ` +
      'the request was changed after signing, or signed with a key other than the one keyId names',
  );
}

/** A header's value as the signing string sees it; repeated headers are joined as Node joins them. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
