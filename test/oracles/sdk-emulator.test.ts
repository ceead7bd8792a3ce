import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthenticationDetailsProvider } from 'oci-common';
import {
  ConfigFileAuthenticationDetailsProvider,
  DefaultRequestSigner,
  FetchHttpClient,
  InstancePrincipalsAuthenticationDetailsProviderBuilder,
  SessionAuthDetailProvider,
} from 'oci-common';
import type { Emulator } from '../emulator/index.ts';
import { startEmulator } from '../emulator/index.ts';
import { rsaKeyPair, sdkSign } from './support/sdk.ts';

/**
 * The emulator held to Oracle's client: the TS SDK's own instance-principal provider and config-file
 * providers talk to it unmodified (only the metadata URL and the federation endpoint are pointed at
 * 127.0.0.1). Whatever the SDK sends must be accepted, so the emulator cannot be tuned to our
 * provider's habits; and what the SDK is made to get wrong must be refused as OCI refuses it.
 */

const SKEW_MS = 6 * 60 * 1000;
const PASSPHRASE = 'a passphrase = with an equals sign';

let emulator: Emulator;
let clockOffsetMs = 0;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ now: () => Date.now() + clockOffsetMs });
  dir = mkdtempSync(join(tmpdir(), 'cpo-sdk-emulator-'));
});
afterAll(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  clockOffsetMs = 0;
});

const tokenUrl = (): string => `http://${emulator.registryHost}/20180419/docker/token`;

/** The SDK's instance-principal provider, federated against the emulator's IMDS and auth service. */
async function instancePrincipal(): Promise<AuthenticationDetailsProvider> {
  const builder = new InstancePrincipalsAuthenticationDetailsProviderBuilder();
  builder.metadataBaseUrl = emulator.imdsBaseUrl;
  // Without it the SDK would derive https://auth.eu-frankfurt-1.oraclecloud.com from IMDS: never leave 127.0.0.1.
  builder.federationEndpoint = emulator.authUrl;
  return builder.build();
}

/** A signed GET of the docker token, sent by the SDK's own HTTP client and signer. */
async function sdkDockerToken(provider: AuthenticationDetailsProvider): Promise<{ status: number; body: Record<string, unknown> }> {
  const client = new FetchHttpClient(new DefaultRequestSigner(provider));
  const response = await client.send({ uri: tokenUrl(), method: 'GET', headers: new Headers() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function writeProfile(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

describe("the SDK's instance-principal provider against the emulator", () => {
  test('a full federation (IMDS certificate, key and intermediate; POST /v1/x509), then a signed docker-token GET', async () => {
    emulator.resetCalls();
    const provider = await instancePrincipal();
    const keyId = await provider.getKeyId();
    expect(keyId).toStartWith('ST$');
    expect(emulator.calls('auth.x509')).toBe(1);
    for (const endpoint of ['imds.cert', 'imds.key', 'imds.intermediate'] as const) expect(emulator.calls(endpoint), endpoint).toBeGreaterThan(0);

    const answer = await sdkDockerToken(provider);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body['expires_in']).toBe(3600);
    const principal = emulator.dockerTokenPrincipal(String(answer.body['token']));
    expect(principal).toEqual({ type: 'instance', id: emulator.instanceId, tenancyId: emulator.tenancyId });
  });

  test("a skewed clock: the emulator refuses the SDK's federation (401), as OCI does beyond 5 minutes", async () => {
    // The SDK reads the wall clock; moving the service's clock is the same skew seen from the other side.
    clockOffsetMs = SKEW_MS;
    emulator.resetCalls();
    const provider = await instancePrincipal();
    const outcome = await provider.getKeyId().then(
      () => 'accepted',
      (error: unknown) => String((error as { message?: unknown }).message ?? error),
    );
    expect(outcome).toContain('status: 401');
    // A 4xx is final for the SDK: one attempt, no retry.
    expect(emulator.calls('auth.x509')).toBe(1);
  });

  test('a skewed clock on the docker-token GET: 401 NotAuthenticated naming the clock', async () => {
    const provider = await instancePrincipal();
    await provider.getKeyId();
    clockOffsetMs = -SKEW_MS;
    const answer = await sdkDockerToken(provider);
    expect(answer.status).toBe(401);
    expect(answer.body['code']).toBe('NotAuthenticated');
    expect(String(answer.body['message'])).toContain('clock');
  });
});

describe("a federation POST signed by the SDK's DefaultRequestSigner (x-date, mixed-case header names)", () => {
  /** The leaf's identity as the SDK's federation client names it, and a federation body for it. */
  async function federationRequest(): Promise<{ provider: AuthenticationDetailsProvider; body: string }> {
    const imds = (path: string): Promise<string> =>
      fetch(`${emulator.imdsBaseUrl}/${path}`, { headers: { authorization: 'Bearer Oracle' } }).then((r) => r.text());
    const [certPem, keyPem, intermediatePem] = await Promise.all([imds('identity/cert.pem'), imds('identity/key.pem'), imds('identity/intermediate.pem')]);
    const der = (pem: string): string => new X509Certificate(pem).raw.toString('base64');
    const session = rsaKeyPair();
    const body = JSON.stringify({
      certificate: der(certPem),
      publicKey: createPublicKey(session.publicKeyPem).export({ type: 'spki', format: 'der' }).toString('base64'),
      intermediateCertificates: [der(intermediatePem)],
      purpose: 'DEFAULT',
    });
    const sha1 = new X509Certificate(certPem).fingerprint.toLowerCase();
    const provider: AuthenticationDetailsProvider = {
      getKeyId: () => Promise.resolve(`${emulator.tenancyId}/fed-x509/${sha1}`),
      getPrivateKey: () => keyPem,
      getPassphrase: () => null,
    };
    return { provider, body };
  }

  test('as signed: accepted (OCI reads header names in any case)', async () => {
    const { provider, body } = await federationRequest();
    const headers = await sdkSign(provider, { uri: `${emulator.authUrl}/v1/x509`, method: 'POST', headers: new Headers(), body });
    const response = await fetch(`${emulator.authUrl}/v1/x509`, { method: 'POST', headers, body });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(((await response.json()) as { token?: string }).token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  test('a body tampered with after signing: 401 NotAuthenticated', async () => {
    const { provider, body } = await federationRequest();
    const headers = await sdkSign(provider, { uri: `${emulator.authUrl}/v1/x509`, method: 'POST', headers: new Headers(), body });
    // Same length, one character changed: only the body hash can tell.
    const tampered = body.replace('"purpose":"DEFAULT"', '"purpose":"DEFAULU"');
    expect(tampered.length).toBe(body.length);
    const response = await fetch(`${emulator.authUrl}/v1/x509`, { method: 'POST', headers, body: tampered });
    expect(response.status).toBe(401);
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe('NotAuthenticated');
    expect(error.message).toBe('x-content-sha256 is not the base64 SHA-256 of the body');
  });
});

describe("the SDK's config-file providers against the emulator's registered API key", () => {
  test('an API-key profile (ConfigFileAuthenticationDetailsProvider, DEFAULT inheritance, encrypted key): docker token issued', async () => {
    const userId = 'ocid1.user.oc1..sdkconfigfileuser';
    const key = rsaKeyPair({ passphrase: PASSPHRASE, encoding: 'pkcs1' });
    const fingerprint = emulator.registerApiKey(userId, key.publicKeyPem);
    writeFileSync(join(dir, 'api_key.pem'), key.privateKeyPem, { mode: 0o600 });
    const config = writeProfile('config-api-key', [
      '# written as oci setup config would',
      '[DEFAULT]',
      `tenancy=${emulator.tenancyId}`,
      'region=eu-frankfurt-1',
      '',
      '[emulator]',
      `user = ${userId}`,
      `fingerprint = ${fingerprint}`,
      `key_file = ${join(dir, 'api_key.pem')}`,
      `pass_phrase = ${PASSPHRASE}`,
    ]);
    const answer = await sdkDockerToken(new ConfigFileAuthenticationDetailsProvider(config, 'emulator'));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(emulator.dockerTokenPrincipal(String(answer.body['token']))).toEqual({ type: 'user', id: userId, tenancyId: emulator.tenancyId });
  });

  test('a security_token_file profile (SessionAuthDetailProvider, ST$ keyId): docker token issued', async () => {
    const session = rsaKeyPair();
    const token = await emulator.issueSessionToken(session.publicKeyPem);
    writeFileSync(join(dir, 'session_key.pem'), session.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'session_token'), token);
    const config = writeProfile('config-session', [
      '[DEFAULT]',
      `tenancy=${emulator.tenancyId}`,
      'fingerprint=00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00',
      `key_file=${join(dir, 'session_key.pem')}`,
      `security_token_file=${join(dir, 'session_token')}`,
      'region=eu-frankfurt-1',
    ]);
    const answer = await sdkDockerToken(new SessionAuthDetailProvider(config, 'DEFAULT'));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(emulator.dockerTokenPrincipal(String(answer.body['token']))?.type).toBe('user');
  });

  test("the wrong key for the registered fingerprint: 401, the signature does not verify", async () => {
    const userId = 'ocid1.user.oc1..sdkwrongkeyuser';
    const registered = rsaKeyPair();
    const other = rsaKeyPair();
    const fingerprint = emulator.registerApiKey(userId, registered.publicKeyPem);
    writeFileSync(join(dir, 'other.pem'), other.privateKeyPem, { mode: 0o600 });
    const config = writeProfile('config-wrong-key', [
      '[DEFAULT]',
      `tenancy=${emulator.tenancyId}`,
      `user=${userId}`,
      `fingerprint=${fingerprint}`,
      `key_file=${join(dir, 'other.pem')}`,
      'region=eu-frankfurt-1',
    ]);
    const answer = await sdkDockerToken(new ConfigFileAuthenticationDetailsProvider(config, 'DEFAULT'));
    expect(answer.status).toBe(401);
    expect(answer.body['code']).toBe('NotAuthenticated');
    expect(String(answer.body['message'])).toContain('does not verify');
  });
});
