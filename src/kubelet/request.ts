import { ProviderError } from '../errors.ts';
import { API_VERSIONS, SERVICE_ACCOUNT_API_VERSION, isApiVersion } from './apiVersion.ts';
import { describeJsonType, isJsonObject, MAX_JSON_DEPTH, readJsonDocument } from './jsonDocument.ts';
import type { JsonReadResult, JsonValue } from './jsonDocument.ts';
import { kubeletEncodedRequest, MAX_REQUEST_BYTES, REQUEST_KIND, type PlainRequest } from './requestBytes.ts';

/**
 * What the kubelet asks, decoded from stdin (`kubernetes/kubelet`
 * `pkg/apis/credentialprovider/{v1,v1beta1,v1alpha1}/types.go`).
 */
export interface CredentialProviderRequest extends PlainRequest {
  /** The pod's service-account token (v1 only, KEP-4412). Secret: never log it. */
  readonly serviceAccountToken?: string;
  /** The configured service-account annotations that are present (v1 only). */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
}

/** Messages quote at most this much of a key the kubelet sent. */
const QUOTE_MAX_CHARS = 80;
/** Longer kind or apiVersion values are described by length only (the real ones are under 45). */
const IDENTIFIER_MAX_CHARS = 64;
const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const HINT = 'the kubelet writes one JSON CredentialProviderRequest on stdin; check the kubelet version and providers[].apiVersion';

/**
 * Decodes the kubelet's request. Tolerant where the kubelet may change (key order, whitespace,
 * a missing trailing newline, unknown fields: new kubelets add fields), strict where a wrong
 * guess would be harmful. Throws `ProviderError('ERR_REQUEST_INVALID')` with a message naming
 * the problem and never quoting the service-account token.
 *
 * Decisions:
 * - Keys are case-sensitive: `Image` is an unknown field, not `image`.
 * - A key read here (`kind`, `apiVersion`, `image`, `serviceAccountToken`,
 *   `serviceAccountAnnotations`, an annotation key) appearing twice is refused. The kubelet's Go
 *   encoder cannot produce that, and readers disagree on which copy wins (Go keeps the last,
 *   others the first), so guessing could make the provider act on a different image than a
 *   proxy or log saw. Duplicates inside fields that are ignored do not matter.
 * - On v1alpha1 and v1beta1 the service-account fields are ignored, not refused: those versions'
 *   schemas do not have them (the kubelet's conversion drops them, `v1alpha1/conversion.go`, and
 *   `tokenAttributes` is only allowed with v1), so they are unknown fields like any other. They
 *   are also dropped from the result, so an old-version request can never put the provider into
 *   service-account mode.
 * - `serviceAccountToken: ""` or `null` and `serviceAccountAnnotations: {}` or `null` mean
 *   "absent", as they do for Go's decoder and the kubelet's `omitempty` encoder.
 */
export function decodeRequest(input: string | Uint8Array): CredentialProviderRequest {
  const encoded = typeof input === 'string' ? undefined : kubeletEncodedRequest(input);
  if (encoded !== undefined) return encoded;
  const document = readJsonDocument(toText(input));
  if (!document.ok) fail(describeRefusal(document));
  const root = document.value;
  if (!isJsonObject(root)) fail(`the request is ${describeJsonType(root)}, not a JSON object`);
  const duplicated = (path: readonly string[], keys: readonly string[] | undefined): string | undefined =>
    document.duplicateKeys.find(
      (d) => d.path.length === path.length && d.path.every((p, n) => p === path[n]) && (keys === undefined || keys.includes(d.key)),
    )?.key;
  const refuseDuplicate = (path: readonly string[], keys: readonly string[] | undefined): void => {
    const key = duplicated(path, keys);
    if (key === undefined) return;
    const where = path.length === 0 ? 'the request' : `"${path.join('.')}"`;
    fail(`${where} has the key ${quote(key)} more than once; the kubelet never sends duplicate keys`);
  };
  refuseDuplicate([], ['kind', 'apiVersion', 'image']);

  const kind = root.kind;
  if (kind === undefined) fail(`the request has no "kind"; expected "${REQUEST_KIND}"`);
  if (kind !== REQUEST_KIND) fail(`"kind" is ${describeValue(kind, root.serviceAccountToken)}, expected "${REQUEST_KIND}"`);

  const apiVersion = root.apiVersion;
  const supported = `supported: ${API_VERSIONS.join(', ')}`;
  if (apiVersion === undefined) fail(`the request has no "apiVersion"; ${supported}`);
  if (!isApiVersion(apiVersion)) fail(`"apiVersion" ${describeValue(apiVersion, root.serviceAccountToken)} is not supported; ${supported}`);

  const image = root.image;
  if (image === undefined) fail('the request has no "image"');
  if (typeof image !== 'string') fail(`"image" is ${describeJsonType(image)}, expected a non-empty string`);
  if (image.length === 0) fail('"image" is empty');

  if (apiVersion !== SERVICE_ACCOUNT_API_VERSION) return Object.freeze({ apiVersion, image });

  refuseDuplicate([], ['serviceAccountToken', 'serviceAccountAnnotations']);
  const token = root.serviceAccountToken;
  if (token !== undefined && token !== null && typeof token !== 'string') {
    // Only the type is named: the value may be a token in the wrong shape.
    fail(`"serviceAccountToken" is ${describeJsonType(token)}, expected a string`);
  }
  refuseDuplicate(['serviceAccountAnnotations'], undefined);
  const annotations = readAnnotations(root.serviceAccountAnnotations);
  return Object.freeze({
    apiVersion,
    image,
    ...(typeof token === 'string' && token.length > 0 ? { serviceAccountToken: token } : {}),
    ...(annotations === undefined ? {} : { serviceAccountAnnotations: annotations }),
  });
}

function fail(message: string): never {
  throw new ProviderError('ERR_REQUEST_INVALID', message, { hint: HINT });
}

/** Bytes or a string to text, refusing what the kubelet's Go encoder never writes. */
function toText(input: string | Uint8Array): string {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes === 0) fail('the request on stdin is empty; expected one JSON CredentialProviderRequest');
  if (bytes > MAX_REQUEST_BYTES) fail(`the request is ${bytes} bytes, over the limit of ${MAX_REQUEST_BYTES} bytes`);
  if (typeof input === 'string') {
    if (input.startsWith('\uFEFF')) fail('the request starts with a byte order mark (U+FEFF); JSON must not');
    // A lone surrogate is what invalid UTF-8 becomes once it is a JS string: refuse it alike.
    if (/[\uD800-\uDFFF]/u.test(input)) fail('the request is not valid UTF-8 (it holds a lone UTF-16 surrogate)');
    return input;
  }
  if (UTF8_BOM.every((b, n) => input[n] === b)) fail('the request starts with a UTF-8 byte order mark (EF BB BF); JSON must not');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    fail('the request is not valid UTF-8');
  }
}

function describeRefusal(result: Extract<JsonReadResult, { ok: false }>): string {
  const at = `at character ${result.offset}`;
  switch (result.problem) {
    case 'empty':
      return 'the request on stdin holds only whitespace; expected one JSON CredentialProviderRequest';
    case 'truncated':
      return 'the request is not valid JSON: it ends in the middle of a value (truncated)';
    case 'trailing':
      return `the request has data after the JSON object, ${at}; expected exactly one JSON object`;
    case 'too-deep':
      return `the request is not accepted: it nests deeper than ${MAX_JSON_DEPTH} levels, ${at}`;
    case 'lone-surrogate':
      return `the request is not valid JSON: a \\u escape ${at} is half of a UTF-16 surrogate pair`;
    case 'syntax':
      return `the request is not valid JSON: unexpected character ${at}`;
  }
}

function readAnnotations(value: JsonValue | undefined): Readonly<Record<string, string>> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) fail(`"serviceAccountAnnotations" is ${describeJsonType(value)}, expected an object of strings`);
  const entries = Object.entries(value);
  for (const [key, annotation] of entries) {
    if (typeof annotation !== 'string') {
      fail(`"serviceAccountAnnotations" has ${describeJsonType(annotation)} under ${quote(key)}, expected a string`);
    }
  }
  if (entries.length === 0) return undefined;
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
}

/**
 * A kind or apiVersion the kubelet sent, for a message. Quoted only when short, shaped like an
 * identifier and not part of the request's token, so a misplaced token is described, never shown
 * (real tokens are hundreds of characters; real kinds and versions are under 45).
 */
function describeValue(value: JsonValue, token: JsonValue | undefined): string {
  if (typeof value !== 'string') return describeJsonType(value);
  const shown =
    value.length <= IDENTIFIER_MAX_CHARS && /^[\w./-]*$/.test(value) && !(typeof token === 'string' && value.length > 0 && token.includes(value));
  return shown ? JSON.stringify(value) : `a string of ${value.length} characters`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > QUOTE_MAX_CHARS ? `${text.slice(0, QUOTE_MAX_CHARS)}…` : text);
}
