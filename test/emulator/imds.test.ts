import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Emulator } from './index.ts';
import { startEmulator } from './index.ts';
import { ORACLE_BEARER, expectOciError, fetchInstanceCredentials, imdsGet } from './test-helpers.ts';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    region: 'eu-frankfurt-1',
    regionInfo: { realmKey: 'oc1', realmDomainComponent: 'oraclecloud.com', regionKey: 'FRA', regionIdentifier: 'eu-frankfurt-1' },
  });
});
afterAll(async () => {
  await emulator.stop();
});

describe('IMDS v2 answers', () => {
  test('region, canonical name, regionInfo and instance id', async () => {
    expect(await (await imdsGet(emulator, '/instance/region')).text()).toBe('eu-frankfurt-1');
    expect(await (await imdsGet(emulator, '/instance/canonicalRegionName')).text()).toBe('eu-frankfurt-1');
    const regionInfo = await imdsGet(emulator, '/instance/regionInfo/'); // the TS SDK's trailing slash
    expect(regionInfo.headers.get('content-type')).toContain('application/json');
    expect(await regionInfo.json()).toEqual({
      realmKey: 'oc1',
      realmDomainComponent: 'oraclecloud.com',
      regionKey: 'FRA',
      regionIdentifier: 'eu-frankfurt-1',
    });
    expect(await (await imdsGet(emulator, '/instance/id')).text()).toBe(emulator.instanceId);
  });

  test('the region defaults to the short key fra', async () => {
    const other = await startEmulator();
    try {
      expect(await (await imdsGet(other, '/instance/region')).text()).toBe('fra');
    } finally {
      await other.stop();
    }
  });

  test('a leaf with the real subject, ~2 h validity, chained to the intermediate, with a PKCS#1 key', async () => {
    const keyPem = await (await imdsGet(emulator, '/identity/key.pem')).text();
    expect(keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----')).toBe(true);
    const { certificate, privateKey, intermediate } = await fetchInstanceCredentials(emulator);
    expect(certificate.subject.split('\n')).toEqual([
      `CN=${emulator.instanceId}`,
      'OU=opc-certtype:instance',
      `OU=opc-compartment:${emulator.compartmentId}`,
      `OU=opc-instance:${emulator.instanceId}`,
      `OU=opc-tenant:${emulator.tenancyId}`,
    ]);
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const lifetimeMs = Date.parse(certificate.validTo) - Date.parse(certificate.validFrom);
    expect(lifetimeMs).toBeGreaterThan(115 * 60_000);
    expect(lifetimeMs).toBeLessThan(125 * 60_000);
    expect(certificate.checkIssued(intermediate) && certificate.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.subject).toStartWith('CN=PKISVC Identity Intermediate r2');
    expect(intermediate.ca).toBe(true);
    expect(createPublicKey(privateKey).export({ format: 'jwk' })).toEqual(certificate.publicKey.export({ format: 'jwk' }));
  });

  test('every response carries an opc-request-id: the client one echoed, else a fresh one', async () => {
    const echoed = await imdsGet(emulator, '/instance/id', { ...ORACLE_BEARER, 'opc-request-id': 'client-id-1' });
    expect(echoed.headers.get('opc-request-id')).toBe('client-id-1');
    const first = (await imdsGet(emulator, '/instance/id')).headers.get('opc-request-id');
    const second = (await imdsGet(emulator, '/instance/id')).headers.get('opc-request-id');
    expect(first).toMatch(/^[0-9A-F]{32}\/[0-9A-F]{32}\/[0-9A-F]{32}$/);
    expect(first).not.toBe(second);
  });
});

describe('IMDS v2 refuses', () => {
  test('a request without Authorization: Bearer Oracle (401)', async () => {
    await expectOciError(await imdsGet(emulator, '/instance/region', {}), 401, 'NotAuthenticated');
    await expectOciError(await imdsGet(emulator, '/identity/key.pem', { authorization: 'Bearer oracle' }), 401, 'NotAuthenticated');
  });

  test('requests carrying forwarding headers (400)', async () => {
    for (const header of ['x-forwarded-for', 'forwarded', 'x-forwarded-host']) {
      const response = await imdsGet(emulator, '/identity/cert.pem', { ...ORACLE_BEARER, [header]: '10.0.0.1' });
      expect(await expectOciError(response, 400, 'InvalidParameter')).toContain(header);
    }
  });

  test('IMDS v1 and unknown paths (404)', async () => {
    const v1 = await fetch(emulator.imdsBaseUrl.replace('/opc/v2', '/opc/v1/instance/region'), { headers: ORACLE_BEARER });
    await expectOciError(v1, 404, 'NotFound');
    await expectOciError(await imdsGet(emulator, '/instance/nothing'), 404, 'NotFound');
  });

  test('methods other than GET (405)', async () => {
    const response = await fetch(`${emulator.imdsBaseUrl}/instance/region`, { method: 'POST', headers: ORACLE_BEARER });
    await expectOciError(response, 405, 'MethodNotAllowed');
  });
});
