import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { authorizationHeader, buildSigningString, FEDERATION_HEADERS } from '../../src/oci/signer.ts';
import type { KeyPair } from './certificates.ts';
import {
  certificateFingerprint,
  createIntermediateCa,
  createRootCa,
  generateRsaKeyPair,
  instanceSubject,
  issueCertificate,
  issueInstanceLeaf,
} from './certificates.ts';
import type { Emulator } from './index.ts';
import { startEmulator } from './index.ts';
import type { InstanceCredentials } from './test-helpers.ts';
import {
  TestClock,
  expectOciError,
  federate,
  fetchInstanceCredentials,
  jwtClaims,
  jwtHeader,
  sha256KeyId,
  spkiBase64,
} from './test-helpers.ts';

const clock = new TestClock();
let emulator: Emulator;
let credentials: InstanceCredentials;
let sessionKeys: KeyPair;
let otherKeys: KeyPair;

beforeAll(async () => {
  emulator = await startEmulator({ now: clock.now, sessionTokenLifetimeSeconds: 1200 });
  [credentials, sessionKeys, otherKeys] = await Promise.all([
    fetchInstanceCredentials(emulator),
    generateRsaKeyPair(),
    generateRsaKeyPair(),
  ]);
});
afterEach(() => {
  clock.offsetMs = 0;
});
afterAll(async () => {
  await emulator.stop();
});

const MINUTE_MS = 60_000;

/** The Python SDK's body: no fingerprintAlgorithm. */
function federationBody(keys: KeyPair): string {
  return JSON.stringify({
    certificate: credentials.certificate.raw.toString('base64'),
    publicKey: spkiBase64(keys.publicKey),
    intermediateCertificates: [credentials.intermediate.raw.toString('base64')],
  });
}

describe('federation accepts', () => {
  test('a request signed like the Go SDK, and answers a session token bound to the session key', async () => {
    const response = await federate(emulator, credentials, sessionKeys);
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect(jwtHeader(token)).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    const claims = jwtClaims(token);
    expect(claims).toMatchObject({
      iss: 'authService.oracle.com',
      aud: 'opc.oracle.com',
      sub: emulator.instanceId,
      'opc-instance': emulator.instanceId,
      'opc-compartment': emulator.compartmentId,
      'opc-tenant': emulator.tenancyId,
      tenant: emulator.tenancyId,
      'opc-certtype': 'instance',
      ptype: 'instance',
      ttype: 'x509',
      jti: expect.any(String),
    });
    expect(claims['exp']).toBe((claims['iat'] as number) + 1200);
    expect(typeof claims['jwk']).toBe('string');
    const jwk = JSON.parse(claims['jwk'] as string) as Record<string, string>;
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    expect(createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'jwk' })).toEqual(
      sessionKeys.publicKey.export({ format: 'jwk' }),
    );
  });

  test('signed headers in another order, with host (the TS SDK order)', async () => {
    const reordered = ['x-content-sha256', 'content-type', '(request-target)', 'host', 'date', 'content-length'];
    expect((await federate(emulator, credentials, sessionKeys, { headersToSign: reordered })).status).toBe(200);
  });

  test('x-date instead of date (what browsers and the TS SDK sign)', async () => {
    const xDateHeaders = ['x-date', '(request-target)', 'host', 'content-type', 'content-length', 'x-content-sha256'];
    const body = federationBody(sessionKeys);
    const url = new URL(`${emulator.authUrl}/v1/x509`);
    const headers: Record<string, string> = {
      'x-date': new Date().toUTCString(),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-content-sha256': createHash('sha256').update(body).digest('base64'),
    };
    headers['authorization'] = authorizationHeader(buildSigningString('POST', url, headers, xDateHeaders), xDateHeaders, {
      keyId: sha256KeyId(emulator.tenancyId, credentials.certificate),
      privateKey: credentials.privateKey,
    });
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(200);
  });

  test('the SHA-1 fed-x509 keyId, and fingerprints in upper case', async () => {
    const sha1 = certificateFingerprint(credentials.certificate, 'sha1').toUpperCase();
    const keyId = `${emulator.tenancyId}/fed-x509/${sha1}`;
    expect((await federate(emulator, credentials, sessionKeys, { keyId })).status).toBe(200);
    const upper = `${emulator.tenancyId}/fed-x509-sha256/${credentials.certificate.fingerprint256}`;
    expect((await federate(emulator, credentials, sessionKeys, { keyId: upper })).status).toBe(200);
  });

  test('a date 4 minutes off either way', async () => {
    for (const delta of [4 * MINUTE_MS, -4 * MINUTE_MS]) {
      expect((await federate(emulator, credentials, sessionKeys, { date: clock.date(delta) })).status).toBe(200);
    }
  });
});

describe('federation rejects', () => {
  test('an unsigned request (401)', async () => {
    const response = await federate(emulator, credentials, sessionKeys, { tamper: (h) => delete h['authorization'] });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('no Authorization header');
  });

  test('another algorithm or version (401)', async () => {
    const hmac = await federate(emulator, credentials, sessionKeys, {
      tamper: (h) => (h['authorization'] = h['authorization']!.replace('rsa-sha256', 'hmac-sha256')),
    });
    expect(await expectOciError(hmac, 401, 'NotAuthenticated')).toContain('algorithm');
    const v2 = await federate(emulator, credentials, sessionKeys, {
      tamper: (h) => (h['authorization'] = h['authorization']!.replace('version="1"', 'version="2"')),
    });
    expect(await expectOciError(v2, 401, 'NotAuthenticated')).toContain('version');
  });

  test('a signature that does not cover a body header (401)', async () => {
    const headersToSign = FEDERATION_HEADERS.filter((name) => name !== 'x-content-sha256');
    const response = await federate(emulator, credentials, sessionKeys, { headersToSign });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('x-content-sha256');
  });

  test('a body that is not the one hashed (401)', async () => {
    const signed = federationBody(sessionKeys);
    // Same length, other session key: what a man in the middle would try.
    const swapped = signed.replace(spkiBase64(sessionKeys.publicKey), spkiBase64(otherKeys.publicKey));
    const response = await federate(emulator, credentials, sessionKeys, { body: signed, sendBody: swapped });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('x-content-sha256');
  });

  test('a signature over a wrong content-length (401)', async () => {
    const body = federationBody(sessionKeys);
    const url = new URL(`${emulator.authUrl}/v1/x509`);
    const headers: Record<string, string> = {
      date: new Date().toUTCString(),
      'content-type': 'application/json',
      'content-length': String(body.length + 1), // e.g. characters counted instead of bytes
      'x-content-sha256': createHash('sha256').update(body).digest('base64'),
    };
    headers['authorization'] = authorizationHeader(buildSigningString('POST', url, headers, FEDERATION_HEADERS), FEDERATION_HEADERS, {
      keyId: sha256KeyId(emulator.tenancyId, credentials.certificate),
      privateKey: credentials.privateKey,
    });
    delete headers['content-length']; // fetch sends the true length
    await expectOciError(await fetch(url, { method: 'POST', headers, body }), 401, 'NotAuthenticated');
  });

  test('a date 6 minutes off either way (401)', async () => {
    const ahead = await federate(emulator, credentials, sessionKeys, { date: clock.date(6 * MINUTE_MS) });
    expect(await expectOciError(ahead, 401, 'NotAuthenticated')).toContain('ahead of');
    const behind = await federate(emulator, credentials, sessionKeys, { date: clock.date(-6 * MINUTE_MS) });
    expect(await expectOciError(behind, 401, 'NotAuthenticated')).toContain('behind');
  });

  test('the emulator clock is the reference: a client 6 minutes behind it fails', async () => {
    clock.offsetMs = 6 * MINUTE_MS;
    const response = await federate(emulator, credentials, sessionKeys, { date: new Date() });
    await expectOciError(response, 401, 'NotAuthenticated');
  });

  test('a keyId with the fingerprint of another certificate (401)', async () => {
    const keyId = `${emulator.tenancyId}/fed-x509-sha256/${certificateFingerprint(credentials.intermediate, 'sha256')}`;
    const response = await federate(emulator, credentials, sessionKeys, { keyId });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('fingerprint');
  });

  test('a keyId for another tenancy (401)', async () => {
    const keyId = sha256KeyId('ocid1.tenancy.oc1..aaaaaaaaotherotherother', credentials.certificate);
    const response = await federate(emulator, credentials, sessionKeys, { keyId });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('tenancy');
  });

  test('a malformed keyId (401)', async () => {
    const response = await federate(emulator, credentials, sessionKeys, { keyId: 'ST$not-a-federation-key' });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('keyId');
  });

  test('a self-signed leaf with the right subject (401)', async () => {
    const keys = await generateRsaKeyPair();
    const names = { instanceId: emulator.instanceId, compartmentId: emulator.compartmentId, tenancyId: emulator.tenancyId };
    const forged = issueCertificate({
      subject: instanceSubject(names),
      subjectKey: keys.publicKey,
      selfSigningKey: keys.privateKey,
      notBefore: new Date(Date.now() - MINUTE_MS),
      notAfter: new Date(Date.now() + 60 * MINUTE_MS),
      isCa: false,
    });
    const response = await federate(emulator, credentials, sessionKeys, { certificate: forged, signingKey: keys.privateKey });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('not issued by');
  });

  test('a leaf from a look-alike CA with the same names (401)', async () => {
    const root = await createRootCa([['CN', 'PKISVC Identity Root r2']], Date.now());
    const intermediate = await createIntermediateCa([['CN', 'PKISVC Identity Intermediate r2']], root, Date.now());
    const names = { instanceId: emulator.instanceId, compartmentId: emulator.compartmentId, tenancyId: emulator.tenancyId };
    const leaf = await issueInstanceLeaf(intermediate, names, Date.now());
    const response = await federate(emulator, credentials, sessionKeys, {
      certificate: leaf.certificate,
      intermediates: [intermediate.certificate],
      signingKey: leaf.keys.privateKey,
    });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('root');
  });

  test('a leaf without its intermediate (401)', async () => {
    const response = await federate(emulator, credentials, sessionKeys, { intermediates: [] });
    await expectOciError(response, 401, 'NotAuthenticated');
  });

  test('an expired leaf (401)', async () => {
    clock.offsetMs = 3 * 60 * MINUTE_MS; // the ~2 h leaf has expired on the emulator's clock
    const response = await federate(emulator, credentials, sessionKeys, { date: clock.date() });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('not valid at');
  });

  test('a signature by another key (401)', async () => {
    const response = await federate(emulator, credentials, sessionKeys, { signingKey: otherKeys.privateKey });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('does not verify');
  });

  test('bodies that are not JSON or lack fields, and other content types (400)', async () => {
    await expectOciError(await federate(emulator, credentials, sessionKeys, { body: 'not json' }), 400, 'CannotParseRequest');
    const noKey = JSON.stringify({ certificate: credentials.certificate.raw.toString('base64') });
    await expectOciError(await federate(emulator, credentials, sessionKeys, { body: noKey }), 400, 'MissingParameter');
    const text = await federate(emulator, credentials, sessionKeys, { contentType: 'text/plain' });
    await expectOciError(text, 400, 'InvalidParameter');
  });

  test('a session key that is not RSA-2048 (400)', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const response = await federate(emulator, credentials, sessionKeys, { sessionKey: small.publicKey });
    await expectOciError(response, 400, 'InvalidParameter');
  });

  test('methods other than POST (405) and other paths (404)', async () => {
    await expectOciError(await fetch(`${emulator.authUrl}/v1/x509`), 405, 'MethodNotAllowed');
    await expectOciError(await fetch(`${emulator.authUrl}/v1/other`, { method: 'POST' }), 404, 'NotAuthorizedOrNotFound');
  });
});
