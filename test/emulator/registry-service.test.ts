import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { importX509, jwtVerify } from 'jose';
import type { Emulator } from './index.ts';
import { startEmulator } from './index.ts';
import { basic, expectOciError, jwtClaims, jwtHeader, obtainDockerToken } from './test-helpers.ts';

/**
 * `registryService`: the emulator's token endpoint serving a separate registry behind one front
 * host (test/real/), where the tokens' `aud` and the expected `service` are that host, not the
 * emulator's own port. And `issuePushToken`, which seeds such a registry.
 */

const TOKEN_PATH = '/20180419/docker/token';
const SERVICE = '127.0.0.1:1';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ registryService: SERVICE });
});
afterAll(async () => {
  await emulator.stop();
});

describe('registryService', () => {
  test('is the aud of every docker token and the service of the challenge; the issuer is published', async () => {
    expect(emulator.registryService).toBe(SERVICE);
    const dockerToken = await obtainDockerToken(emulator);
    expect(jwtClaims(dockerToken)).toMatchObject({ aud: SERVICE, iss: emulator.registryTokenIssuer });

    const exchanged = await fetch(`http://${emulator.registryHost}${TOKEN_PATH}?service=${SERVICE}&scope=repository:emulatorns/app:pull`, {
      headers: { authorization: basic('BEARER_TOKEN', dockerToken) },
    });
    expect(exchanged.status).toBe(200);
    const { token } = (await exchanged.json()) as { token: string };
    expect(jwtClaims(token)).toMatchObject({ aud: SERVICE, access: [{ type: 'repository', name: 'emulatorns/app', actions: ['pull'] }] });

    const challenge = await fetch(`http://${emulator.registryHost}/v2/`);
    expect(challenge.headers.get('www-authenticate')).toBe(`Bearer realm="http://${emulator.registryHost}${TOKEN_PATH}",service="${SERVICE}",scope=""`);
    // The emulator's own /v2 accepts tokens for its service.
    expect((await fetch(`http://${emulator.registryHost}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test("the token endpoint refuses the emulator's own host as service: it is not the registry's name any more", async () => {
    const dockerToken = await obtainDockerToken(emulator);
    const response = await fetch(`http://${emulator.registryHost}${TOKEN_PATH}?service=${emulator.registryHost}`, {
      headers: { authorization: basic('BEARER_TOKEN', dockerToken) },
    });
    await expectOciError(response, 400, 'InvalidParameter');
  });
});

describe('issuePushToken', () => {
  test('grants pull and push on exactly the given repositories, signed like every docker token', async () => {
    const token = await emulator.issuePushToken(['emulatorns/app', 'otherns/app']);
    const [signerDer] = jwtHeader(token)['x5c'] as string[];
    const signer = new X509Certificate(Buffer.from(signerDer!, 'base64'));
    expect(signer.verify(new X509Certificate(emulator.registryTokenCaPem).publicKey)).toBe(true);
    const { payload } = await jwtVerify(token, await importX509(signer.toString(), 'RS256'), { audience: SERVICE, issuer: emulator.registryTokenIssuer });
    expect(payload['access']).toEqual([
      { type: 'repository', name: 'emulatorns/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'otherns/app', actions: ['pull', 'push'] },
    ]);
    // Not an issue of the token endpoint: tests that look at the last issued token are not disturbed.
    expect(emulator.lastDockerToken).not.toBe(token);
  });
});
