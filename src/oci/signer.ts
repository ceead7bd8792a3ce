import { nodeCrypto } from '../nodeCrypto.ts';
import type { KeyObject } from 'node:crypto';
import { ProviderError } from '../errors.ts';

/**
 * OCI request signing: draft-cavage-http-signatures-08 as OCI profiles it ("Signature
 * version 1", rsa-sha256). Pure: the date comes in, headers go out; nothing is sent here.
 */

/** A request about to be sent with `fetch`, as far as the signature is concerned. */
export interface SignableRequest {
  /** HTTP method, any case (`GET`, `post`). */
  readonly method: string;
  /** The exact URL that will be fetched; its path and query are signed as serialised by WHATWG `URL`. */
  readonly url: URL | string;
  /** Headers the caller wants to send (any name case); returned again with lowercased names. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The exact body that will be sent; a string is sent (and hashed) as UTF-8. */
  readonly body?: string | Uint8Array;
}

export interface SignOptions {
  /** Signing time, sent as the `date` header. OCI rejects a date more than 5 minutes off its clock. */
  readonly date: Date;
  /**
   * Headers to sign, in order. Defaults to {@link GENERIC_HEADERS} for GET/HEAD/DELETE (and any
   * method without a body) and {@link BODY_HEADERS} for POST/PUT/PATCH.
   */
  readonly headersToSign?: readonly string[];
}

/** Who signs: the `keyId` OCI looks up and the private key behind it. */
export interface SigningIdentity {
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/** Go's `DefaultGenericHeaders`, also Python's and Java's: what every request signs. */
export const GENERIC_HEADERS: readonly string[] = Object.freeze(['date', '(request-target)', 'host']);

/** Go's `DefaultGenericHeaders` + `DefaultBodyHeaders`: what POST/PUT/PATCH sign. */
export const BODY_HEADERS: readonly string[] = Object.freeze([
  ...GENERIC_HEADERS,
  'content-length',
  'content-type',
  'x-content-sha256',
]);

/**
 * What Go (`federation_client.go`, "host is not needed for the federation endpoint") and Python
 * sign for `POST /v1/x509` on the auth service: the body headers without `host`.
 */
export const FEDERATION_HEADERS: readonly string[] = Object.freeze([
  'date',
  '(request-target)',
  'content-length',
  'content-type',
  'x-content-sha256',
]);

/** base64(SHA-256("")), the `x-content-sha256` of an absent or empty body. */
export const EMPTY_BODY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

/** Methods whose body the SDKs hash and sign (Go `defaultBodyHashPredicate`, Python `inject_missing_headers`). */
const METHODS_WITH_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** The SDKs' default when the caller names no content type. */
const DEFAULT_CONTENT_TYPE = 'application/json';

/** The pseudo-header derived from the request line; it is signed but never sent. */
const REQUEST_TARGET = '(request-target)';

/** base64 of SHA-256 over the body bytes: the value of `x-content-sha256`. */
export function contentSha256(body: string | Uint8Array | undefined): string {
  return nodeCrypto().createHash('sha256')
    .update(body ?? '')
    .digest('base64');
}

/**
 * The `(request-target)` value: lowercase method, a space, then path and query exactly as
 * `fetch` sends them (Go uses `URL.RequestURI()`, Python `request.path_url`). The fragment is
 * never sent, so it is never signed.
 */
export function requestTarget(method: string, url: URL): string {
  return `${method.toLowerCase()} ${url.pathname}${url.search}`;
}

/**
 * The string that is signed: one `name: value` line per entry of `headersToSign`, joined with
 * `\n`, no trailing newline. `headers` must already hold every named header under its lowercase
 * name, except `(request-target)` (derived from method and URL) and `host` (always `url.host`,
 * which carries a non-default port as Go's `URL.Host` does).
 */
export function buildSigningString(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  headersToSign: readonly string[],
): string {
  return headersToSign
    .map((name) => {
      if (name === REQUEST_TARGET) return `${REQUEST_TARGET}: ${requestTarget(method, url)}`;
      if (name === 'host') return `host: ${url.host}`;
      const value = headers[name];
      if (value === undefined) {
        throw internal(`the header ${name} is to be signed but the request does not carry it`);
      }
      return `${name}: ${value}`;
    })
    .join('\n');
}

/**
 * Signs a request the way the Go SDK's `OciRequestSigner` does.
 *
 * Returns the headers to send: the given ones (lowercased names) plus `date`, and for
 * POST/PUT/PATCH `content-length`, `content-type` (default `application/json`) and
 * `x-content-sha256`, and finally `authorization`. Not `host`: fetch derives Host from the URL,
 * and the signature covers `url.host`, which is the same value. Computed headers replace given
 * ones of the same name, so re-signing the output of an earlier call (a retry) works.
 *
 * Throws `ERR_INTERNAL` for programming errors: an unparsable URL, an invalid date, a header to
 * sign that is missing, a header value with a line break, a body on a method that never signs
 * one, a non-RSA key.
 */
export function signRequest(
  request: SignableRequest,
  identity: SigningIdentity,
  options: SignOptions,
): Record<string, string> {
  const method = request.method.toUpperCase();
  const url = parseUrl(request.url);
  const headers = lowercaseHeaders(request.headers ?? {});

  if (Number.isNaN(options.date.getTime())) throw internal('the signing date is invalid');
  // `toUTCString()` is RFC 7231's IMF-fixdate, the format of Go's `http.TimeFormat`.
  headers['date'] = options.date.toUTCString();

  const hasBody = METHODS_WITH_BODY.has(method);
  if (hasBody) {
    const body = request.body ?? '';
    headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength);
    headers['content-type'] ??= DEFAULT_CONTENT_TYPE;
    headers['x-content-sha256'] = contentSha256(body);
  } else if (request.body !== undefined && bodyLength(request.body) > 0) {
    // Go and Python never hash a GET/HEAD/DELETE body, so it would travel unsigned.
    throw internal(`a ${method} request body would not be signed`);
  }

  // A caller-set Host that differs from the URL would make OCI verify a different string.
  if (headers['host'] !== undefined && headers['host'] !== url.host) {
    throw internal(`the host header does not match the URL host ${url.host}`);
  }

  const names = (options.headersToSign ?? (hasBody ? BODY_HEADERS : GENERIC_HEADERS)).map((n) => n.toLowerCase());
  if (names.length === 0) throw internal('no headers to sign');
  if (new Set(names).size !== names.length) throw internal('a header is listed twice in the headers to sign');

  headers['authorization'] = authorizationHeader(buildSigningString(method, url, headers, names), names, identity);
  // Spread defines own properties, so callers get a plain object with the same entries.
  return { ...headers };
}

/**
 * The `Authorization` value for a signing string: base64 RSASSA-PKCS1-v1_5/SHA-256 signature,
 * parameters in Go's order `version,headers,keyId,algorithm,signature` (verifiers parse them in
 * any order). `headersToSign` must be the lowercase names the signing string was built from.
 */
export function authorizationHeader(
  signingString: string,
  headersToSign: readonly string[],
  identity: SigningIdentity,
): string {
  const privateKey = identity.privateKey;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') {
    throw internal('the signing key is not an RSA private key');
  }
  // For an RSA key, node:crypto's default padding is PKCS#1 v1.5: rsa-sha256 as OCI means it.
  const signature = nodeCrypto().sign('sha256', Buffer.from(signingString, 'utf8'), privateKey).toString('base64');
  return (
    `Signature version="1",headers="${headersToSign.join(' ')}",keyId="${identity.keyId}",` +
    `algorithm="rsa-sha256",signature="${signature}"`
  );
}

function parseUrl(url: URL | string): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch (cause) {
    // The URL is not echoed: a caller could have put a token in its query.
    throw new ProviderError('ERR_INTERNAL', 'cannot sign a request: its URL does not parse', { cause });
  }
}

/** RFC 9110 `token`: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function lowercaseHeaders(given: Readonly<Record<string, string>>): Record<string, string> {
  // No prototype, so a header named `__proto__` is data, not a prototype change.
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(given)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(lower)) throw internal('a header name is not an HTTP token');
    if (Object.hasOwn(out, lower)) throw internal(`the header ${lower} is given twice`);
    // A line break would forge an extra line of the signing string.
    if (/[\r\n]/.test(value)) throw internal(`the header ${lower} has a line break in its value`);
    out[lower] = value;
  }
  return out;
}

function bodyLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? body.length : body.byteLength;
}

function internal(what: string): ProviderError {
  return new ProviderError('ERR_INTERNAL', `cannot sign a request: ${what}`);
}
