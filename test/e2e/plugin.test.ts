import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { validateKubeletResponse, parseGoDuration } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider, type ProviderRun, expectOneLineFailure } from '../support/runProvider.ts';

/**
 * The provider as the kubelet runs it (separate process, request on stdin, minimal env) against
 * the strict local OCI emulator.
 */
const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const V1BETA1 = 'credentialprovider.kubelet.k8s.io/v1beta1';
const V1ALPHA1 = 'credentialprovider.kubelet.k8s.io/v1alpha1';

let emulator: Emulator;
let tmp: string;
/** Every stderr the provider wrote in this file, checked for secrets at the end. */
const stderrs: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  tmp = mkdtempSync(join(tmpdir(), 'cpo-e2e-'));
});
afterAll(async () => {
  await emulator.stop();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.clearFaults();
  emulator.allowAll();
  emulator.resetCalls();
});

async function run(image: string, options: { env?: Record<string, string>; apiVersion?: string; args?: string[]; stdin?: string } = {}): Promise<ProviderRun> {
  const result = await runProvider({
    args: options.args,
    env: { ...emulator.env(), ...options.env },
    stdin: options.stdin ?? kubeletRequest(image, options.apiVersion ?? V1),
  });
  stderrs.push(result.stderr);
  return result;
}

function image(repo = 'app'): string {
  return `${emulator.registryHost}/${emulator.namespace}/${repo}`;
}

function expectAccepted(result: ProviderRun, apiVersion = V1) {
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const verdict = validateKubeletResponse(result.stdout, apiVersion);
  if (!verdict.ok) throw new Error(`kubelet would reject: ${verdict.reason}`);
  return JSON.parse(result.stdout) as {
    apiVersion: string;
    cacheKeyType: string;
    cacheDuration: string;
    auth: Record<string, { username: string; password: string }>;
  };
}

const expectFailure = expectOneLineFailure;

const secondsOf = (duration: string) => (parseGoDuration(duration) ?? NaN) / 1e9;
const IMDS_ENDPOINTS = ['imds.region', 'imds.canonicalRegionName', 'imds.regionInfo', 'imds.id', 'imds.cert', 'imds.key', 'imds.intermediate'] as const;
const imdsCalls = () => IMDS_ENDPOINTS.reduce((sum, e) => sum + emulator.calls(e), 0);

describe('instance principal', () => {
  for (const apiVersion of [V1, V1BETA1, V1ALPHA1]) {
    test(`answers a ${apiVersion.split('/')[1]} request with a token the registry accepts`, async () => {
      const response = expectAccepted(await run(image(), { apiVersion }), apiVersion);
      expect(response.apiVersion).toBe(apiVersion);
      expect(response.cacheKeyType).toBe('Registry');
      expect(Object.keys(response.auth)).toEqual([emulator.registryHost]);
      const entry = response.auth[emulator.registryHost]!;
      expect(entry.username).toBe('BEARER_TOKEN');
      expect(entry.password).toBe(emulator.lastDockerToken!);
      // 3600 s token minus the 5 min margin, less the seconds the exec took.
      expect(secondsOf(response.cacheDuration)).toBeGreaterThan(3300 - 30);
      expect(secondsOf(response.cacheDuration)).toBeLessThanOrEqual(3300);
      // One exec costs: IMDS cert + key + intermediate (the auth URL is given, so no region), one federation, one token.
      expect(emulator.calls('auth.x509')).toBe(1);
      expect(emulator.calls('ocir.token')).toBe(1);
      expect(imdsCalls()).toBe(3);
      const pull = await fetch(`http://${emulator.registryHost}/v2/${emulator.namespace}/app/manifests/1.0`, {
        headers: { authorization: `Bearer ${entry.password}` },
      });
      expect(pull.status).toBe(200);
    });
  }

  test('tolerates a tag or digest and keeps the port in the auth key', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    for (const ref of [`${image()}:1.0`, `${image()}@${digest}`, `${image()}:1.0@${digest}`]) {
      const response = expectAccepted(await run(ref));
      expect(Object.keys(response.auth)).toEqual([emulator.registryHost]);
    }
  });

  test('a long-lived OCIR token keeps hours in the Go duration', async () => {
    // 20 h: long, and still under the day beyond which an expires_in is not believed.
    const long = await startEmulator({ dockerTokenLifetimeSeconds: 20 * 3600 });
    try {
      const result = await runProvider({ env: long.env(), stdin: kubeletRequest(`${long.registryHost}/${long.namespace}/app`) });
      const response = expectAccepted(result);
      expect(response.cacheDuration).toMatch(/^19h5[45]m\d+s$/);
    } finally {
      await long.stop();
    }
  });

  test('get-credentials prints the response without hand-written JSON', async () => {
    const result = await runProvider({ args: ['get-credentials', image()], env: emulator.env() });
    const response = expectAccepted(result);
    expect(response.auth[emulator.registryHost]!.password).toBe(emulator.lastDockerToken!);
  });
});

describe('token validation', () => {
  test('enabled and authorized: full cache duration, one manifest read', async () => {
    const response = expectAccepted(await run(image(), { env: { TOKEN_VALIDATION: 'enabled' } }));
    expect(secondsOf(response.cacheDuration)).toBeGreaterThan(3000);
    expect(emulator.calls('ocir.manifest')).toBe(1);
  });

  test('does not depend on the tag latest existing', async () => {
    const response = expectAccepted(await run(image('team/tool'), { env: { TOKEN_VALIDATION: 'enabled' } }));
    expect(secondsOf(response.cacheDuration)).toBeGreaterThan(3000);
  });

  test('policy denied: credentials with a short cache so a late policy heals by itself', async () => {
    emulator.denyAll();
    const result = await run(image(), { env: { TOKEN_VALIDATION: 'enabled', LOG_LEVEL: 'error' } });
    const response = expectAccepted(result);
    expect(secondsOf(response.cacheDuration)).toBe(120);
  });

  test('policy denied with warnings on: the warning names the policy, not the token', async () => {
    emulator.denyAll();
    const result = await run(image(), { env: { TOKEN_VALIDATION: 'enabled' } });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('read repos');
    expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
  });

  test('disabled: no manifest read', async () => {
    expectAccepted(await run(image(), { env: { TOKEN_VALIDATION: 'disabled' } }));
    expect(emulator.calls('ocir.manifest')).toBe(0);
  });
});

describe('user principal', () => {
  test('signs with the API key of the OCI config profile and never touches IMDS', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const userId = 'ocid1.user.oc1..e2euser';
    const fingerprint = emulator.registerApiKey(userId, publicKey);
    const keyFile = join(tmp, 'api-key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const configFile = join(tmp, 'oci-config');
    writeFileSync(
      configFile,
      `[DEFAULT]\nuser=ocid1.user.oc1..other\n[E2E]\nuser=${userId}\nfingerprint=${fingerprint}\ntenancy=${emulator.tenancyId}\nregion=eu-frankfurt-1\nkey_file=${keyFile}\n`,
    );
    const response = expectAccepted(
      await run(image(), { env: { OCIR_AUTH_METHOD: 'USER_PRINCIPAL', OCI_CONFIG_FILE: configFile, OCI_CLI_PROFILE: 'E2E' } }),
    );
    expect(response.auth[emulator.registryHost]!.password).toBe(emulator.lastDockerToken!);
    expect(imdsCalls()).toBe(0);
    expect(emulator.calls('auth.x509')).toBe(0);
  });

  test('an unregistered key is refused by OCIR with the OCI code', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(tmp, 'unknown-key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const { md5Fingerprint } = await import('../../src/oci/keys.ts');
    const configFile = join(tmp, 'oci-config-unknown');
    writeFileSync(configFile, `[DEFAULT]\nuser=ocid1.user.oc1..nobody\nfingerprint=${md5Fingerprint(publicKey)}\ntenancy=${emulator.tenancyId}\nkey_file=${keyFile}\n`);
    const line = expectFailure(await run(image(), { env: { OCIR_AUTH_METHOD: 'USER_PRINCIPAL', OCI_CONFIG_FILE: configFile } }), 'ERR_OCIR_TOKEN');
    expect(line).toContain('status=401');
    expect(line).toContain('code=NotAuthenticated');
    expect(line).toContain('opc-request-id=');
  });
});

describe('configuration', () => {
  test('-config YAML with the original keys', async () => {
    const file = join(tmp, 'config.yaml');
    writeFileSync(
      file,
      [
        'registryTokenPath: /20180419/docker/token',
        'defaultUser: BEARER_TOKEN',
        'registryProtocol: http',
        'ocirAuthMethod: INSTANCE_PRINCIPAL',
        'tokenValidation: enabled',
        `registryHosts: ["${emulator.registryHost}"]`,
        // With -config, settings come from the file only (as in the original), so the cache dir too.
        `credentialCacheDir: ${join(tmp, 'yaml-cache')}`,
      ].join('\n'),
    );
    const env = emulator.env();
    const { REGISTRY_HOSTS: _h, REGISTRY_PROTOCOL: _p, ...sdkEnv } = env;
    const response = expectAccepted(await runProvider({ args: ['-config', file], env: sdkEnv, stdin: kubeletRequest(image()) }));
    expect(response.auth[emulator.registryHost]!.username).toBe('BEARER_TOKEN');
    expect(emulator.calls('ocir.manifest')).toBe(1);
  });

  test('an unknown YAML key is an error naming the key', async () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'registryProtocl: https\n');
    const line = expectFailure(await run(image(), { args: ['--config', file] }), 'ERR_CONFIG_INVALID');
    expect(line).toContain('registryProtocl');
    expect(emulator.calls()).toBe(0);
  });

  test('an invalid env value is an error naming the variable', async () => {
    const line = expectFailure(await run(image(), { env: { OCIR_AUTH_METHOD: 'WORKLOAD' } }), 'ERR_CONFIG_INVALID');
    expect(line).toContain('OCIR_AUTH_METHOD');
  });

  for (const [what, logFile, reason] of [
    ['in a missing folder', () => join(tmp, 'no-such-dir', 'provider.log'), 'its folder does not exist'],
    ['that is a directory', () => tmp, 'a directory'],
  ] as const) {
    test(`a log file ${what} is one warning line and the pull goes on`, async () => {
      const file = logFile();
      const result = await run(image(), { env: { LOG_FILE: file, LOG_LEVEL: 'info' } });
      expect(result.status).toBe(0);
      expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
      const warnings = result.stderr.split('\n').filter((l) => l.includes(' warn '));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toEndWith(` warn log file ${file} not used (${reason}); logging to stderr only`);
      expect(result.stderr).not.toContain('ERR_');
    });
  }

  test('a custom token path that OCIR does not serve fails with the 404', async () => {
    const line = expectFailure(await run(image(), { env: { REGISTRY_TOKEN_PATH: '/wrong/path' } }), 'ERR_OCIR_TOKEN');
    expect(line).toContain('status=404');
  });
});

describe('refuses to sign for hosts that are not OCIR', () => {
  for (const target of ['evil.com/fra.ocir.io', 'fra.ocir.io.attacker.example/ns/app', 'docker.io/library/nginx', '127.0.0.2:5000/x/y']) {
    test(target, async () => {
      const line = expectFailure(await run(target), 'ERR_REGISTRY_NOT_ALLOWED');
      expect(line).toContain('registryHosts');
      expect(emulator.calls()).toBe(0);
    });
  }
});

describe('upstream failures: clear error, exit non-zero, empty stdout', () => {
  test('IMDS unreachable', async () => {
    const line = expectFailure(await run(image(), { env: { OCI_METADATA_BASE_URL: 'http://127.0.0.1:9/opc/v2' } }), 'ERR_IMDS');
    expect(line).toContain('127.0.0.1:9');
  });

  test('IMDS answers 429 three times, then works', async () => {
    emulator.inject('imds.cert', { status: 429 }, 3);
    expectAccepted(await run(image()));
    expect(emulator.calls('imds.cert')).toBe(4);
  });

  test('IMDS keeps failing', async () => {
    emulator.inject('imds.cert', { status: 500 }, 100);
    const line = expectFailure(await run(image()), 'ERR_IMDS');
    expect(line).toContain('status=500');
  });

  test('auth service 503 twice, then works', async () => {
    emulator.inject('auth.x509', { status: 503 }, 2);
    expectAccepted(await run(image()));
    expect(emulator.calls('auth.x509')).toBe(3);
  });

  test('auth service refuses (400) without retrying', async () => {
    emulator.inject('auth.x509', { status: 400, body: { code: 'InvalidParameter', message: 'bad request' } });
    const line = expectFailure(await run(image()), 'ERR_FEDERATION');
    expect(line).toContain('code=InvalidParameter');
    expect(emulator.calls('auth.x509')).toBe(1);
  });

  test('clock skew reported by the auth service names the clock', async () => {
    const skewed = await startEmulator({ now: () => Date.now() + 10 * 60_000 });
    try {
      const result = await runProvider({ env: skewed.env(), stdin: kubeletRequest(`${skewed.registryHost}/${skewed.namespace}/app`) });
      stderrs.push(result.stderr);
      const line = expectFailure(result, 'ERR_FEDERATION');
      expect(line).toContain('status=401');
      expect(line).toContain('clock');
    } finally {
      await skewed.stop();
    }
  });

  test('OCIR answers 401 to the session token: one re-federation, then a clear error', async () => {
    emulator.inject('ocir.token', { status: 401, body: { code: 'NotAuthenticated', message: 'nope' } }, 5);
    const line = expectFailure(await run(image()), 'ERR_OCIR_TOKEN');
    expect(line).toContain('status=401');
    expect(emulator.calls('auth.x509')).toBe(2);
    expect(emulator.calls('ocir.token')).toBe(2);
  });

  test('OCIR 401 once heals with one re-federation', async () => {
    emulator.inject('ocir.token', { status: 401, body: { code: 'NotAuthenticated', message: 'stale' } }, 1);
    expectAccepted(await run(image()));
    expect(emulator.calls('auth.x509')).toBe(2);
  });

  test('a hung OCIR: the exec deadline fires and names the call', async () => {
    emulator.inject('ocir.token', { hang: true }, 10);
    // The ERR_DEADLINE line is the proof the deadline fired; the kill is only a guard, so a broken
    // deadline fails here (killed, no line) instead of hanging the suite for the kubelet's 60 s.
    const result = await runProvider({ env: { ...emulator.env(), EXEC_TIMEOUT: '3s' }, stdin: kubeletRequest(image()), killAfterMs: 20_000 });
    stderrs.push(result.stderr);
    expect(result.signal).toBeNull();
    const line = expectFailure(result, 'ERR_DEADLINE');
    expect(line).toContain('OCIR GET');
  });

  test('certificate rotated between the cert and key reads: read again, then federate', async () => {
    emulator.serveMismatchOnce();
    expectAccepted(await run(image()));
    expect(emulator.calls('imds.cert')).toBe(2);
  });
});

describe('token lifetimes from upstream are not trusted too far', () => {
  test('a short OCIR token gives a cache duration shorter than its life', async () => {
    const short = await startEmulator({ dockerTokenLifetimeSeconds: 90 });
    try {
      const result = await runProvider({ env: short.env(), stdin: kubeletRequest(`${short.registryHost}/${short.namespace}/app`) });
      const response = expectAccepted(result);
      expect(secondsOf(response.cacheDuration)).toBeLessThanOrEqual(45);
    } finally {
      await short.stop();
    }
  });

  // Each became the 3600 s default before: the kubelet cached a dead token for 55 minutes.
  for (const [name, expiresIn] of [['0', 0], ['-5', -5], ['"60"', '60'], ['3600000 (ms, not s)', 3_600_000]] as const) {
    test(`OCIR's expires_in ${name}: the exec fails with ERR_OCIR_TOKEN naming the field`, async () => {
      emulator.inject('ocir.token', { status: 200, body: { token: 'header.payload.signature', expires_in: expiresIn } });
      const line = expectFailure(await run(image()), 'ERR_OCIR_TOKEN');
      expect(line).toContain(`unusable expires_in ${JSON.stringify(expiresIn)}`);
      expect(line).toContain(`host=${emulator.registryHost}`);
    });
  }

  test('a token with a lone surrogate is ERR_OCIR_TOKEN, not ERR_INTERNAL', async () => {
    emulator.inject('ocir.token', { status: 200, body: { token: 'abc\uD800def', expires_in: 3600 } });
    const line = expectFailure(await run(image()), 'ERR_OCIR_TOKEN');
    expect(line).toContain('character 4 is not visible ASCII');
  });

  for (const [name, lifetimeSeconds, why] of [
    ['valid for ten years', 10 * 365 * 86400, 'claims to be valid until'],
    ['expired when issued (exp before iat)', -60, 'expired at'],
  ] as const) {
    test(`a session token ${name}: ERR_FEDERATION, no session cached`, async () => {
      const odd = await startEmulator({ sessionTokenLifetimeSeconds: lifetimeSeconds });
      try {
        const result = await runProvider({ env: odd.env(), stdin: kubeletRequest(`${odd.registryHost}/${odd.namespace}/app`) });
        const line = expectFailure(result, 'ERR_FEDERATION');
        expect(line).toContain(`the session token from the auth service ${why}`);
        expect(odd.calls('ocir.token')).toBe(0);
      } finally {
        await odd.stop();
      }
    });
  }
});

describe('malformed requests: exit non-zero, empty stdout, one line on stderr, no upstream call', () => {
  const cases: [string, string][] = [
    ['empty stdin', ''],
    ['only whitespace', ' \n'],
    ['not JSON', 'not json'],
    ['truncated JSON', '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['a JSON string', '"fra.ocir.io/ns/app"'],
    ['wrong kind', JSON.stringify({ kind: 'CredentialProviderResponse', apiVersion: V1, image: 'fra.ocir.io/ns/app' })],
    ['missing kind', JSON.stringify({ apiVersion: V1, image: 'fra.ocir.io/ns/app' })],
    ['unsupported apiVersion v2', JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: 'credentialprovider.kubelet.k8s.io/v2', image: 'fra.ocir.io/ns/app' })],
    ['missing apiVersion', JSON.stringify({ kind: 'CredentialProviderRequest', image: 'fra.ocir.io/ns/app' })],
    ['missing image', JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1 })],
    ['empty image', JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1, image: '' })],
    ['image is a number', JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1, image: 42 })],
    ['image without a registry', JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1, image: 'nginx' })],
    ['trailing garbage', `${kubeletRequest('fra.ocir.io/ns/app')}garbage`],
    ['two objects', `${kubeletRequest('fra.ocir.io/ns/app')}${kubeletRequest('fra.ocir.io/ns/app')}`],
    ['a UTF-8 BOM', `\uFEFF${kubeletRequest('fra.ocir.io/ns/app')}`],
    ['serviceAccountToken not a string', JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1, image: 'fra.ocir.io/ns/app', serviceAccountToken: 7 })],
    ['huge input (2 MiB)', JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1, image: 'fra.ocir.io/ns/app', pad: 'x'.repeat(2 * 1024 * 1024) })],
  ];
  for (const [name, stdin] of cases) {
    test(name, async () => {
      const result = await run('', { stdin });
      expectFailure(result, 'ERR_REQUEST_INVALID');
      expect(emulator.calls()).toBe(0);
    });
  }
});

describe('command line', () => {
  test('--version and --help print to stdout and exit 0', async () => {
    const version = await runProvider({ args: ['--version'] });
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^credential-provider-oke \S+ \(commit \S+\)\n$/);
    const help = await runProvider({ args: ['--help'] });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('get-credentials');
  });

  test('an unknown flag is a usage error', async () => {
    const result = await runProvider({ args: ['--frobnicate'] });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unknown flag --frobnicate');
  });
});

test('no secret ever reached stderr', () => {
  const secrets = [emulator.lastDockerToken ?? 'unset', 'ST$', 'BEGIN RSA', 'BEGIN PRIVATE', 'signature="', 'eyJ'];
  for (const text of stderrs) for (const secret of secrets) expect(text).not.toContain(secret);
});
