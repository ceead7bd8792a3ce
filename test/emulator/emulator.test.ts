import { spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { generateRsaKeyPair } from './certificates.ts';
import type { Emulator } from './index.ts';
import { startEmulator } from './index.ts';
import {
  ORACLE_BEARER,
  expectOciError,
  expectRegistryError,
  federate,
  fetchInstanceCredentials,
  imdsGet,
  jwtClaims,
  obtainDockerToken,
  obtainSession,
  requestDockerToken,
  sha256KeyId,
} from './test-helpers.ts';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterEach(() => {
  emulator.clearFaults();
  emulator.resetCalls();
});
afterAll(async () => {
  await emulator.stop();
});

/** A GET on a fresh connection (no keep-alive pool that could hide a reset by retrying). */
async function rawGet(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('wiring', () => {
  test('env() points a provider at the three servers', () => {
    const [imdsPort, authPort, ocirPort] = [emulator.imdsBaseUrl, emulator.authUrl, emulator.registryHost].map((value) =>
      Number(/127\.0\.0\.1:(\d+)/.exec(value)?.[1]),
    );
    expect(new Set([imdsPort, authPort, ocirPort]).size).toBe(3);
    expect(emulator.env()).toEqual({
      OCI_METADATA_BASE_URL: `http://127.0.0.1:${imdsPort}/opc/v2`,
      OCI_SDK_AUTH_CLIENT_REGION_URL: `http://127.0.0.1:${authPort}`,
      REGISTRY_PROTOCOL: 'http',
      REGISTRY_HOSTS: `127.0.0.1:${ocirPort}`,
    });
    expect(emulator.namespace).toBe('emulatorns');
    expect(emulator.tenancyId).toMatch(/^ocid1\.tenancy\.oc1\.\.[a-z0-9]+$/);
    expect(emulator.instanceId).toMatch(/^ocid1\.instance\.oc1\.fra\.[a-z0-9]+$/);
  });

  test('the CLI prints export lines and stops on SIGTERM', async () => {
    const cli = spawn(process.execPath, [fileURLToPath(new URL('./cli.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      cli.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('REGISTRY_HOSTS=')) resolve();
      });
      cli.on('exit', () => reject(new Error(`the CLI exited early: ${output}`)));
    });
    expect(output).toMatch(/^export OCI_METADATA_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/opc\/v2$/m);
    expect(output).toMatch(/^export REGISTRY_PROTOCOL=http$/m);
    const exit = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    cli.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});

describe('call counters', () => {
  test('count every request per endpoint, rejected ones included; reset clears them', async () => {
    await imdsGet(emulator, '/instance/region');
    await imdsGet(emulator, '/instance/region', {}); // rejected: no Bearer Oracle
    await imdsGet(emulator, '/identity/cert.pem');
    await fetch(`http://${emulator.registryHost}/v2/`);
    await imdsGet(emulator, '/instance/nothing'); // not an endpoint: not counted
    expect(emulator.calls('imds.region')).toBe(2);
    expect(emulator.calls('imds.cert')).toBe(1);
    expect(emulator.calls('ocir.v2')).toBe(1);
    expect(emulator.calls('auth.x509')).toBe(0);
    expect(emulator.calls()).toBe(4);
    emulator.resetCalls();
    expect(emulator.calls()).toBe(0);
  });
});

describe('fault injection', () => {
  test('{status: 429} answers OCI TooManyRequests with Retry-After, once by default, then normal service', async () => {
    emulator.inject('imds.region', { status: 429, retryAfterSeconds: 3 });
    const limited = await imdsGet(emulator, '/instance/region');
    expect(limited.headers.get('retry-after')).toBe('3');
    await expectOciError(limited, 429, 'TooManyRequests');
    expect((await imdsGet(emulator, '/instance/region')).status).toBe(200);
    expect(emulator.calls('imds.region')).toBe(2);
  });

  test('a group fault hits the next N calls to any of its endpoints', async () => {
    emulator.inject('imds', { status: 503 }, 2);
    await expectOciError(await imdsGet(emulator, '/identity/cert.pem'), 503, 'ServiceUnavailable');
    await expectOciError(await imdsGet(emulator, '/identity/key.pem'), 503, 'ServiceUnavailable');
    expect((await imdsGet(emulator, '/identity/key.pem')).status).toBe(200);
  });

  test('status codes map to OCI codes; a given body is sent verbatim', async () => {
    emulator.inject('imds.cert', { status: 404 });
    await expectOciError(await imdsGet(emulator, '/identity/cert.pem'), 404, 'NotAuthorizedOrNotFound');
    emulator.inject('auth', { status: 500 });
    await expectOciError(await fetch(`${emulator.authUrl}/v1/x509`, { method: 'POST' }), 500, 'InternalServerError');
    emulator.inject('ocir.token', { status: 502, body: '<html>bad gateway</html>' });
    const proxy = await fetch(`http://${emulator.registryHost}/20180419/docker/token`);
    expect(proxy.status).toBe(502);
    expect(await proxy.text()).toBe('<html>bad gateway</html>');
  });

  test('faults on /v2 use the registry error shape', async () => {
    emulator.inject('ocir.manifest', { status: 429, retryAfterSeconds: 1 });
    const response = await fetch(`http://${emulator.registryHost}/v2/emulatorns/app/manifests/latest`);
    expect(response.headers.get('retry-after')).toBe('1');
    await expectRegistryError(response, 429, 'TOOMANYREQUESTS');
  });

  test('{latencyMs} delays, then answers normally', async () => {
    emulator.inject('imds.id', { latencyMs: 30 });
    const response = await imdsGet(emulator, '/instance/id');
    expect(await response.text()).toBe(emulator.instanceId);
    expect(emulator.calls('imds.id')).toBe(1);
  });

  test('{reset} destroys the connection without an answer', async () => {
    emulator.inject('imds.region', { reset: true });
    const outcome = await rawGet(`${emulator.imdsBaseUrl}/instance/region`, ORACLE_BEARER).then(
      (status) => `answered ${status}`,
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(outcome).toBe('ECONNRESET');
    expect(await rawGet(`${emulator.imdsBaseUrl}/instance/region`, ORACLE_BEARER)).toBe(200);
    expect(emulator.calls('imds.region')).toBe(2);
  });

  test('clearFaults() drops pending faults; bad injections throw', async () => {
    emulator.inject('ocir', { status: 500 }, 5);
    emulator.clearFaults();
    expect((await imdsGet(emulator, '/instance/region')).status).toBe(200);
    expect(() => emulator.inject('imds.nothing' as 'imds', { status: 500 })).toThrow();
    expect(() => emulator.inject('imds', { status: 500 }, 0)).toThrow();
  });

  test('whenCalls resolves on the call that reaches the count, per endpoint or in total', async () => {
    const own = await startEmulator();
    try {
      let resolved = false;
      const waiting = own.whenCalls(2, 'imds.region').then(() => {
        resolved = true;
      });
      await imdsGet(own, '/instance/region');
      await Promise.resolve();
      expect(resolved).toBe(false);
      await imdsGet(own, '/instance/region');
      await waiting;
      expect(own.calls('imds.region')).toBe(2);
      await own.whenCalls(1); // already reached: resolves at once
    } finally {
      await own.stop();
    }
  });

  test('{hang} never answers, and stop() still finishes (open sockets are destroyed)', async () => {
    const own = await startEmulator();
    own.inject('ocir.token', { hang: true });
    own.inject('imds.region', { latencyMs: 60_000 });
    const hung = fetch(`http://${own.registryHost}/20180419/docker/token`).then(
      () => 'answered',
      () => 'failed',
    );
    const delayed = imdsGet(own, '/instance/region').then(
      () => 'answered',
      () => 'failed',
    );
    // Both requests have reached the emulator once they are counted.
    await own.whenCalls(2);
    await own.stop();
    expect(await hung).toBe('failed');
    expect(await delayed).toBe('failed');
  });
});

describe('certificate rotation', () => {
  test('rotateCertificate(): new leaf and key, same tenancy; a session token issued before stays valid', async () => {
    const session = await obtainSession(emulator);
    const before = await fetchInstanceCredentials(emulator);
    emulator.rotateCertificate();
    const after = await fetchInstanceCredentials(emulator);
    expect(after.certificate.fingerprint256).not.toBe(before.certificate.fingerprint256);
    expect(after.certificate.subject).toBe(before.certificate.subject);
    expect(after.certificate.checkPrivateKey(after.privateKey)).toBe(true);
    const response = await requestDockerToken(emulator, { keyId: `ST$${session.token}`, privateKey: session.keys.privateKey });
    expect(response.status).toBe(200);
    const keys = await generateRsaKeyPair();
    expect((await federate(emulator, after, keys)).status).toBe(200);
  });

  test('rotateTenancy(): the new leaf names another tenancy; its tokens carry it', async () => {
    const own = await startEmulator();
    try {
      const oldTenancy = own.tenancyId;
      const oldToken = await obtainDockerToken(own);
      own.rotateTenancy();
      expect(own.tenancyId).not.toBe(oldTenancy);
      const credentials = await fetchInstanceCredentials(own);
      expect(credentials.certificate.subject).toContain(`OU=opc-tenant:${own.tenancyId}`);
      expect(credentials.certificate.subject).toContain(`OU=opc-compartment:${own.compartmentId}`);
      // A client that kept the old tenancy in its keyId is refused.
      const keys = await generateRsaKeyPair();
      const stale = await federate(own, credentials, keys, { keyId: sha256KeyId(oldTenancy, credentials.certificate) });
      await expectOciError(stale, 401, 'NotAuthenticated');
      const response = await federate(own, credentials, keys);
      expect(response.status).toBe(200);
      expect(jwtClaims(((await response.json()) as { token: string }).token)['opc-tenant']).toBe(own.tenancyId);
      // Tokens issued to the old tenancy keep working until they expire.
      const pull = await fetch(`http://${own.registryHost}/v2/emulatorns/app/manifests/latest`, {
        headers: { authorization: `Bearer ${oldToken}` },
      });
      expect(pull.status).toBe(200);
    } finally {
      await own.stop();
    }
  });

  test('serveMismatchOnce(): the next key.pem is the old key, once', async () => {
    const before = await fetchInstanceCredentials(emulator);
    emulator.serveMismatchOnce();
    const racing = await fetchInstanceCredentials(emulator);
    expect(racing.certificate.fingerprint256).not.toBe(before.certificate.fingerprint256);
    expect(racing.certificate.checkPrivateKey(racing.privateKey)).toBe(false);
    expect(createPublicKey(racing.privateKey).export({ format: 'jwk' })).toEqual(before.certificate.publicKey.export({ format: 'jwk' }));
    // Signing the federation with the stale key fails; the retry gets a matching pair.
    const keys = await generateRsaKeyPair();
    await expectOciError(await federate(emulator, racing, keys), 401, 'NotAuthenticated');
    const retried = await fetchInstanceCredentials(emulator);
    expect(retried.certificate.checkPrivateKey(retried.privateKey)).toBe(true);
    expect(retried.certificate.fingerprint256).toBe(racing.certificate.fingerprint256);
  });
});
