import { generateKeyPairSync } from 'node:crypto';
import type { AuthenticationDetailsProvider } from 'oci-common';
import { DefaultRequestSigner } from 'oci-common';

/**
 * Helpers for driving Oracle's TypeScript SDK (`oci-common`, a pinned devDependency, never part of
 * the shipped executable) as a test oracle: its signer, its providers, and the parameters of the
 * `Authorization` header it writes.
 */

/** A request as the SDK's `HttpRequest` carries it; `headers` is mutated by the SDK's signer. */
export interface SdkRequest {
  readonly uri: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body?: string;
}

/** Signs `request` in place with the SDK's `DefaultRequestSigner` (as every SDK service client does). */
export async function sdkSign(provider: AuthenticationDetailsProvider, request: SdkRequest): Promise<Headers> {
  // The SDK types `method` as its own string union and `body` as `any`; the request shape is the same.
  await new DefaultRequestSigner(provider).signHttpRequest(request as Parameters<DefaultRequestSigner['signHttpRequest']>[0]);
  return request.headers;
}

/** The `k="v"` parameters of an `Authorization: Signature ...` header, in the order written. */
export function signatureParameters(authorization: string | null | undefined): Map<string, string> {
  const match = /^Signature (.*)$/.exec(authorization ?? '');
  if (match === null) throw new Error(`not a Signature authorization: ${String(authorization)}`);
  const params = new Map<string, string>();
  for (const pair of match[1]!.matchAll(/([A-Za-z]+)="([^"]*)"(?:,|$)/g)) params.set(pair[1]!, pair[2]!);
  return params;
}

/** An RSA key pair as PEM; with `passphrase`, the private key is encrypted (`pkcs1` legacy PEM or `pkcs8`). */
export function rsaKeyPair(options: { passphrase?: string; encoding?: 'pkcs1' | 'pkcs8' } = {}): { privateKeyPem: string; publicKeyPem: string } {
  const type = options.encoding ?? 'pkcs8';
  const privateKeyEncoding =
    options.passphrase === undefined
      ? { type, format: 'pem' as const }
      : { type, format: 'pem' as const, cipher: type === 'pkcs1' ? 'aes-128-cbc' : 'aes-256-cbc', passphrase: options.passphrase };
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
