import { isApiVersion, type ApiVersion } from './apiVersion.ts';

/**
 * The request as the kubelet writes it on stdin: how much of it is read at most, and the quick
 * decoding of the kubelet's own encoding, which a warm exec uses without loading the general reader
 * (`request.ts`, `jsonDocument.ts`).
 */

/**
 * Largest request accepted, in bytes. The kubelet's request is a few hundred bytes, or in
 * service-account mode a token (a few KiB) plus annotations (at most 256 KiB in total on the API
 * server), so 1 MiB takes any real request and still bounds memory for a runaway writer.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export const REQUEST_KIND = 'CredentialProviderRequest';

const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
/** A real request is a few hundred bytes; longer ones take the general reader. */
const ENCODED_MAX_BYTES = 4096;

/** What every request holds (`pkg/apis/credentialprovider/{v1,v1beta1,v1alpha1}/types.go`). */
export interface PlainRequest {
  /** The version the kubelet sent; the response must carry exactly this one. */
  readonly apiVersion: ApiVersion;
  /** The normalized image name, e.g. `fra.ocir.io/ns/repo` (no tag, no digest). See `parseImage`. */
  readonly image: string;
}

/**
 * The request exactly as the kubelet encodes one without a service-account token (Go's encoder:
 * `{"kind":…,"apiVersion":…,"image":…}`, compact, then a newline), decoded without the general
 * reader; undefined for anything else, which `decodeRequest` reads in full. Printable ASCII without
 * a backslash, and `JSON.stringify` giving the very text back, leave no room for what the general
 * reader refuses or reads differently: a duplicate key, an escape, a surrogate, nesting, a BOM.
 */
export function kubeletEncodedRequest(bytes: Uint8Array): PlainRequest | undefined {
  let end = bytes.length;
  if (bytes[end - 1] === NEWLINE) end--;
  if (end > ENCODED_MAX_BYTES) return undefined;
  for (let i = 0; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x20 || byte > 0x7e || byte === BACKSLASH) return undefined;
  }
  // Printable ASCII is the same text in any decoding; `String.fromCharCode(...bytes)` costs a cold exec 0.8 M instructions (the spread), TextDecoder next to nothing.
  const text = new TextDecoder().decode(bytes.subarray(0, end));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { kind, apiVersion, image } = (value ?? {}) as Record<string, unknown>;
  if (kind !== REQUEST_KIND || !isApiVersion(apiVersion) || typeof image !== 'string' || image.length === 0) return undefined;
  return JSON.stringify({ kind, apiVersion, image }) === text ? Object.freeze({ apiVersion, image }) : undefined;
}
