import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import type { PullPolicy } from '../emulator/index.ts';
import { parseGoDuration, validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider } from '../support/runProvider.ts';
import type { RealEnvironment } from './support/environment.ts';
import { FOREIGN_REPOSITORY, OWN_REPOSITORY, startRealEnvironment } from './support/environment.ts';
import type { ForwardedRequest } from './support/front.ts';
import type { ToolRun } from './support/processes.ts';
import { httpsGet } from './support/registry.ts';
import { detectTools } from './support/tools.ts';

/**
 * The provider's credentials against real components, not only our emulator: Debian's
 * docker-registry (distribution 2.8.2) with token auth trusting the emulator's docker-token CA,
 * pulled from by skopeo, containerd's ctr (the kubelet's runtime path) and podman, all behind one
 * HTTPS host like OCIR (support/environment.ts draws the wiring). The provider runs as the kubelet
 * runs it; the clients get exactly the username and password from its response.
 */

const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const HOUR_MS = 60 * 60 * 1000;
/** Starting everything (two RSA key batches, the registry, containerd, two pushes) takes a few seconds; this is the ceiling. */
const SETUP_TIMEOUT_MS = 90_000;
const PULL_TEST_TIMEOUT_MS = 60_000;

const available = detectTools();
for (const line of available.skipped) console.warn(line);

let env: RealEnvironment;
/** The instance's tenancy owns `emulatorns` and nothing else (the emulator's default, restated so tests can restore it). */
let ownNamespaceOnly: PullPolicy;

beforeAll(async () => {
  if (!available.core) return;
  env = await startRealEnvironment(available);
  const tenancyId = env.emulator.tenancyId;
  ownNamespaceOnly = (principal, repository) => principal.tenancyId === tenancyId && repository.startsWith(`${env.emulator.namespace}/`);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  // Runs even when a test or beforeAll failed; every server is stopped by its PID.
  await env?.stop();
});
beforeEach(() => {
  if (!available.core) return;
  env.emulator.setPolicy(ownNamespaceOnly);
  env.front.clearLog();
});
afterEach(() => {
  // Here rather than in beforeEach: a failed expiry test must not leave the clock shifted for the next one.
  if (available.core) env?.setEmulatorClockOffset(0);
});

interface Credentials {
  /** The response's username and password, exactly as the kubelet puts them in the CRI `AuthConfig`. */
  readonly username: string;
  readonly password: string;
  /** `BEARER_TOKEN:<docker token>`, for the clients that take one `--user` string. */
  readonly userPassword: string;
  readonly cacheDuration: string;
  readonly stderr: string;
}

/** Runs the provider for `<front>/<repository>` and returns what the kubelet would hand the runtime. */
async function credentialsFor(repository: string, extraEnv: Record<string, string> = {}): Promise<Credentials> {
  const run = await runProvider({ env: env.providerEnv(extraEnv), stdin: kubeletRequest(env.imageName(repository), V1) });
  expect(run.status, `the provider failed:\n${run.stderr}`).toBe(0);
  const verdict = validateKubeletResponse(run.stdout, V1);
  if (!verdict.ok) throw new Error(`the kubelet would reject the response: ${verdict.reason}\n${run.stderr}`);
  const { response } = verdict;
  expect(response.cacheKeyType).toBe('Registry');
  expect(Object.keys(response.auth)).toEqual([env.front.host]);
  const entry = response.auth[env.front.host];
  expect(entry?.username).toBe('BEARER_TOKEN');
  expect(entry?.password).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  return {
    username: entry!.username,
    password: entry!.password,
    userPassword: `${entry!.username}:${entry!.password}`,
    cacheDuration: response.cacheDuration ?? '', stderr: run.stderr };
}

const minutesOf = (duration: string): number => (parseGoDuration(duration) ?? Number.NaN) / 60e9;
const tokenRequests = (): ForwardedRequest[] => env.front.forwarded.filter((r) => r.route === 'token');
const manifestRequests = (): ForwardedRequest[] => env.front.forwarded.filter((r) => r.route === 'registry' && r.path.includes('/manifests/'));
const describeRun = (run: ToolRun): string => `${run.command}\nexit ${String(run.status)}\n${run.stderr}${run.stdout}`;

/** The CRI runtime's words for the same two refusals, in the gRPC status the kubelet logs. */
const CRI_REFUSAL = {
  registry: /insufficient_scope: authorization failed/,
  token: /failed to fetch oauth token: unexpected status: 401/,
} as const;

/** What each client prints when the registry refuses a token that lacks the repository's access. */
const REGISTRY_REFUSAL = {
  skopeo: /denied: requested access to the resource is denied/,
  ctr: /insufficient_scope: authorization failed/,
} as const;
/** What each client prints when the token endpoint refuses the docker token it was given. */
const TOKEN_REFUSAL = {
  skopeo: /unable to retrieve auth token: invalid username\/password/,
  ctr: /failed to fetch oauth token: unexpected status: 401/,
} as const;

/** A failed pull whose last word came from the registry: the exchange succeeded, the manifest was 401, nothing was served. */
function expectRefusedByRegistry(run: ToolRun, message: RegExp): void {
  expect(run.status, describeRun(run)).not.toBe(0);
  expect(run.stderr).toMatch(message);
  expect(tokenRequests().length).toBeGreaterThan(0);
  expect(tokenRequests().every((r) => r.status === 200)).toBe(true);
  expect(manifestRequests().length).toBeGreaterThan(0);
  expect(manifestRequests().every((r) => r.status === 401)).toBe(true);
}

/** A failed pull that never got past the token endpoint: every exchange was refused, for `why`. */
function expectRefusedAtTokenEndpoint(run: ToolRun, message: RegExp, why: string): void {
  expect(run.status, describeRun(run)).not.toBe(0);
  expect(run.stderr).toMatch(message);
  expect(tokenRequests().length).toBeGreaterThan(0);
  for (const request of tokenRequests()) {
    expect(request.status).toBe(401);
    expect(request.errorBody).toContain(why);
  }
  expect(manifestRequests().filter((r) => r.authScheme === 'Bearer')).toEqual([]);
}

describe.skipIf(!available.core)('a real registry (docker-registry 2.8.2, token auth) behind one OCIR-like host', () => {
  test('the registry challenges with the emulator token endpoint as realm and the front host as service', async () => {
    const answer = await httpsGet(`https://${env.front.host}/v2/${OWN_REPOSITORY}/manifests/v1`, env.pki.caPem);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe(
      `Bearer realm="https://${env.front.host}/20180419/docker/token",service="${env.front.host}",scope="repository:${OWN_REPOSITORY}:pull"`,
    );
  });

  test('the provider fetches its docker token from the image host (a signed GET through the front), in an answer the kubelet accepts', async () => {
    const credentials = await credentialsFor(OWN_REPOSITORY);
    expect(credentials.stderr).toBe('');
    // The kubelet would cache the answer for most of the token's hour.
    expect(minutesOf(credentials.cacheDuration)).toBeGreaterThan(50);
    expect(minutesOf(credentials.cacheDuration)).toBeLessThanOrEqual(55);
    expect(env.front.forwarded.map((r) => [r.route, r.method, r.authScheme, r.status])).toEqual([['token', 'GET', 'Signature', 200]]);
  });

  test('skopeo pulls the image with the credentials (GET of the realm with Basic, then Bearer on /v2)', async () => {
    const credentials = await credentialsFor(OWN_REPOSITORY);
    env.front.clearLog();
    const pull = await env.skopeo.pull(env.reference(env.ownImage), credentials.userPassword);
    expect(pull.status, describeRun(pull)).toBe(0);
    expect(pull.digest).toBe(env.ownImage.digest);
    expect(tokenRequests().length).toBeGreaterThan(0);
    expect(tokenRequests().every((r) => r.method === 'GET' && r.authScheme === 'Basic' && r.status === 200)).toBe(true);
    expect(manifestRequests().some((r) => r.authScheme === 'Bearer' && r.status === 200)).toBe(true);
  }, PULL_TEST_TIMEOUT_MS);

  test.skipIf(!available.containerd)('containerd (ctr) pulls the image with the credentials, through its OAuth POST', async () => {
    const containerd = env.containerd!;
    const reference = env.reference(env.ownImage);
    const credentials = await credentialsFor(OWN_REPOSITORY);
    env.front.clearLog();
    const pull = await containerd.pull(reference, credentials.userPassword);
    try {
      expect(pull.status, describeRun(pull)).toBe(0);
      expect(await containerd.imageDigest(reference)).toBe(env.ownImage.digest);
      // The password-grant form (credentials in the body, no Authorization header); no fallback GET was needed.
      expect(tokenRequests().length).toBeGreaterThan(0);
      for (const request of tokenRequests()) {
        expect([request.method, request.authScheme, request.status]).toEqual(['POST', 'none', 200]);
        expect(request.userAgent).toStartWith('containerd/');
      }
    } finally {
      await containerd.removeImage(reference);
    }
  }, PULL_TEST_TIMEOUT_MS);

  test.skipIf(!available.podman)('podman pulls the image with the credentials', async () => {
    const credentials = await credentialsFor(OWN_REPOSITORY);
    const pull = await env.podman!.pull(env.reference(env.ownImage), credentials.userPassword);
    expect(pull.status, describeRun(pull)).toBe(0);
    expect(pull.digest).toBe(env.ownImage.digest);
  }, PULL_TEST_TIMEOUT_MS);

  test('TOKEN_VALIDATION=enabled, policy allows: the probe follows the challenge like a runtime, so the cache is full', async () => {
    // OCIR decides a docker token presented directly on /v2 by IAM policy (oci-auth.md §7.4);
    // distribution honours only a token's `access` claims and answers 401 with a challenge. The probe
    // then exchanges the token at the (same-host) realm for a scoped one, as a runtime does.
    const credentials = await credentialsFor(OWN_REPOSITORY, { TOKEN_VALIDATION: 'enabled' });
    expect(minutesOf(credentials.cacheDuration)).toBeGreaterThan(50);
    expect(manifestRequests().map((r) => [r.method, r.authScheme, r.status])).toEqual([
      ['GET', 'Bearer', 401],
      // The seeded image has no tag `latest`: 404 MANIFEST_UNKNOWN still proves the token may read the repository.
      ['GET', 'Bearer', 404],
    ]);
    const pull = await env.skopeo.pull(env.reference(env.ownImage), credentials.userPassword);
    expect(pull.status, describeRun(pull)).toBe(0);
    expect(pull.digest).toBe(env.ownImage.digest);
  }, PULL_TEST_TIMEOUT_MS);
});

describe.skipIf(!available.core)('pulls that must fail', () => {
  test('IAM policy denied: the provider answers the 2-minute cache (TOKEN_VALIDATION=enabled), and the pulls are refused', async () => {
    env.emulator.denyAll();
    const credentials = await credentialsFor(OWN_REPOSITORY, { TOKEN_VALIDATION: 'enabled' });
    expect(credentials.cacheDuration).toBe('2m0s');
    expect(credentials.stderr).toContain('may not read this repository');
    // Its probe read the manifest on the real registry: directly, then with the scoped token, which grants nothing.
    expect(manifestRequests().map((r) => [r.method, r.authScheme, r.status])).toEqual([
      ['GET', 'Bearer', 401],
      ['GET', 'Bearer', 401],
    ]);

    // The token endpoint still answers (OCIR issues tokens to any authenticated principal) but grants no access.
    env.front.clearLog();
    expectRefusedByRegistry(await env.skopeo.pull(env.reference(env.ownImage), credentials.userPassword), REGISTRY_REFUSAL.skopeo);
    if (env.containerd !== undefined) {
      env.front.clearLog();
      expectRefusedByRegistry(await env.containerd.pull(env.reference(env.ownImage), credentials.userPassword), REGISTRY_REFUSAL.ctr);
    }
  }, PULL_TEST_TIMEOUT_MS);

  test('a revoked docker token: the token endpoint refuses the exchange, so the pulls fail', async () => {
    const credentials = await credentialsFor(OWN_REPOSITORY);
    env.emulator.revokeDockerTokens();

    env.front.clearLog();
    expectRefusedAtTokenEndpoint(await env.skopeo.pull(env.reference(env.ownImage), credentials.userPassword), TOKEN_REFUSAL.skopeo, 'revoked');
    if (env.containerd !== undefined) {
      env.front.clearLog();
      expectRefusedAtTokenEndpoint(await env.containerd.pull(env.reference(env.ownImage), credentials.userPassword), TOKEN_REFUSAL.ctr, 'revoked');
      // containerd tried both of its ways: the OAuth POST, then GET with Basic after the 401.
      expect(tokenRequests().map((r) => [r.method, r.authScheme])).toEqual([
        ['POST', 'none'],
        ['GET', 'Basic'],
      ]);
    }
  }, PULL_TEST_TIMEOUT_MS);

  test('an expired docker token: the token endpoint refuses the exchange, so the pulls fail', async () => {
    const credentials = await credentialsFor(OWN_REPOSITORY);
    // Past the token's one-hour lifetime on the token service's clock.
    env.setEmulatorClockOffset(2 * HOUR_MS);

    env.front.clearLog();
    expectRefusedAtTokenEndpoint(await env.skopeo.pull(env.reference(env.ownImage), credentials.userPassword), TOKEN_REFUSAL.skopeo, 'expired');
    if (env.containerd !== undefined) {
      env.front.clearLog();
      expectRefusedAtTokenEndpoint(await env.containerd.pull(env.reference(env.ownImage), credentials.userPassword), TOKEN_REFUSAL.ctr, 'expired');
    }
  }, PULL_TEST_TIMEOUT_MS);

  test("another tenancy's namespace: the image exists, but the instance's credentials cannot pull it", async () => {
    const foreign = env.reference(env.foreignImage);
    // Control: the repository is there for someone with rights to it.
    const control = await env.skopeo.inspectWithToken(foreign, await env.emulator.issuePushToken([FOREIGN_REPOSITORY]));
    expect(control.status, describeRun(control)).toBe(0);
    expect(control.stdout).toContain(env.foreignImage.digest);

    const credentials = await credentialsFor(FOREIGN_REPOSITORY);
    env.front.clearLog();
    expectRefusedByRegistry(await env.skopeo.pull(foreign, credentials.userPassword), REGISTRY_REFUSAL.skopeo);
    if (env.containerd !== undefined) {
      env.front.clearLog();
      expectRefusedByRegistry(await env.containerd.pull(foreign, credentials.userPassword), REGISTRY_REFUSAL.ctr);
    }
  }, PULL_TEST_TIMEOUT_MS);
});

describe.skipIf(!available.containerd)("the kubelet's own call: CRI runtime.v1 ImageService/PullImage on containerd's CRI plugin", () => {
  /** PullImage as the kubelet makes it: the image reference and `auth: {username, password}` from the provider's answer. */
  async function criPull(reference: string, credentials: Credentials) {
    return env.containerd!.cri.pullImage(reference, { username: credentials.username, password: credentials.password });
  }

  test('PullImage with the provider\'s username and password pulls the image; ImageStatus reports the pushed digest', async () => {
    const { cri } = env.containerd!;
    const reference = env.reference(env.ownImage);
    const credentials = await credentialsFor(OWN_REPOSITORY);
    expect(await cri.imageStatus(reference)).toBeUndefined();
    env.front.clearLog();
    try {
      const pulled = await criPull(reference, credentials);
      if ('failure' in pulled) throw new Error(`PullImage failed: ${pulled.failure.details}`);
      const status = await cri.imageStatus(reference);
      expect(status?.id).toBe(pulled.imageRef);
      expect(status?.repoTags).toEqual([reference]);
      expect(status?.repoDigests).toEqual([`${env.front.host}/${OWN_REPOSITORY}@${env.ownImage.digest}`]);
      // containerd's CRI authorizer exchanged the docker token at the realm, as it does on a node.
      expect(tokenRequests().length).toBeGreaterThan(0);
      expect(tokenRequests().every((r) => r.status === 200 && r.userAgent.startsWith('containerd/'))).toBe(true);
      expect(manifestRequests().some((r) => r.authScheme === 'Bearer' && r.status === 200)).toBe(true);
    } finally {
      await cri.removeImage(reference);
    }
    expect(await cri.imageStatus(reference)).toBeUndefined();
  }, PULL_TEST_TIMEOUT_MS);

  test('IAM policy denied: PullImage fails as the kubelet would see it (the registry refuses), and no image is there', async () => {
    const reference = env.reference(env.ownImage);
    env.emulator.denyAll();
    const credentials = await credentialsFor(OWN_REPOSITORY);
    env.front.clearLog();
    const pulled = await criPull(reference, credentials);
    if (!('failure' in pulled)) throw new Error('PullImage succeeded under a denying policy');
    expect(pulled.failure.details).toMatch(CRI_REFUSAL.registry);
    expect(manifestRequests().every((r) => r.status === 401)).toBe(true);
    expect(await env.containerd!.cri.imageStatus(reference)).toBeUndefined();
  }, PULL_TEST_TIMEOUT_MS);

  test('an expired docker token: PullImage fails at the token exchange, and no image is there', async () => {
    const reference = env.reference(env.ownImage);
    const credentials = await credentialsFor(OWN_REPOSITORY);
    env.setEmulatorClockOffset(2 * HOUR_MS);
    env.front.clearLog();
    const pulled = await criPull(reference, credentials);
    if (!('failure' in pulled)) throw new Error('PullImage succeeded with an expired token');
    expect(pulled.failure.details).toMatch(CRI_REFUSAL.token);
    expect(tokenRequests().length).toBeGreaterThan(0);
    for (const request of tokenRequests()) expect(request.errorBody).toContain('expired');
    expect(await env.containerd!.cri.imageStatus(reference)).toBeUndefined();
  }, PULL_TEST_TIMEOUT_MS);
});
