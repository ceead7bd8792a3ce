import { afterAll, describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { createPublicKey, sign, verify } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemo, diskBackend, memoryBackend } from '../../src/cache/memo.ts';
import { ProviderError } from '../../src/errors.ts';
import type { ServiceAccountRef } from '../../src/identity/serviceAccount.ts';
import { silentLogger } from '../../src/silentLogger.ts';
import type { CallSpec, HttpClient, HttpRequest, HttpResponse } from '../../src/net/http.ts';
import {
  exchangeServiceAccountToken,
  parseProxymuxAnswer,
  proxymuxEndpoint,
  workloadSigner,
  type WorkloadIdentityInit,
} from '../../src/identity/principals/workloadIdentity.ts';
import type { FileReader } from '../../src/runtime.ts';
import { rejected } from '../support/caught.ts';

const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const SA_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dGVhbS1hOnB1bGxlciJ9.c2lnbmF0dXJlLW9mLXRoZS1zYS10b2tlbg';
const A: ServiceAccountRef = { namespace: 'team-a', name: 'puller', uid: 'uid-a', expiresAtMs: NOW_MS + 3600_000 };
const B: ServiceAccountRef = { namespace: 'team-b', name: 'puller', uid: 'uid-b', expiresAtMs: NOW_MS + 3600_000 };
const files: FileReader = {
  readText: (path) => (path === '/ca.crt' ? Promise.resolve(CA_PEM) : Promise.reject(Object.assign(new Error('nope'), { code: 'ENOENT' }))),
};
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** An unsigned JWT: the provider reads the RPST's claims, OCIR verifies it. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.${Buffer.from('sig').toString('base64url')}`;
}
const RPST = jwt({ sub: 'ocid1.workload.oc1..w', res_tenant: 'ocid1.tenancy.oc1..t', iat: NOW_MS / 1000, exp: NOW_MS / 1000 + 3600, ptype: 'workload' });
/** The proxymux's answer as Go's fixture writes it. */
const answer = (token: string, key = 'token') => `"${Buffer.from(JSON.stringify({ [key]: token })).toString('base64')}"`;

function refusal(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected a refusal');
}


describe('parseProxymuxAnswer', () => {
  test('the JSON string literal of base64 {"token":"ST$<RPST>"}: quotes and whitespace optional, key case-insensitive', () => {
    const b64 = answer(`ST$${RPST}`).slice(1, -1);
    for (const body of [answer(`ST$${RPST}`), b64, ` "${b64}"\n`, `${b64}\n`, answer(`ST$${RPST}`, 'Token')]) {
      expect(parseProxymuxAnswer(body, 'h')).toBe(RPST);
    }
  });

  const bad: [string, string, string][] = [
    ['plain JSON', JSON.stringify({ token: `ST$${RPST}` }), 'not a base64 string'],
    ['empty', '""', 'not a base64 string'],
    ['base64 of text', `"${Buffer.from('hello').toString('base64')}"`, 'does not hold JSON'],
    ['base64 of an array', `"${Buffer.from('[1]').toString('base64')}"`, 'does not hold a JSON object'],
    ['no token', answer('x', 'other'), 'no token in it'],
    ['a token without ST$', answer(RPST), 'not ST$<RPST>'],
    ['only ST$', answer('ST$'), 'not ST$<RPST>'],
  ];
  for (const [name, body, message] of bad) {
    test(`refuses ${name}, without quoting it`, () => {
      const error = refusal(() => parseProxymuxAnswer(body, 'proxymux:12250'));
      expect(error.code).toBe('ERR_WORKLOAD_IDENTITY');
      expect(error.message).toContain(message);
      expect(error.message).not.toContain(RPST);
      expect(error.details.host).toBe('proxymux:12250');
    });
  }
});

describe('proxymuxEndpoint', () => {
  test('the setting, else https://$KUBERNETES_SERVICE_HOST:12250 (IPv6 in brackets), else an error naming the setting', () => {
    expect(proxymuxEndpoint({ workloadIdentityEndpoint: 'https://10.0.0.9:443' }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).href).toBe('https://10.0.0.9/');
    expect(proxymuxEndpoint({ workloadIdentityEndpoint: undefined }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).href).toBe('https://10.96.0.1:12250/');
    expect(proxymuxEndpoint({ workloadIdentityEndpoint: undefined }, { KUBERNETES_SERVICE_HOST: 'fd00::1' }).host).toBe('[fd00::1]:12250');
    const error = refusal(() => proxymuxEndpoint({ workloadIdentityEndpoint: undefined }, {}));
    expect(error.code).toBe('ERR_WORKLOAD_IDENTITY');
    expect(error.details.key).toBe('WORKLOAD_IDENTITY_ENDPOINT');
  });
});

/** An HttpClient that records the requests and answers from a script. */
function scripted(respond: (request: HttpRequest) => { status: number; body: string }): HttpClient & { specs: CallSpec[]; requests: HttpRequest[] } {
  const specs: CallSpec[] = [];
  const requests: HttpRequest[] = [];
  const client = (spec: CallSpec): Promise<HttpResponse> => {
    specs.push(spec);
    const request = spec.request();
    requests.push(request);
    const { status, body } = respond(request);
    const headers = new Headers({ 'opc-request-id': 'RID' });
    return Promise.resolve({ status, body, headers });
  };
  return Object.assign(client, { specs, requests });
}

function init(http: HttpClient, extra: Partial<WorkloadIdentityInit> = {}): WorkloadIdentityInit {
  return {
    http,
    clock: { now: () => NOW_MS },
    log: silentLogger,
    files,
    env: {},
    settings: { workloadIdentityEndpoint: 'https://10.0.0.9:12250', workloadIdentityCaFile: '/ca.crt' },
    memo: createMemo({ open: memoryBackend }),
    ...extra,
  };
}

const exchangeFor = (http: HttpClient, caFile = '/ca.crt') =>
  exchangeServiceAccountToken({ ...init(http), endpoint: new URL('https://10.0.0.9:12250'), caFile, account: A, token: SA_TOKEN });

describe('exchangeServiceAccountToken', () => {
  test('POSTs the token as Bearer and a fresh RSA-2048 key as base64 SPKI, over the cluster CA; the session is the RPST and that key', async () => {
    const http = scripted(() => ({ status: 200, body: answer(`ST$${RPST}`) }));
    const session = await exchangeFor(http);
    const [request] = http.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url.href).toBe('https://10.0.0.9:12250/resourcePrincipalSessionTokens');
    expect(request!.caPem).toBe(CA_PEM);
    expect(request!.headers).toMatchObject({ authorization: `Bearer ${SA_TOKEN}`, 'content-type': 'application/json' });
    expect(request!.headers!['opc-request-id']).toMatch(/^[0-9A-F]{32}\/[0-9A-F]{32}\/[0-9A-F]{32}$/);
    const podKey = createPublicKey({ key: Buffer.from((JSON.parse(request!.body!) as { podKey: string }).podKey, 'base64'), format: 'der', type: 'spki' });
    expect(podKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const signed = sign('sha256', Buffer.from('x'), session.privateKey);
    expect(verify('sha256', Buffer.from('x'), podKey, signed)).toBe(true);
    expect(session).toMatchObject({
      keyId: `ST$${RPST}`,
      principal: 'workload:team-a/puller',
      tenancyId: 'ocid1.tenancy.oc1..t',
      issuedAtMs: NOW_MS,
      expiresAtMs: NOW_MS + 3600_000,
    });
  });

  const statuses: [number, string, string][] = [
    [401, 'ERR_SERVICE_ACCOUNT_TOKEN', 'refused the service account token of team-a/puller'],
    [403, 'ERR_WORKLOAD_IDENTITY', 'the cluster must be an enhanced cluster'],
    [500, 'ERR_WORKLOAD_IDENTITY', 'failed the token exchange for team-a/puller'],
  ];
  for (const [status, code, message] of statuses) {
    test(`${status}: ${code}`, async () => {
      const http = scripted(() => ({ status, body: JSON.stringify({ code: 'X', message: 'no' }) }));
      const error = await rejected(exchangeFor(http));
      expect(error.code).toBe(code as ProviderError['code']);
      expect(error.message).toContain(message);
      expect(error.details).toMatchObject({ status, opcRequestId: 'RID', host: '10.0.0.9:12250' });
      expect(`${error.message} ${error.hint}`).not.toContain(SA_TOKEN.split('.')[1]!);
    });
  }

  test('an RPST without res_tenant is refused', async () => {
    const http = scripted(() => ({ status: 200, body: answer(`ST$${jwt({ exp: NOW_MS / 1000 + 60 })}`) }));
    expect((await rejected(exchangeFor(http))).message).toContain('without res_tenant');
  });

  const unusableLifetimes: [string, Record<string, unknown>, string][] = [
    ['no exp', { iat: NOW_MS / 1000 }, 'has no exp claim'],
    ['an exp in the past', { iat: NOW_MS / 1000 - 7200, exp: NOW_MS / 1000 - 3600 }, 'expired at'],
    ['an exp ten years away', { iat: NOW_MS / 1000, exp: NOW_MS / 1000 + 10 * 365 * 86400 }, 'more than 24 h from now'],
    ['an exp before its iat', { iat: NOW_MS / 1000 + 60, exp: NOW_MS / 1000 + 30 }, 'no later than it was issued'],
  ];
  for (const [name, claims, message] of unusableLifetimes) {
    test(`an RPST with ${name} is refused, never cached as a session`, async () => {
      const token = jwt({ sub: 'ocid1.workload.oc1..w', res_tenant: 'ocid1.tenancy.oc1..t', ...claims });
      const http = scripted(() => ({ status: 200, body: answer(`ST$${token}`) }));
      const error = await rejected(exchangeFor(http));
      expect(error.code).toBe('ERR_WORKLOAD_IDENTITY');
      expect(error.message).toStartWith('the RPST from the OKE proxymux ');
      expect(error.message).toContain(message);
    });
  }

  test('an unreadable or non-PEM CA file is refused before the call', async () => {
    const http = scripted(() => ({ status: 200, body: answer(`ST$${RPST}`) }));
    expect((await rejected(exchangeFor(http, '/missing.crt'))).message).toContain('cannot read the cluster CA /missing.crt (ENOENT)');
    const notPem: FileReader = { readText: () => Promise.resolve('hello') };
    const error = await rejected(
      exchangeServiceAccountToken({ ...init(http, { files: notPem }), endpoint: new URL('https://h:1'), caFile: '/x', account: A, token: SA_TOKEN }),
    );
    expect(error.message).toContain('holds no PEM certificate');
    expect(http.requests).toHaveLength(0);
  });
});

describe('workloadSigner', () => {
  test('files each account under its own key, built from the claims, never the token', () => {
    const http = scripted(() => ({ status: 200, body: answer(`ST$${RPST}`) }));
    const a = workloadSigner(init(http), A, SA_TOKEN);
    const b = workloadSigner(init(http), B, SA_TOKEN);
    expect(a.principalKey).toBe('workload:10.0.0.9:12250:team-a/puller/uid-a');
    expect(b.principalKey).not.toBe(a.principalKey);
    expect(a.principalKey).not.toContain(SA_TOKEN.split('.')[1]!);
  });

  test('no CA configured: an error at once', () => {
    const http = scripted(() => ({ status: 200, body: answer(`ST$${RPST}`) }));
    const error = refusal(() => workloadSigner(init(http, { settings: { workloadIdentityEndpoint: 'https://h', workloadIdentityCaFile: undefined } }), A, SA_TOKEN));
    expect(error.details.key).toBe('WORKLOAD_IDENTITY_CA_FILE');
  });

  test('with the shared cache: one exchange per account, and an entry copied from another account is not trusted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpo-wi-'));
    dirs.push(dir);
    const cacheDir = join(dir, 'cache');
    // A new memo per call, as each exec has its own: only the directory is shared.
    const memo = () => createMemo({ open: () => diskBackend({ dir: cacheDir, log: silentLogger, now: () => NOW_MS, lockWaitUntilMs: NOW_MS + 10_000 }) });
    const http = scripted(() => ({ status: 200, body: answer(`ST$${RPST}`) }));
    const signer = (account: ServiceAccountRef) => workloadSigner(init(http, { memo: memo() }), account, SA_TOKEN);

    await signer(A).identity();
    await signer(A).identity();
    expect(http.requests).toHaveLength(1);
    const entriesAfterA = readdirSync(cacheDir).filter((n) => n.startsWith('session-'));
    await signer(B).identity();
    expect(http.requests).toHaveLength(2);
    const entryOfB = readdirSync(cacheDir).find((n) => n.startsWith('session-') && !entriesAfterA.includes(n))!;
    // A's session planted under B's name (same tokens, A's scope inside) is a miss for B.
    copyFileSync(join(cacheDir, entriesAfterA[0]!), join(cacheDir, entryOfB));
    await signer(B).identity();
    expect(http.requests).toHaveLength(3);
  });
});
