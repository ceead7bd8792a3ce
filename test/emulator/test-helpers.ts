import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { expect } from 'bun:test';
import { FEDERATION_HEADERS, signRequest } from '../../src/oci/signer.ts';
import type { KeyPair } from './certificates.ts';
import { certificateFingerprint, generateRsaKeyPair } from './certificates.ts';
import type { Emulator } from './index.ts';

/**
 * Client-side helpers for the emulator's own tests: fetch the instance identity from IMDS, and
 * build federation and docker-token requests with the project's signer, with knobs to break
 * exactly one thing at a time.
 */

/** A clock the test moves: the emulator's `now` option. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  /** A signing date `deltaMs` away from the emulator's current time. */
  date(deltaMs = 0): Date {
    return new Date(this.now() + deltaMs);
  }
}

export const ORACLE_BEARER = { authorization: 'Bearer Oracle' } as const;

export async function imdsGet(emulator: Emulator, path: string, headers: Record<string, string> = ORACLE_BEARER): Promise<Response> {
  return fetch(`${emulator.imdsBaseUrl}${path}`, { headers });
}

export interface InstanceCredentials {
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
  readonly intermediate: X509Certificate;
}

/** cert.pem, key.pem and intermediate.pem, as a provider fetches them. */
export async function fetchInstanceCredentials(emulator: Emulator): Promise<InstanceCredentials> {
  const [cert, key, intermediate] = await Promise.all(
    ['/identity/cert.pem', '/identity/key.pem', '/identity/intermediate.pem'].map(async (path) => {
      const response = await imdsGet(emulator, path);
      expect(response.status).toBe(200);
      return response.text();
    }),
  );
  return {
    certificate: new X509Certificate(cert!),
    privateKey: createPrivateKey(key!),
    intermediate: new X509Certificate(intermediate!),
  };
}

export function sha256KeyId(tenancyId: string, certificate: X509Certificate): string {
  return `${tenancyId}/fed-x509-sha256/${certificateFingerprint(certificate, 'sha256')}`;
}

export function spkiBase64(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

export interface FederationOptions {
  /** The leaf put in the body (default: the IMDS leaf). */
  readonly certificate?: X509Certificate;
  readonly intermediates?: readonly X509Certificate[];
  /** Key that signs the request (default: the IMDS leaf key). */
  readonly signingKey?: KeyObject;
  readonly keyId?: string;
  readonly date?: Date;
  readonly headersToSign?: readonly string[];
  readonly sessionKey?: KeyObject;
  /** Changes the signed headers before sending (to forge or break them). */
  readonly tamper?: (headers: Record<string, string>) => void;
  /** Signed and sent instead of the body built from the other options. */
  readonly body?: string;
  /** Sent instead of the signed body. */
  readonly sendBody?: string;
  readonly contentType?: string;
}

/** Signs and sends `POST /v1/x509` the way the Go SDK does, unless an option says otherwise. */
export async function federate(
  emulator: Emulator,
  credentials: InstanceCredentials,
  sessionKeys: KeyPair,
  options: FederationOptions = {},
): Promise<Response> {
  const certificate = options.certificate ?? credentials.certificate;
  const body =
    options.body ??
    JSON.stringify({
      certificate: certificate.raw.toString('base64'),
      publicKey: spkiBase64(options.sessionKey ?? sessionKeys.publicKey),
      intermediateCertificates: (options.intermediates ?? [credentials.intermediate]).map((c) => c.raw.toString('base64')),
      fingerprintAlgorithm: 'SHA256',
    });
  const url = `${emulator.authUrl}/v1/x509`;
  const headers = signRequest(
    { method: 'POST', url, headers: { 'content-type': options.contentType ?? 'application/json' }, body },
    { keyId: options.keyId ?? sha256KeyId(emulator.tenancyId, certificate), privateKey: options.signingKey ?? credentials.privateKey },
    { date: options.date ?? new Date(), headersToSign: options.headersToSign ?? FEDERATION_HEADERS },
  );
  options.tamper?.(headers);
  const sent = options.sendBody ?? body;
  return fetch(url, { method: 'POST', headers, body: sent });
}

export interface Session {
  readonly token: string;
  readonly keys: KeyPair;
}

/** A session token for the current IMDS identity (federation done right). */
export async function obtainSession(emulator: Emulator, date = new Date()): Promise<Session> {
  const [credentials, keys] = await Promise.all([fetchInstanceCredentials(emulator), generateRsaKeyPair()]);
  const response = await federate(emulator, credentials, keys, { date });
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  return { token, keys };
}

export interface TokenRequestOptions {
  readonly date?: Date;
  readonly headersToSign?: readonly string[];
  /** Host the signature covers; the request still goes to the registry (default: the same host). */
  readonly signedHost?: string;
}

/** `GET /20180419/docker/token` signed by `identity`, as the provider sends it. */
export async function requestDockerToken(
  emulator: Emulator,
  identity: { keyId: string; privateKey: KeyObject },
  options: TokenRequestOptions = {},
): Promise<Response> {
  const path = '/20180419/docker/token';
  const signedUrl = `http://${options.signedHost ?? emulator.registryHost}${path}`;
  const headers = signRequest({ method: 'GET', url: signedUrl }, identity, {
    date: options.date ?? new Date(),
    ...(options.headersToSign ? { headersToSign: options.headersToSign } : {}),
  });
  return fetch(`http://${emulator.registryHost}${path}`, { headers });
}

/** A docker token for the instance principal (federation unless a session is given, then a signed token request). */
export async function obtainDockerToken(emulator: Emulator, given?: Session): Promise<string> {
  const session = given ?? (await obtainSession(emulator));
  const response = await requestDockerToken(emulator, { keyId: `ST$${session.token}`, privateKey: session.keys.privateKey });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

/** Asserts an OCI-shaped error and returns its message. */
export async function expectOciError(response: Response, status: number, code: string): Promise<string> {
  const body = (await response.json()) as { code?: string; message?: string };
  expect({ status: response.status, code: body.code }).toEqual({ status, code });
  expect(response.headers.get('opc-request-id')).toBeTruthy();
  return body.message ?? '';
}

/** Asserts a Docker-v2-shaped error and returns its message. */
export async function expectRegistryError(response: Response, status: number, code: string): Promise<string> {
  const body = (await response.json()) as { errors?: { code: string; message: string }[] };
  expect({ status: response.status, code: body.errors?.[0]?.code }).toEqual({ status, code });
  return body.errors?.[0]?.message ?? '';
}

/** The claims of a JWT, unverified (tests check what was issued, verification is the emulator's job). */
export function jwtClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function jwtHeader(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
