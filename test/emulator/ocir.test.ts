import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { SignJWT, importX509, jwtVerify } from 'jose';
import type { KeyPair } from './certificates.ts';
import { generateRsaKeyPair } from './certificates.ts';
import type { Emulator } from './index.ts';
import { startEmulator } from './index.ts';
import type { Session } from './test-helpers.ts';
import {
  TestClock,
  basic,
  expectOciError,
  expectRegistryError,
  jwtClaims,
  jwtHeader,
  obtainDockerToken,
  obtainSession,
  requestDockerToken,
} from './test-helpers.ts';

const clock = new TestClock();
let emulator: Emulator;
let session: Session;
let otherKeys: KeyPair;

const TOKEN_PATH = '/20180419/docker/token';
const MINUTE_MS = 60_000;

beforeAll(async () => {
  emulator = await startEmulator({
    now: clock.now,
    sessionTokenLifetimeSeconds: 1200,
    dockerTokenLifetimeSeconds: 600,
    repositories: { 'emulatorns/app': ['1.0', 'latest'], 'emulatorns/team/tool': ['v2'], 'otherns/app': ['1.0'] },
  });
  [session, otherKeys] = await Promise.all([obtainSession(emulator), generateRsaKeyPair()]);
});
afterEach(() => {
  clock.offsetMs = 0;
  emulator.setPolicy((principal, repository) => principal.tenancyId === emulator.tenancyId && repository.startsWith('emulatorns/'));
});
afterAll(async () => {
  await emulator.stop();
});

const sessionIdentity = () => ({ keyId: `ST$${session.token}`, privateKey: session.keys.privateKey });
const manifestUrl = (repository: string, reference: string) => `http://${emulator.registryHost}/v2/${repository}/manifests/${reference}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the docker token endpoint, signed requests', () => {
  test('accepts a request signed with the session key and ST$<token>; the docker token is a checkable JWT', async () => {
    const response = await requestDockerToken(emulator, sessionIdentity());
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ scope: '', expires_in: 600 });
    expect(body['access_token']).toBe(body['token']);
    const token = body['token'] as string;
    expect(emulator.lastDockerToken).toBe(token);

    // The x5c chain ends at the CA the emulator publishes, and its first certificate verifies the token.
    const header = jwtHeader(token);
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    const [signerDer, caDer] = header['x5c'] as string[];
    const signer = new X509Certificate(Buffer.from(signerDer!, 'base64'));
    const ca = new X509Certificate(emulator.registryTokenCaPem);
    expect(Buffer.from(caDer!, 'base64').equals(ca.raw)).toBe(true);
    expect(signer.checkIssued(ca) && signer.verify(ca.publicKey)).toBe(true);
    const { payload } = await jwtVerify(token, await importX509(signer.toString(), 'RS256'), { audience: emulator.registryHost });
    expect(payload).toMatchObject({ iss: 'emulator-ocir', sub: emulator.instanceId, aud: emulator.registryHost, access: [] });
    expect(typeof payload.aud).toBe('string');
    expect(payload.exp).toBe(payload.iat! + 600);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.jti).toEqual(expect.any(String));
  });

  test('accepts a registered API key (user principal) and rejects an unknown one (401)', async () => {
    const keys = await generateRsaKeyPair();
    const fingerprint = emulator.registerApiKey('ocid1.user.oc1..aaaaaaaatester', keys.publicKey);
    expect(fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    const keyId = `${emulator.tenancyId}/ocid1.user.oc1..aaaaaaaatester/${fingerprint}`;
    const accepted = await requestDockerToken(emulator, { keyId, privateKey: keys.privateKey });
    expect(accepted.status).toBe(200);
    expect(jwtClaims(((await accepted.json()) as { token: string }).token)['sub']).toBe('ocid1.user.oc1..aaaaaaaatester');

    // The last hex digit changed (replacing it with a fixed value was a no-op for 1 fingerprint in 256).
    const unknownKeyId = `${keyId.slice(0, -1)}${keyId.endsWith('0') ? '1' : '0'}`;
    const unknown = await requestDockerToken(emulator, { keyId: unknownKeyId, privateKey: keys.privateKey });
    expect(await expectOciError(unknown, 401, 'NotAuthenticated')).toContain('no API key');
    const wrongKey = await requestDockerToken(emulator, { keyId, privateKey: otherKeys.privateKey });
    await expectOciError(wrongKey, 401, 'NotAuthenticated');
  });

  test('rejects an ST$ token signed by another key (401)', async () => {
    const claims = jwtClaims(session.token);
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: jwtHeader(session.token)['kid'] as string })
      .sign(otherKeys.privateKey);
    const response = await requestDockerToken(emulator, { keyId: `ST$${forged}`, privateKey: session.keys.privateKey });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('signature');
  });

  test('rejects an expired ST$ token (401)', async () => {
    clock.offsetMs = 21 * MINUTE_MS; // the session token lives 20 minutes
    const response = await requestDockerToken(emulator, sessionIdentity(), { date: clock.date() });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('expired');
  });

  test('rejects a request signed with a key other than the token jwk (401)', async () => {
    const response = await requestDockerToken(emulator, { keyId: `ST$${session.token}`, privateKey: otherKeys.privateKey });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain('does not verify');
  });

  test('rejects a Host header other than the signed host (401)', async () => {
    const port = emulator.registryHost.split(':')[1]!;
    const response = await requestDockerToken(emulator, sessionIdentity(), { signedHost: `localhost:${port}` });
    expect(await expectOciError(response, 401, 'NotAuthenticated')).toContain(`host "${emulator.registryHost}"`);
  });

  test('rejects a signature without host, and a skewed date (401)', async () => {
    const noHost = await requestDockerToken(emulator, sessionIdentity(), { headersToSign: ['date', '(request-target)'] });
    expect(await expectOciError(noHost, 401, 'NotAuthenticated')).toContain('host');
    const skewed = await requestDockerToken(emulator, sessionIdentity(), { date: clock.date(-6 * MINUTE_MS) });
    expect(await expectOciError(skewed, 401, 'NotAuthenticated')).toContain('behind');
  });

  test('rejects a request without credentials (401)', async () => {
    await expectOciError(await fetch(`http://${emulator.registryHost}${TOKEN_PATH}`), 401, 'NotAuthenticated');
  });
});

describe('the docker token endpoint, challenge flow', () => {
  test('GET with Basic BEARER_TOKEN:<token> answers a token scoped to what policy allows', async () => {
    const dockerToken = await obtainDockerToken(emulator, session);
    const query = new URLSearchParams({ service: emulator.registryHost });
    query.append('scope', 'repository:emulatorns/app:pull');
    query.append('scope', 'repository:otherns/app:pull repository:emulatorns/team/tool:pull,push');
    const response = await fetch(`http://${emulator.registryHost}${TOKEN_PATH}?${query.toString()}`, {
      headers: { authorization: basic('BEARER_TOKEN', dockerToken) },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; access_token: string; scope: string };
    expect(body.scope).toBe('repository:emulatorns/app:pull repository:emulatorns/team/tool:pull');
    expect(jwtClaims(body.token)['access']).toEqual([
      { type: 'repository', name: 'emulatorns/app', actions: ['pull'] },
      { type: 'repository', name: 'emulatorns/team/tool', actions: ['pull'] },
    ]);
    // The scoped token pulls what it was granted, and nothing else.
    expect((await fetch(manifestUrl('emulatorns/app', 'latest'), { headers: bearer(body.token) })).status).toBe(200);
    await expectRegistryError(await fetch(manifestUrl('otherns/app', '1.0'), { headers: bearer(body.token) }), 403, 'DENIED');
  });

  test('a scoped token is limited to its access claim even where policy would allow more', async () => {
    const dockerToken = await obtainDockerToken(emulator, session);
    const scoped = await fetch(`http://${emulator.registryHost}${TOKEN_PATH}?scope=repository:emulatorns/app:pull`, {
      headers: { authorization: basic('BEARER_TOKEN', dockerToken) },
    });
    const { token } = (await scoped.json()) as { token: string };
    const response = await fetch(manifestUrl('emulatorns/team/tool', 'v2'), { headers: bearer(token) });
    expect(await expectRegistryError(response, 403, 'DENIED')).toContain('does not grant');
  });

  test("POST with containerd's OAuth form answers access_token", async () => {
    const dockerToken = await obtainDockerToken(emulator, session);
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'BEARER_TOKEN',
      password: dockerToken,
      service: emulator.registryHost,
      scope: 'repository:emulatorns/app:pull',
      client_id: 'containerd-client',
    });
    const response = await fetch(`http://${emulator.registryHost}${TOKEN_PATH}`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(600);
    expect((await fetch(manifestUrl('emulatorns/app', '1.0'), { headers: bearer(body.access_token) })).status).toBe(200);
  });

  test('rejects a forged or unknown password, another username, another service', async () => {
    const dockerToken = await obtainDockerToken(emulator, session);
    const url = `http://${emulator.registryHost}${TOKEN_PATH}`;
    const get = async (authorization: string, query = '') => fetch(`${url}${query}`, { headers: { authorization } });
    await expectOciError(await get(basic('BEARER_TOKEN', `${dockerToken}x`)), 401, 'NotAuthenticated');
    await expectOciError(await get(basic('BEARER_TOKEN', session.token)), 401, 'NotAuthenticated');
    await expectOciError(await get(basic('emulatorns/someone', 'auth-token')), 401, 'NotAuthenticated');
    await expectOciError(await get(basic('BEARER_TOKEN', dockerToken), '?service=iad.ocir.io'), 400, 'InvalidParameter');
  });
});

describe('the registry /v2 API', () => {
  test('GET /v2/ challenges without a token and answers 200 with one', async () => {
    const anonymous = await fetch(`http://${emulator.registryHost}/v2/`);
    await expectRegistryError(anonymous, 401, 'UNAUTHORIZED');
    expect(anonymous.headers.get('www-authenticate')).toBe(
      `Bearer realm="http://${emulator.registryHost}${TOKEN_PATH}",service="${emulator.registryHost}",scope=""`,
    );
    const dockerToken = await obtainDockerToken(emulator, session);
    const authorized = await fetch(`http://${emulator.registryHost}/v2/`, { headers: bearer(dockerToken) });
    expect(authorized.status).toBe(200);
    expect(await authorized.json()).toEqual({});
  });

  test('manifests: 401 with the repository scope, 200 with digest, HEAD, by digest; Basic accepted too', async () => {
    const anonymous = await fetch(manifestUrl('emulatorns/team/tool', 'v2'));
    await expectRegistryError(anonymous, 401, 'UNAUTHORIZED');
    expect(anonymous.headers.get('www-authenticate')).toContain('scope="repository:emulatorns/team/tool:pull"');

    const dockerToken = await obtainDockerToken(emulator, session);
    const response = await fetch(manifestUrl('emulatorns/team/tool', 'v2'), { headers: bearer(dockerToken) });
    expect(response.status).toBe(200);
    const digest = response.headers.get('docker-content-digest')!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(((await response.json()) as { schemaVersion: number }).schemaVersion).toBe(2);

    const head = await fetch(manifestUrl('emulatorns/team/tool', 'v2'), { method: 'HEAD', headers: bearer(dockerToken) });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    const byDigest = await fetch(manifestUrl('emulatorns/team/tool', digest), { headers: bearer(dockerToken) });
    expect(byDigest.status).toBe(200);
    const viaBasic = await fetch(manifestUrl('emulatorns/app', 'latest'), { headers: { authorization: basic('BEARER_TOKEN', dockerToken) } });
    expect(viaBasic.status).toBe(200);
  });

  test('manifests: 403 when policy denies, 404 NAME_UNKNOWN and MANIFEST_UNKNOWN', async () => {
    const dockerToken = await obtainDockerToken(emulator, session);
    const get = async (repository: string, reference: string) => fetch(manifestUrl(repository, reference), { headers: bearer(dockerToken) });
    await expectRegistryError(await get('otherns/app', '1.0'), 403, 'DENIED');
    await expectRegistryError(await get('emulatorns/missing', 'latest'), 404, 'NAME_UNKNOWN');
    await expectRegistryError(await get('emulatorns/app', '9.9'), 404, 'MANIFEST_UNKNOWN');
    await expectRegistryError(await get('emulatorns/app', `sha256:${'0'.repeat(64)}`), 404, 'MANIFEST_UNKNOWN');
    emulator.denyAll();
    await expectRegistryError(await get('emulatorns/app', 'latest'), 403, 'DENIED');
    emulator.allowAll();
    expect((await get('otherns/app', '1.0')).status).toBe(200);
    emulator.setPolicy((principal, repository) => principal.type === 'instance' && repository === 'emulatorns/app');
    expect((await get('emulatorns/app', '1.0')).status).toBe(200);
    await expectRegistryError(await get('emulatorns/team/tool', 'v2'), 403, 'DENIED');
  });

  test('manifests: a forged, expired or revoked token gets 401 with error="invalid_token"', async () => {
    const dockerToken = await obtainDockerToken(emulator, session);
    const forged = await new SignJWT(jwtClaims(dockerToken))
      .setProtectedHeader(jwtHeader(dockerToken) as { alg: string })
      .sign(otherKeys.privateKey);
    const forgedResponse = await fetch(manifestUrl('emulatorns/app', 'latest'), { headers: bearer(forged) });
    expect(await expectRegistryError(forgedResponse, 401, 'UNAUTHORIZED')).toContain('signature');
    expect(forgedResponse.headers.get('www-authenticate')).toContain('error="invalid_token"');

    clock.offsetMs = 11 * MINUTE_MS; // docker tokens live 10 minutes here
    const expired = await fetch(manifestUrl('emulatorns/app', 'latest'), { headers: bearer(dockerToken) });
    expect(await expectRegistryError(expired, 401, 'UNAUTHORIZED')).toContain('expired');
    clock.offsetMs = 0;

    emulator.revokeDockerTokens();
    const revoked = await fetch(manifestUrl('emulatorns/app', 'latest'), { headers: bearer(dockerToken) });
    expect(await expectRegistryError(revoked, 401, 'UNAUTHORIZED')).toContain('revoked');
    const revokedExchange = await fetch(`http://${emulator.registryHost}${TOKEN_PATH}`, {
      headers: { authorization: basic('BEARER_TOKEN', dockerToken) },
    });
    await expectOciError(revokedExchange, 401, 'NotAuthenticated');
    // Tokens issued after the revocation work.
    const fresh = await obtainDockerToken(emulator, session);
    expect((await fetch(manifestUrl('emulatorns/app', 'latest'), { headers: bearer(fresh) })).status).toBe(200);
  });

  test('a session token is not a docker token', async () => {
    const response = await fetch(manifestUrl('emulatorns/app', 'latest'), { headers: bearer(session.token) });
    await expectRegistryError(response, 401, 'UNAUTHORIZED');
  });
});
