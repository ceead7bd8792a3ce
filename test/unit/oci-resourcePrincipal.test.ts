import { describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { ProviderError } from '../../src/errors.ts';
import {
  fromResourcePrincipalEnv,
  resourcePrincipalKey,
  type ResourcePrincipalInit,
} from '../../src/identity/principals/resourcePrincipal.ts';
import type { Env, FileReader } from '../../src/runtime.ts';
import { rejected } from '../support/caught.ts';

const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const PASSPHRASE = 'rp pass';
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ENCRYPTED = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }) as string;

/** An unsigned RPST with the claims of Go's fixture, bound to `key`. */
function rpst(claims: Record<string, unknown> = {}, key = privateKey): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = {
    sub: 'ocid1.fnfunc.oc1..f',
    res_id: 'ocid1.fnfunc.oc1..f',
    res_type: 'fnfunc',
    res_tenant: 'ocid1.tenancy.oc1..t',
    res_compartment: 'ocid1.compartment.oc1..c',
    ptype: 'resource',
    ttype: 'res',
    jwk: JSON.stringify({ kid: 'k', n: jwk.n, e: jwk.e, kty: 'RSA' }),
    iat: NOW_MS / 1000,
    exp: NOW_MS / 1000 + 3600,
    ...claims,
  };
  return `${part({ alg: 'RS256' })}.${part(payload)}.${Buffer.from('sig').toString('base64url')}`;
}

/** Files in memory, counting reads; a missing path rejects like node:fs. */
function memoryFiles(contents: Record<string, string>): FileReader & { reads: Map<string, number>; contents: Record<string, string> } {
  const reads = new Map<string, number>();
  return {
    reads,
    contents,
    readText: (path) => {
      reads.set(path, (reads.get(path) ?? 0) + 1);
      const text = contents[path];
      return text === undefined ? Promise.reject(Object.assign(new Error('missing'), { code: 'ENOENT' })) : Promise.resolve(text);
    },
  };
}

function provider(env: Env, files: FileReader = memoryFiles({}), clock = { ms: NOW_MS, now: () => clock.ms }) {
  const init: ResourcePrincipalInit = { env: { OCI_RESOURCE_PRINCIPAL_VERSION: '2.2', ...env }, files, clock };
  return { identity: fromResourcePrincipalEnv(init), clock };
}


async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await rejected(promise);
  expect(error.code).toBe('ERR_RESOURCE_PRINCIPAL');
  return error;
}

describe('fromResourcePrincipalEnv', () => {
  test('values: keyId ST$<rpst>, principal resource:<res_id>, tenancy from res_tenant, exp', async () => {
    const token = rpst();
    const identity = await provider({ OCI_RESOURCE_PRINCIPAL_RPST: token, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }).identity();
    expect(identity).toMatchObject({ keyId: `ST$${token}`, principal: 'resource:ocid1.fnfunc.oc1..f', tenancyId: 'ocid1.tenancy.oc1..t', expiresAtMs: NOW_MS + 3600_000 });
    expect(createPublicKey(identity.privateKey).export({ format: 'jwk' }).n).toBe(createPublicKey(privateKey).export({ format: 'jwk' }).n);
  });

  test('paths: the files are read at every call, so a token rotated in place is picked up at once', async () => {
    const files = memoryFiles({ '/rp/rpst': `${rpst()}\n`, '/rp/key.pem': ENCRYPTED, '/rp/pass': `${PASSPHRASE}\n` });
    const { identity } = provider(
      { OCI_RESOURCE_PRINCIPAL_RPST: '/rp/rpst', OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: '/rp/key.pem', OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: '/rp/pass' },
      files,
    );
    await identity();
    expect(files.reads.get('/rp/rpst')).toBe(1);
    const next = rpst({ iat: NOW_MS / 1000 + 60, exp: NOW_MS / 1000 + 7200 });
    files.contents['/rp/rpst'] = next;
    expect((await identity()).keyId).toBe(`ST$${next}`);
    await identity({ forceRefresh: true });
    expect(files.reads.get('/rp/rpst')).toBe(3);
  });

  test('a passphrase given as a value for a PEM value', async () => {
    const identity = await provider({ OCI_RESOURCE_PRINCIPAL_RPST: rpst(), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: ENCRYPTED, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: PASSPHRASE }).identity();
    expect(identity.principal).toBe('resource:ocid1.fnfunc.oc1..f');
  });

  const refused: [string, Env, string][] = [
    ['no version', { OCI_RESOURCE_PRINCIPAL_VERSION: ' ', OCI_RESOURCE_PRINCIPAL_RPST: rpst(), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'OCI_RESOURCE_PRINCIPAL_VERSION is not set'],
    ['another version', { OCI_RESOURCE_PRINCIPAL_VERSION: '3.0', OCI_RESOURCE_PRINCIPAL_RPST: rpst(), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'is "3.0"; only 2.2 is supported'],
    ['no RPST', { OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'OCI_RESOURCE_PRINCIPAL_RPST is not set'],
    ['no PEM', { OCI_RESOURCE_PRINCIPAL_RPST: rpst() }, 'OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM is not set'],
    ['a PEM value with a passphrase path', { OCI_RESOURCE_PRINCIPAL_RPST: rpst(), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: ENCRYPTED, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: '/rp/pass' }, 'the PEM is a value, the passphrase is a path'],
    ['a PEM path with a passphrase value', { OCI_RESOURCE_PRINCIPAL_RPST: rpst(), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: '/rp/key.pem', OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: PASSPHRASE }, 'the PEM is a path, the passphrase is a value'],
    ['an RPST file that does not exist', { OCI_RESOURCE_PRINCIPAL_RPST: '/rp/none', OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, '/rp/none, named by OCI_RESOURCE_PRINCIPAL_RPST, does not exist'],
    ['an RPST that is not a JWT', { OCI_RESOURCE_PRINCIPAL_RPST: 'abc', OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'is not a valid JWT'],
    ['an RPST without exp', { OCI_RESOURCE_PRINCIPAL_RPST: rpst({ exp: undefined }), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'has no exp claim'],
    ['an expired RPST', { OCI_RESOURCE_PRINCIPAL_RPST: rpst({ exp: NOW_MS / 1000 - 1 }), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'expired at'],
    ['an RPST valid for a year', { OCI_RESOURCE_PRINCIPAL_RPST: rpst({ exp: NOW_MS / 1000 + 365 * 86400 }), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'more than 24 h from now'],
    ['an RPST whose exp is before its iat', { OCI_RESOURCE_PRINCIPAL_RPST: rpst({ iat: NOW_MS / 1000 + 120, exp: NOW_MS / 1000 + 60 }), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'no later than it was issued'],
    ['a key that is not the RPST’s', { OCI_RESOURCE_PRINCIPAL_RPST: rpst({}, other), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, 'is not the key the RPST'],
    ['an encrypted PEM without a passphrase', { OCI_RESOURCE_PRINCIPAL_RPST: rpst(), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: ENCRYPTED }, 'no passphrase was given'],
    ['a wrong passphrase', { OCI_RESOURCE_PRINCIPAL_RPST: rpst(), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: ENCRYPTED, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: 'wrong' }, 'wrong passphrase'],
  ];
  for (const [name, env, message] of refused) {
    test(`refuses ${name}, naming the variable and never its value`, async () => {
      const error = await rejection(provider(env).identity());
      expect(error.message).toContain(message);
      expect(error.details.key).toStartWith('OCI_RESOURCE_PRINCIPAL_');
      for (const secret of ['MII', 'eyJ', PASSPHRASE]) expect(`${error.message} ${error.hint}`).not.toContain(secret);
    });
  }

  test('a failure is not remembered: the next call reads the environment again', async () => {
    const files = memoryFiles({});
    const { identity } = provider({ OCI_RESOURCE_PRINCIPAL_RPST: '/rp/rpst', OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: PEM }, files);
    await rejection(identity());
    files.contents['/rp/rpst'] = rpst();
    expect((await identity()).principal).toBe('resource:ocid1.fnfunc.oc1..f');
  });
});

test('resourcePrincipalKey: who the token names (resource and tenancy), whether given as a file or a value, never the token', async () => {
  const init = (env: Env, files: FileReader = memoryFiles({})): ResourcePrincipalInit => ({ env: { OCI_RESOURCE_PRINCIPAL_VERSION: '2.2', ...env }, files });
  const token = rpst();
  const fromValue = await resourcePrincipalKey(init({ OCI_RESOURCE_PRINCIPAL_RPST: token }));
  expect(fromValue).toBe('resource:ocid1.tenancy.oc1..t/ocid1.fnfunc.oc1..f');
  expect(await resourcePrincipalKey(init({ OCI_RESOURCE_PRINCIPAL_RPST: '/rp/rpst' }, memoryFiles({ '/rp/rpst': token })))).toBe(fromValue);
  // A rotated token of the same resource is the same identity; a token of another resource is not.
  expect(await resourcePrincipalKey(init({ OCI_RESOURCE_PRINCIPAL_RPST: rpst({ iat: NOW_MS / 1000 + 60 }) }))).toBe(fromValue);
  expect(await resourcePrincipalKey(init({ OCI_RESOURCE_PRINCIPAL_RPST: rpst({ res_id: 'ocid1.fnfunc.oc1..g' }) }))).not.toBe(fromValue);
  expect(fromValue).not.toContain(token);
});
