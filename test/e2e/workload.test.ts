import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { WORKLOAD_IDENTITY_ANNOTATION } from '../../src/identity/serviceAccount.ts';
import { startEmulator, type Emulator, type PrincipalInfo } from '../emulator/index.ts';
import { parseGoDuration, validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider, type ProviderRun, expectOneLineFailure } from '../support/runProvider.ts';

/**
 * OKE Workload Identity per pod: the kubelet passes the pod's service-account token and the
 * annotations it was told to pass; a service account annotated for workload identity pulls with
 * its own RPST from the proxymux (HTTPS, cluster CA), every other pod with the fallback.
 */
const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const V1BETA1 = 'credentialprovider.kubelet.k8s.io/v1beta1';
const OPT_IN = { [WORKLOAD_IDENTITY_ANNOTATION]: 'enabled' };
const A = { namespace: 'team-a', name: 'puller-a', uid: '11111111-1111-4111-8111-111111111111' };
const B = { namespace: 'team-b', name: 'puller-b', uid: '22222222-2222-4222-8222-222222222222' };
const IMDS = ['imds.region', 'imds.canonicalRegionName', 'imds.regionInfo', 'imds.id', 'imds.cert', 'imds.key', 'imds.intermediate'] as const;

let emulator: Emulator;
let tmp: string;
let caFile: string;
let cacheDir: string;
const stderrs: string[] = [];
const issuedServiceAccountTokens: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  tmp = mkdtempSync(join(tmpdir(), 'cpo-workload-'));
  caFile = join(tmp, 'cluster-ca.crt');
  writeFileSync(caFile, emulator.proxymuxCaPem);
});
afterAll(async () => {
  await emulator.stop();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmp, 'cache-'));
  emulator.clearFaults();
  emulator.allowAll();
  emulator.setClusterEnhanced(true);
  emulator.resetCalls();
});

const image = (repo = 'app') => `${emulator.registryHost}/${emulator.namespace}/${repo}`;
const imdsCalls = () => IMDS.reduce((n, e) => n + emulator.calls(e), 0);

async function saToken(account: typeof A, options: { expiresInSeconds?: number } = {}): Promise<string> {
  const token = await emulator.issueServiceAccountToken({ ...account, ...options });
  issuedServiceAccountTokens.push(token);
  return token;
}

interface PodRequest {
  readonly token?: string;
  readonly annotations?: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly repo?: string;
  readonly apiVersion?: string;
}

async function pull(pod: PodRequest): Promise<ProviderRun> {
  const extra = {
    ...(pod.token === undefined ? {} : { serviceAccountToken: pod.token }),
    ...(pod.annotations === undefined ? {} : { serviceAccountAnnotations: pod.annotations }),
  };
  const result = await runProvider({
    env: {
      ...emulator.env(),
      WORKLOAD_IDENTITY_ENDPOINT: emulator.proxymuxUrl,
      WORKLOAD_IDENTITY_CA_FILE: caFile,
      CREDENTIAL_CACHE_DIR: cacheDir,
      ...pod.env,
    },
    stdin: kubeletRequest(image(pod.repo), pod.apiVersion ?? V1, extra),
  });
  stderrs.push(result.stderr);
  return result;
}

interface Answer {
  readonly cacheKeyType: string;
  readonly cacheDuration: string;
  readonly auth: Record<string, { username: string; password: string }>;
}

function accepted(result: ProviderRun, apiVersion = V1): Answer {
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const verdict = validateKubeletResponse(result.stdout, apiVersion);
  if (!verdict.ok) throw new Error(`kubelet would reject: ${verdict.reason}`);
  return JSON.parse(result.stdout) as Answer;
}

/** Whom OCIR issued the answer's docker token to. */
function principalOf(answer: Answer): PrincipalInfo | undefined {
  const password = answer.auth[emulator.registryHost]?.password;
  return password === undefined ? undefined : emulator.dockerTokenPrincipal(password);
}

function expectWorkload(answer: Answer, account: typeof A): void {
  expect(principalOf(answer)).toEqual({
    type: 'workload',
    id: emulator.workloadId(account.namespace, account.name),
    tenancyId: emulator.tenancyId,
    namespace: account.namespace,
    serviceAccount: account.name,
    clusterId: emulator.clusterId,
  });
}

const failure = expectOneLineFailure;

describe('opted-in service accounts pull with their own identity', () => {
  test('two service accounts on one node get different credentials, each its own workload; the node identity is never used', async () => {
    const [tokenA, tokenB] = await Promise.all([saToken(A), saToken(B)]);
    const a = accepted(await pull({ token: tokenA, annotations: OPT_IN }));
    const b = accepted(await pull({ token: tokenB, annotations: OPT_IN }));
    expectWorkload(a, A);
    expectWorkload(b, B);
    expect(a.auth[emulator.registryHost]!.password).not.toBe(b.auth[emulator.registryHost]!.password);
    // The kubelet scopes its cache per service account (tokenAttributes), so Registry is still right.
    expect(a.cacheKeyType).toBe('Registry');
    expect(parseGoDuration(a.cacheDuration)! / 1e9).toBeGreaterThan(3000);
    // The echo rule: the password is a docker token, never the pod's token.
    expect(a.auth[emulator.registryHost]!.password).not.toBe(tokenA);
    expect(emulator.calls('proxymux.token')).toBe(2);
    expect(emulator.calls('auth.x509')).toBe(0);
    expect(imdsCalls()).toBe(0);
  });

  test('16 concurrent execs alternating two service accounts on one cache: every answer belongs to its own account', async () => {
    const [tokenA, tokenB] = await Promise.all([saToken(A), saToken(B)]);
    const wave = () =>
      Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const account = i % 2 === 0 ? A : B;
          const result = await pull({ token: account === A ? tokenA : tokenB, annotations: OPT_IN, repo: `app${i}` });
          return { account, answer: accepted(result) };
        }),
      );
    for (const { account, answer } of await wave()) expectWorkload(answer, account);
    // One exchange and one docker token per account: the losers of each race waited for its winner.
    expect(emulator.calls('proxymux.token')).toBe(2);
    expect(emulator.calls('ocir.token')).toBe(2);
    emulator.resetCalls();
    for (const { account, answer } of await wave()) expectWorkload(answer, account);
    expect(emulator.calls()).toBe(0);
  }, 60_000);

  test('IAM sees the workload: a policy for one service account lets it read, and not the other', async () => {
    emulator.setPolicy((p, repo) => p.type === 'workload' && p.namespace === A.namespace && p.serviceAccount === A.name && repo.startsWith('emulatorns/'));
    const env = { TOKEN_VALIDATION: 'enabled', LOG_LEVEL: 'error' };
    const a = accepted(await pull({ token: await saToken(A), annotations: OPT_IN, env }));
    const b = accepted(await pull({ token: await saToken(B), annotations: OPT_IN, env }));
    expect(parseGoDuration(a.cacheDuration)! / 1e9).toBeGreaterThan(3000);
    // Denied: the short cache of a policy not (yet) in effect.
    expect(parseGoDuration(b.cacheDuration)! / 1e9).toBe(120);
  });

  test('the node cache and the workload cache never serve each other', async () => {
    const node1 = accepted(await pull({ token: await saToken(A) }));
    const workload = accepted(await pull({ token: await saToken(A), annotations: OPT_IN }));
    const node2 = accepted(await pull({}));
    expect(principalOf(node1)?.type).toBe('instance');
    expectWorkload(workload, A);
    expect(principalOf(node2)).toEqual(principalOf(node1));
    expect(node2.auth[emulator.registryHost]!.password).toBe(node1.auth[emulator.registryHost]!.password);
    expect(emulator.calls('auth.x509')).toBe(1);
    expect(emulator.calls('proxymux.token')).toBe(1);
  });

  test('OCIR refusing the RPST once: one new exchange, then credentials', async () => {
    emulator.inject('ocir.token', { status: 401, body: { code: 'NotAuthenticated', message: 'stale' } }, 1);
    expectWorkload(accepted(await pull({ token: await saToken(A), annotations: OPT_IN })), A);
    expect(emulator.calls('proxymux.token')).toBe(2);
  });
});

describe('pods that did not opt in get the fallback', () => {
  test('default node: a token without the annotation, "disabled", no token at all, and a v1beta1 request use the node identity', async () => {
    const token = await saToken(A);
    for (const pod of [{ token }, { token, annotations: { [WORKLOAD_IDENTITY_ANNOTATION]: 'disabled' } }, {}]) {
      expect(principalOf(accepted(await pull(pod)))?.type).toBe('instance');
    }
    // Older API versions have no service-account fields: anything sent there is ignored.
    expect(principalOf(accepted(await pull({ token, annotations: OPT_IN, apiVersion: V1BETA1 }), V1BETA1))?.type).toBe('instance');
    expect(emulator.calls('proxymux.token')).toBe(0);
  });

  test('SERVICE_ACCOUNT_FALLBACK=none: a valid answer with no credentials and "0s", no call upstream', async () => {
    const token = await saToken(A);
    for (const pod of [{ token }, {}]) {
      const answer = accepted(await pull({ ...pod, env: { SERVICE_ACCOUNT_FALLBACK: 'none' } }));
      expect(answer.auth).toEqual({});
      expect(answer.cacheDuration).toBe('0s');
    }
    expect(emulator.calls()).toBe(0);
    // An opted-in pod still gets its own identity.
    expectWorkload(accepted(await pull({ token, annotations: OPT_IN, env: { SERVICE_ACCOUNT_FALLBACK: 'none' } })), A);
  });
});

describe('failures: non-zero, empty stdout, one line naming the cause, never the token', () => {
  test('an expired token is refused before anything is called', async () => {
    const line = failure(await pull({ token: await saToken(A, { expiresInSeconds: -600 }), annotations: OPT_IN }), 'ERR_SERVICE_ACCOUNT_TOKEN');
    expect(line).toContain('team-a/puller-a expired at');
    expect(emulator.calls()).toBe(0);
  });

  test('a token without service-account claims is refused before anything is called', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const bare = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject('someone').setExpirationTime('1h').sign(privateKey);
    issuedServiceAccountTokens.push(bare);
    const line = failure(await pull({ token: bare, annotations: OPT_IN }), 'ERR_SERVICE_ACCOUNT_TOKEN');
    expect(line).toContain('names no service account');
    expect(failure(await pull({ token: 'not-a-jwt', annotations: OPT_IN }), 'ERR_SERVICE_ACCOUNT_TOKEN')).toContain('not a valid JWT');
    expect(emulator.calls()).toBe(0);
  });

  test('a forged token is refused by the proxymux', async () => {
    const genuine = await saToken(A);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const part = (n: number) => JSON.parse(Buffer.from(genuine.split('.')[n]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    // Same claims and kid, another key: what a pod could produce without the cluster's signing key.
    const forged = await new SignJWT(part(1)).setProtectedHeader({ ...part(0), alg: 'RS256' }).sign(privateKey);
    issuedServiceAccountTokens.push(forged);
    const line = failure(await pull({ token: forged, annotations: OPT_IN }), 'ERR_SERVICE_ACCOUNT_TOKEN');
    expect(line).toContain('refused the service account token of team-a/puller-a');
    expect(line).toContain('status=401');
    expect(emulator.calls('ocir.token')).toBe(0);
  });

  test('403 from the proxymux: the cluster must be an enhanced cluster', async () => {
    emulator.setClusterEnhanced(false);
    const line = failure(await pull({ token: await saToken(A), annotations: OPT_IN }), 'ERR_WORKLOAD_IDENTITY');
    expect(line).toContain('the cluster must be an enhanced cluster');
    expect(line).toContain('status=403');
  });

  test('a node not set up for workload identity names the setting', async () => {
    const token = await saToken(A);
    const noEndpoint = failure(await pull({ token, annotations: OPT_IN, env: { WORKLOAD_IDENTITY_ENDPOINT: '' } }), 'ERR_WORKLOAD_IDENTITY');
    expect(noEndpoint).toContain('WORKLOAD_IDENTITY_ENDPOINT');
    const noCa = failure(await pull({ token, annotations: OPT_IN, env: { WORKLOAD_IDENTITY_CA_FILE: '' } }), 'ERR_WORKLOAD_IDENTITY');
    expect(noCa).toContain('WORKLOAD_IDENTITY_CA_FILE');
    const otherCa = join(tmp, 'other-ca.crt');
    writeFileSync(otherCa, emulator.registryTokenCaPem);
    const untrusted = failure(await pull({ token, annotations: OPT_IN, env: { WORKLOAD_IDENTITY_CA_FILE: otherCa } }), 'ERR_NETWORK');
    expect(untrusted).toContain('workloadIdentityCaFile');
    // A refused certificate is final: one attempt, no retries.
    expect(untrusted).toContain("refused the server's TLS certificate");
    expect(untrusted).not.toContain('attempts=');
    expect(emulator.calls('ocir.token')).toBe(0);
  });

  test('an annotation value that is neither enabled nor disabled is an error, not a silent fallback', async () => {
    const line = failure(await pull({ token: await saToken(A), annotations: { [WORKLOAD_IDENTITY_ANNOTATION]: 'yes please' } }), 'ERR_WORKLOAD_IDENTITY');
    expect(line).toContain(WORKLOAD_IDENTITY_ANNOTATION);
    expect(emulator.calls()).toBe(0);
  });
});

test('no service-account token, RPST or docker token ever reached stderr', () => {
  expect(issuedServiceAccountTokens.length).toBeGreaterThan(5);
  for (const text of stderrs) {
    for (const token of issuedServiceAccountTokens) expect(text).not.toContain(token.split('.')[1]!);
    for (const secret of ['ST$', 'eyJ', 'BEGIN RSA', 'BEGIN PRIVATE', 'signature="']) expect(text).not.toContain(secret);
  }
});
