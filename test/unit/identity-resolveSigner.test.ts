import { describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { createMemo, memoryBackend } from '../../src/cache/memo.ts';
import { DEFAULT_SETTINGS } from '../../src/config/settings.ts';
import { resolveSigner, type SignerDeps } from '../../src/identity/resolveSigner.ts';
import { sessionEntry } from '../../src/identity/session.ts';
import { generateKeyPairSync } from 'node:crypto';
import type { CredentialProviderRequest } from '../../src/kubelet/request.ts';
import {
  readServiceAccountToken,
  SERVICE_ACCOUNT_TOKEN_SKEW_MS,
  wantsWorkloadIdentity,
  WORKLOAD_IDENTITY_ANNOTATION,
} from '../../src/identity/serviceAccount.ts';
import { silentLogger } from '../../src/silentLogger.ts';
import { caught, rejected } from '../support/caught.ts';

const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
const EXP = NOW_MS / 1000 + 3600;
const UID = '5f0b3a5e-8c2d-4e57-9a44-1c2b3d4e5f60';

/** An unsigned JWT with these claims: the provider reads claims, never signatures. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part(claims)}.${Buffer.from('signature').toString('base64url')}`;
}

const bound = (overrides: Record<string, unknown> = {}) =>
  jwt({
    aud: ['oke-workload-identity'],
    exp: EXP,
    iat: EXP - 3600,
    iss: 'https://kubernetes.default.svc.cluster.local',
    sub: 'system:serviceaccount:team-a:puller',
    'kubernetes.io': { namespace: 'team-a', pod: { name: 'p', uid: 'x' }, serviceaccount: { name: 'puller', uid: UID } },
    ...overrides,
  });


describe('readServiceAccountToken', () => {
  test('a bound token: namespace, name and UID from the kubernetes.io claim, exp', () => {
    expect(readServiceAccountToken(bound(), NOW_MS)).toEqual({ namespace: 'team-a', name: 'puller', uid: UID, expiresAtMs: EXP * 1000 });
  });

  test('a token with only sub: no UID', () => {
    const token = jwt({ sub: 'system:serviceaccount:kube-system:my.sa-1', exp: EXP });
    expect(readServiceAccountToken(token, NOW_MS)).toEqual({ namespace: 'kube-system', name: 'my.sa-1', uid: undefined, expiresAtMs: EXP * 1000 });
  });

  test('a token that expired within the skew allowance is still accepted; past it, refused with the account named', () => {
    expect(readServiceAccountToken(bound(), EXP * 1000 + SERVICE_ACCOUNT_TOKEN_SKEW_MS).name).toBe('puller');
    const error = caught(() => readServiceAccountToken(bound(), EXP * 1000 + SERVICE_ACCOUNT_TOKEN_SKEW_MS + 1));
    expect(error.code).toBe('ERR_SERVICE_ACCOUNT_TOKEN');
    expect(error.message).toBe(`the service account token of team-a/puller expired at ${new Date(EXP * 1000).toISOString()}`);
  });

  const refused: [string, string, string][] = [
    ['not a JWT', 'abc.def', 'is not a valid JWT'],
    ['a payload that is not JSON', `${Buffer.from('{}').toString('base64url')}.${Buffer.from('nope').toString('base64url')}.c2ln`, 'is not a valid JWT'],
    ['no exp', jwt({ sub: 'system:serviceaccount:a:b' }), 'has no exp claim'],
    ['exp not a number', jwt({ sub: 'system:serviceaccount:a:b', exp: 'soon' }), 'exp claim is not a number'],
    ['no account at all', jwt({ sub: 'someone', exp: EXP }), 'names no service account'],
    ['a sub of another shape', jwt({ sub: 'system:serviceaccount:a', exp: EXP }), 'names no service account'],
    ['kubernetes.io without a service account', bound({ 'kubernetes.io': { namespace: 'team-a' } }), 'without namespace and serviceaccount.name'],
    ['sub and kubernetes.io disagree', bound({ sub: 'system:serviceaccount:team-b:puller' }), 'names one service account in sub and another'],
    ['a namespace that is not a DNS label', jwt({ sub: 'system:serviceaccount:Team_A:b', exp: EXP }), 'not a DNS label'],
    ['a name with a slash (would blur cache keys)', bound({ sub: undefined, 'kubernetes.io': { namespace: 'a', serviceaccount: { name: 'x/y', uid: UID } } }), 'not a DNS subdomain'],
    ['a UID with a slash', bound({ 'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'puller', uid: 'a/b' } } }), 'not a UID'],
  ];
  for (const [name, token, message] of refused) {
    test(`refuses ${name}`, () => {
      const error = caught(() => readServiceAccountToken(token, NOW_MS));
      expect(error.code).toBe('ERR_SERVICE_ACCOUNT_TOKEN');
      expect(error.message).toContain(message);
      // Never the token, nor any part of it.
      for (const part of token.split('.')) if (part.length > 3) expect(error.message).not.toContain(part);
    });
  }
});

describe('wantsWorkloadIdentity', () => {
  const with_ = (value: string) => ({ [WORKLOAD_IDENTITY_ANNOTATION]: value });
  test('enabled/true opt in; disabled/false/empty/absent do not', () => {
    for (const value of ['enabled', 'Enabled', ' true ']) expect(wantsWorkloadIdentity(with_(value))).toBe(true);
    for (const value of ['disabled', 'FALSE', '']) expect(wantsWorkloadIdentity(with_(value))).toBe(false);
    expect(wantsWorkloadIdentity(undefined)).toBe(false);
    expect(wantsWorkloadIdentity({ 'other.example/key': 'enabled' })).toBe(false);
  });
  test('anything else is an error naming the annotation, not a silent fallback', () => {
    const error = caught(() => wantsWorkloadIdentity(with_('yes please')));
    expect(error.code).toBe('ERR_WORKLOAD_IDENTITY');
    expect(error.message).toContain(WORKLOAD_IDENTITY_ANNOTATION);
  });
});

describe('resolveSigner', () => {
  const V1 = 'credentialprovider.kubelet.k8s.io/v1' as const;
  const unused = (): never => {
    throw new Error('resolving who signs must not call out');
  };
  // This boot already federated: who the node is comes from that session, without calling out.
  const memo = createMemo({ open: memoryBackend });
  const federated = memo.write(sessionEntry(['instance', 'http://127.0.0.1:1/opc/v2', 'boot-1']), {
    keyId: 'ST$session',
    privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
    principal: 'instance:ocid1.instance.oc1..i',
    tenancyId: 'ocid1.tenancy.oc1..t',
    issuedAtMs: NOW_MS - 60_000,
    expiresAtMs: NOW_MS + 1_200_000,
  });
  const deps = (fallback: 'node' | 'none'): SignerDeps => ({
    settings: { ...DEFAULT_SETTINGS, serviceAccountFallback: fallback, workloadIdentityEndpoint: 'https://10.0.0.1:12250', workloadIdentityCaFile: '/etc/ca.pem' },
    env: { OCI_METADATA_BASE_URL: 'http://127.0.0.1:1/opc/v2' },
    files: { readText: unused },
    homeDir: undefined,
    clock: { now: () => NOW_MS },
    log: silentLogger,
    http: unused,
    memo,
    regionMetadata: [],
    bootId: () => Promise.resolve('boot-1'),
  });
  const request = (extra: Partial<CredentialProviderRequest> = {}): CredentialProviderRequest => ({ apiVersion: V1, image: 'fra.ocir.io/ns/app', ...extra });
  const optIn = { [WORKLOAD_IDENTITY_ANNOTATION]: 'enabled' };

  test('an opted-in account with a token: its workload, named by who it is (proxymux, namespace, name, uid)', async () => {
    const signer = await resolveSigner(request({ serviceAccountToken: bound(), serviceAccountAnnotations: optIn }), deps('none'));
    expect(signer?.principalKey).toBe(`workload:10.0.0.1:12250:team-a/puller/${UID}`);
  });

  test('no opt-in or no token: the fallback, the node named by its instance and tenancy', async () => {
    await federated;
    for (const r of [request(), request({ serviceAccountToken: bound() })]) {
      expect((await resolveSigner(r, deps('node')))?.principalKey).toBe('instance:ocid1.instance.oc1..i@ocid1.tenancy.oc1..t');
      expect(await resolveSigner(r, deps('none'))).toBeUndefined();
    }
  });

  test('opted in but no token: an error, never the node identity', async () => {
    expect((await rejected(resolveSigner(request({ serviceAccountAnnotations: optIn }), deps('node')))).code).toBe('ERR_WORKLOAD_IDENTITY');
  });

  test('an expired token is refused before anything is called with it', async () => {
    const expired = bound({ exp: NOW_MS / 1000 - 3600 });
    expect((await rejected(resolveSigner(request({ serviceAccountToken: expired, serviceAccountAnnotations: optIn }), deps('node')))).code).toBe('ERR_SERVICE_ACCOUNT_TOKEN');
  });
});
