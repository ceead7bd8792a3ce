import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { SignJWT } from 'jose';
import { generateRsaKeyPair } from './certificates.ts';
import type { KeyPair } from './certificates.ts';
import type { Emulator } from './index.ts';
import { startEmulator } from './index.ts';
import { expectOciError, jwtClaims, jwtHeader, requestDockerToken, spkiBase64 } from './test-helpers.ts';

/**
 * The OKE proxymux (HTTPS with the cluster CA): it exchanges a service-account token signed by the
 * emulator's k8s key for an RPST bound to the pod's key, and refuses everything else; OCIR then
 * accepts the RPST and its docker tokens carry the workload to the pull policy. Also the other
 * token principals tests mint directly: session tokens (`security_token_file`) and RP v2.2 RPSTs.
 */

let emulator: Emulator;
let podKeys: KeyPair;
const ACCOUNT = { namespace: 'team-a', name: 'puller', uid: '0b9e4a52-1a7e-4a8e-9d1c-3f5a9c1e2d40' };

beforeAll(async () => {
  [emulator, podKeys] = await Promise.all([startEmulator(), generateRsaKeyPair()]);
});
afterEach(() => {
  emulator.clearFaults();
  emulator.resetCalls();
  emulator.setClusterEnhanced(true);
  emulator.allowAll();
});
afterAll(async () => {
  await emulator.stop();
});

/** `POST /resourcePrincipalSessionTokens`, trusting the cluster CA unless `trustClusterCa` is false. */
function exchange(token: string | undefined, podKey: string = spkiBase64(podKeys.publicKey), trustClusterCa = true): Promise<Response> {
  return fetch(`${emulator.proxymuxUrl}/resourcePrincipalSessionTokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ podKey }),
    ...(trustClusterCa ? { tls: { ca: emulator.proxymuxCaPem } } : {}),
  });
}

/** The RPST inside `"<base64 of {"token":"ST$<RPST>"}>"`. */
async function rpstOf(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  const body = await response.text();
  expect(body).toMatch(/^"[A-Za-z0-9+/]+={0,2}"$/);
  const { token } = JSON.parse(Buffer.from(body.slice(1, -1), 'base64').toString('utf8')) as { token: string };
  expect(token).toStartWith('ST$');
  return token.slice(3);
}

describe('exchange', () => {
  test('a valid service account token and a base64 SPKI podKey give an RPST for the workload, bound to the key', async () => {
    const rpst = await rpstOf(await exchange(await emulator.issueServiceAccountToken(ACCOUNT)));
    const claims = jwtClaims(rpst);
    expect(claims).toMatchObject({
      sub: emulator.workloadId('team-a', 'puller'),
      res_id: emulator.workloadId('team-a', 'puller'),
      res_tenant: emulator.tenancyId,
      res_compartment: emulator.compartmentId,
      ptype: 'workload',
      ttype: 'res',
      namespace: 'team-a',
      service_account: 'puller',
      cluster_id: emulator.clusterId,
    });
    expect(jwtHeader(rpst).alg).toBe('RS256');
    const jwk = JSON.parse(claims.jwk as string) as { n: string; e: string };
    expect(jwk.n).toBe(podKeys.publicKey.export({ format: 'jwk' }).n!);
    expect(emulator.calls('proxymux.token')).toBe(1);
  });

  test('a PEM podKey (what Go sends) works too', async () => {
    const pem = podKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await rpstOf(await exchange(await emulator.issueServiceAccountToken(ACCOUNT), pem));
  });

  test('OCIR accepts the RPST signed with the pod key; its docker token carries the workload to the policy', async () => {
    const rpst = await rpstOf(await exchange(await emulator.issueServiceAccountToken(ACCOUNT)));
    const response = await requestDockerToken(emulator, { keyId: `ST$${rpst}`, privateKey: podKeys.privateKey });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect(emulator.dockerTokenPrincipal(token)).toEqual({
      type: 'workload',
      id: emulator.workloadId('team-a', 'puller'),
      tenancyId: emulator.tenancyId,
      namespace: 'team-a',
      serviceAccount: 'puller',
      clusterId: emulator.clusterId,
    });
    emulator.setPolicy((p, repo) => p.type === 'workload' && p.namespace === 'team-b' && repo.startsWith('emulatorns/'));
    const denied = await fetch(`http://${emulator.registryHost}/v2/emulatorns/app/manifests/1.0`, { headers: { authorization: `Bearer ${token}` } });
    expect(denied.status).toBe(403);
    emulator.setPolicy((p) => p.type === 'workload' && p.namespace === 'team-a' && p.serviceAccount === 'puller');
    const allowed = await fetch(`http://${emulator.registryHost}/v2/emulatorns/app/manifests/1.0`, { headers: { authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(200);
  });

  test('the RPST is useless without the pod key', async () => {
    const rpst = await rpstOf(await exchange(await emulator.issueServiceAccountToken(ACCOUNT)));
    const other = await generateRsaKeyPair();
    await expectOciError(await requestDockerToken(emulator, { keyId: `ST$${rpst}`, privateKey: other.privateKey }), 401, 'NotAuthenticated');
  });
});

describe('refusals', () => {
  test('a forged token (same claims and kid, another key) is 401', async () => {
    const genuine = await emulator.issueServiceAccountToken(ACCOUNT);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT(jwtClaims(genuine)).setProtectedHeader(jwtHeader(genuine) as { alg: string }).sign(privateKey);
    const message = await expectOciError(await exchange(forged), 401, 'NotAuthenticated');
    expect(message).toContain('signature');
  });

  test('an expired token is 401', async () => {
    const message = await expectOciError(await exchange(await emulator.issueServiceAccountToken({ ...ACCOUNT, expiresInSeconds: -120 })), 401, 'NotAuthenticated');
    expect(message).toContain('expired');
  });

  test('a token for another audience is 401', async () => {
    const message = await expectOciError(await exchange(await emulator.issueServiceAccountToken({ ...ACCOUNT, audience: 'https://kubernetes.default.svc' })), 401, 'NotAuthenticated');
    expect(message).toContain('aud');
  });

  test('no Bearer token is 401', async () => {
    await expectOciError(await exchange(undefined), 401, 'NotAuthenticated');
  });

  test('the "cluster not enhanced" knob answers 403', async () => {
    emulator.setClusterEnhanced(false);
    await expectOciError(await exchange(await emulator.issueServiceAccountToken(ACCOUNT)), 403, 'NotAuthorized');
  });

  test('a short or malformed podKey is 400', async () => {
    const token = await emulator.issueServiceAccountToken(ACCOUNT);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    await expectOciError(await exchange(token, spkiBase64(small)), 400, 'InvalidParameter');
    await expectOciError(await exchange(token, 'not a key!'), 400, 'InvalidParameter');
  });

  test('injected faults and the call counter', async () => {
    emulator.inject('proxymux', { status: 503 });
    await expectOciError(await exchange(await emulator.issueServiceAccountToken(ACCOUNT)), 503, 'ServiceUnavailable');
    expect(emulator.calls('proxymux.token')).toBe(1);
  });

  test('TLS: a client that does not trust the cluster CA cannot connect', async () => {
    const token = await emulator.issueServiceAccountToken(ACCOUNT);
    let failed = false;
    try {
      await exchange(token, undefined, false);
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
  });
});

describe('tokens for other principals', () => {
  test('a session token for a key (security_token_file) is accepted as a user; an expired one is not', async () => {
    const token = await emulator.issueSessionToken(podKeys.publicKey, { userId: 'ocid1.user.oc1..someone' });
    expect(jwtClaims(token)).toMatchObject({ sub: 'ocid1.user.oc1..someone', ptype: 'user', tenant: emulator.tenancyId });
    const response = await requestDockerToken(emulator, { keyId: `ST$${token}`, privateKey: podKeys.privateKey });
    expect(response.status).toBe(200);
    const docker = ((await response.json()) as { token: string }).token;
    expect(emulator.dockerTokenPrincipal(docker)).toMatchObject({ type: 'user', id: 'ocid1.user.oc1..someone' });
    const expired = await emulator.issueSessionToken(podKeys.publicKey, { issuedAtMs: Date.now() - 2 * 3600_000, lifetimeSeconds: 3600 });
    const message = await expectOciError(await requestDockerToken(emulator, { keyId: `ST$${expired}`, privateKey: podKeys.privateKey }), 401, 'NotAuthenticated');
    expect(message).toContain('expired');
  });

  test('an RP v2.2 RPST is accepted as a resource principal', async () => {
    const rpst = await emulator.issueResourcePrincipalToken(podKeys.privateKey);
    expect(jwtClaims(rpst)).toMatchObject({ ptype: 'resource', ttype: 'res', res_tenant: emulator.tenancyId, res_compartment: emulator.compartmentId });
    const response = await requestDockerToken(emulator, { keyId: `ST$${rpst}`, privateKey: podKeys.privateKey });
    expect(response.status).toBe(200);
    const docker = ((await response.json()) as { token: string }).token;
    expect(emulator.dockerTokenPrincipal(docker)).toMatchObject({ type: 'resource', id: jwtClaims(rpst).res_id as string, tenancyId: emulator.tenancyId });
  });
});
