import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { md5Fingerprint } from '../../src/oci/keys.ts';
import { startEmulator, type Emulator, type PrincipalInfo } from '../emulator/index.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider, type ProviderRun, expectOneLineFailure } from '../support/runProvider.ts';

/**
 * The identities besides the instance principal, run as the kubelet runs the provider against the
 * strict emulator: OCI config profiles (API key and `security_token_file` session token, each
 * misconfiguration with its own error) and the resource principal v2.2 environment.
 */
const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const PASSPHRASE = 'correct horse';

let emulator: Emulator;
let tmp: string;
const stderrs: string[] = [];
// One key for the whole file: RSA generation dominates otherwise.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const plainPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const encryptedPem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }) as string;

beforeAll(async () => {
  emulator = await startEmulator();
  tmp = mkdtempSync(join(tmpdir(), 'cpo-identities-'));
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

let fileCount = 0;
/** Writes `text` to a fresh file (0600) and returns its path. */
function file(name: string, text: string): string {
  const path = join(tmp, `${++fileCount}-${name}`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

async function run(env: Record<string, string>): Promise<ProviderRun> {
  const result = await runProvider({ env: { ...emulator.env(), ...env }, stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`) });
  stderrs.push(result.stderr);
  return result;
}

/** The principal OCIR issued the answer's docker token to. */
function acceptedBy(result: ProviderRun): PrincipalInfo | undefined {
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
  const answer = JSON.parse(result.stdout) as { auth: Record<string, { password: string }> };
  return emulator.dockerTokenPrincipal(answer.auth[emulator.registryHost]!.password);
}

const failure = expectOneLineFailure;

describe('OCI config file: session token profile (oci session authenticate)', () => {
  test('security_token_file and key_file sign as ST$<token>; OCIR sees the user', async () => {
    const userId = 'ocid1.user.oc1..sessionuser';
    const token = await emulator.issueSessionToken(publicKey, { userId });
    const config = file('config', `[SESSION]\nfingerprint=${md5Fingerprint(publicKey)}\nkey_file=${file('key.pem', plainPem)}\ntenancy=${emulator.tenancyId}\nregion=eu-frankfurt-1\nsecurity_token_file=${file('token', `${token}\n`)}\n`);
    const principal = acceptedBy(await run({ OCIR_AUTH_METHOD: 'USER_PRINCIPAL', OCI_CONFIG_FILE: config, OCI_CLI_PROFILE: 'SESSION' }));
    expect(principal).toEqual({ type: 'user', id: userId, tenancyId: emulator.tenancyId });
    expect(emulator.calls('auth.x509')).toBe(0);
  });
});

describe('OCI config file: each misconfiguration has its own error, and nothing is called', () => {
  const userId = 'ocid1.user.oc1..e2eapikey';
  let fingerprint: string;
  beforeAll(() => {
    fingerprint = emulator.registerApiKey(userId, publicKey);
  });
  const profile = (lines: Record<string, string>) =>
    `[DEFAULT]\n${Object.entries(lines)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`;
  const apiKey = (extra: Record<string, string> = {}) => ({ user: userId, fingerprint, tenancy: emulator.tenancyId, key_file: file('key.pem', plainPem), ...extra });
  const principal = (config: string, extra: Record<string, string> = {}) => run({ OCIR_AUTH_METHOD: 'USER_PRINCIPAL', OCI_CONFIG_FILE: config, ...extra });

  test('the working profile, with an encrypted key and its pass_phrase', async () => {
    const config = file('config', profile(apiKey({ key_file: file('enc.pem', encryptedPem), pass_phrase: PASSPHRASE })));
    expect(acceptedBy(await principal(config))).toMatchObject({ type: 'user', id: userId });
  });

  const cases: [string, () => Promise<ProviderRun>, RegExp][] = [
    ['missing config file', () => principal(join(tmp, 'no-such-config')), /the OCI config file .*no-such-config \(named by OCI_CONFIG_FILE\) does not exist/],
    ['missing profile', () => principal(file('config', profile(apiKey())), { OCI_CLI_PROFILE: 'PROD' }), /has no profile \[PROD\]; it has \[DEFAULT\]/],
    ['key_file absent from the profile', () => principal(file('config', profile({ ...apiKey(), key_file: '' }))), /profile \[DEFAULT\] of .* lacks key_file/],
    ['key_file that does not exist', () => principal(file('config', profile(apiKey({ key_file: join(tmp, 'gone.pem') })))), /key_file .*gone\.pem of profile \[DEFAULT\] .* does not exist/],
    ['wrong passphrase', () => principal(file('config', profile(apiKey({ key_file: file('enc.pem', encryptedPem), pass_phrase: 'wrong' })))), /cannot decrypt the private key .*: wrong passphrase/],
    ['encrypted key without a passphrase', () => principal(file('config', profile(apiKey({ key_file: file('enc.pem', encryptedPem) })))), /is an encrypted private key and no passphrase was given/],
    ['fingerprint mismatch', () => principal(file('config', profile(apiKey({ fingerprint: '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff' })))), /the fingerprint in profile \[DEFAULT\] .* is 00:11:.*, but key_file .* has fingerprint /],
    [
      'expired session token',
      async () => {
        const expired = await emulator.issueSessionToken(publicKey, { issuedAtMs: Date.now() - 2 * 3600_000, lifetimeSeconds: 3600 });
        return principal(file('config', profile({ tenancy: emulator.tenancyId, key_file: file('key.pem', plainPem), security_token_file: file('token', expired) })));
      },
      /the session token in security_token_file .* expired at /,
    ],
  ];
  for (const [name, act, message] of cases) {
    test(name, async () => {
      const line = failure(await act(), 'ERR_OCI_CONFIG');
      expect(line).toMatch(message);
      expect(emulator.calls()).toBe(0);
    });
  }

  test('the messages are pairwise distinct', () => {
    const lines = stderrs.filter((s) => s.includes('ERR_OCI_CONFIG')).map((s) => s.replace(/\/[^\s]*\d+-/g, '<path>'));
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.length).toBe(cases.length);
  });
});

describe('resource principal v2.2 environment', () => {
  const rpEnv = (extra: Record<string, string>) => ({ OCIR_AUTH_METHOD: 'RESOURCE_PRINCIPAL', OCI_RESOURCE_PRINCIPAL_VERSION: '2.2', OCI_RESOURCE_PRINCIPAL_REGION: 'eu-frankfurt-1', ...extra });

  test('the RPST and PEM as values: OCIR sees a resource principal, and the policy can tell', async () => {
    const rpst = await emulator.issueResourcePrincipalToken(publicKey, { resourceId: 'ocid1.fnfunc.oc1.eu-frankfurt-1.e2e' });
    emulator.setPolicy((p) => p.type === 'resource');
    const principal = acceptedBy(await run(rpEnv({ OCI_RESOURCE_PRINCIPAL_RPST: rpst, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: plainPem, TOKEN_VALIDATION: 'enabled' })));
    expect(principal).toEqual({ type: 'resource', id: 'ocid1.fnfunc.oc1.eu-frankfurt-1.e2e', tenancyId: emulator.tenancyId });
    expect(emulator.calls('ocir.manifest')).toBe(1);
    expect(emulator.calls('auth.x509')).toBe(0);
  });

  test('as absolute paths, with an encrypted PEM and a passphrase file', async () => {
    const rpst = await emulator.issueResourcePrincipalToken(publicKey);
    const principal = acceptedBy(
      await run(
        rpEnv({
          OCI_RESOURCE_PRINCIPAL_RPST: file('rpst', `${rpst}\n`),
          OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: file('rp.pem', encryptedPem),
          OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: file('pass', `${PASSPHRASE}\n`),
        }),
      ),
    );
    expect(principal?.type).toBe('resource');
  });

  test('misconfigurations name the variable and call nothing', async () => {
    const rpst = await emulator.issueResourcePrincipalToken(publicKey);
    const expired = await emulator.issueResourcePrincipalToken(publicKey, { issuedAtMs: Date.now() - 2 * 3600_000, lifetimeSeconds: 3600 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const cases: [Record<string, string>, RegExp][] = [
      [{ OCI_RESOURCE_PRINCIPAL_VERSION: '', OCI_RESOURCE_PRINCIPAL_RPST: rpst, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: plainPem }, /OCI_RESOURCE_PRINCIPAL_VERSION is not set/],
      [{ OCI_RESOURCE_PRINCIPAL_VERSION: '1.1', OCI_RESOURCE_PRINCIPAL_RPST: rpst, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: plainPem }, /is "1.1"; only 2.2 is supported/],
      [{ OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: plainPem }, /OCI_RESOURCE_PRINCIPAL_RPST is not set/],
      [{ OCI_RESOURCE_PRINCIPAL_RPST: rpst, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: encryptedPem, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: file('pass', PASSPHRASE) }, /must be the same kind/],
      [{ OCI_RESOURCE_PRINCIPAL_RPST: expired, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: plainPem }, /the RPST in OCI_RESOURCE_PRINCIPAL_RPST expired at /],
      [{ OCI_RESOURCE_PRINCIPAL_RPST: join(tmp, 'no-rpst'), OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: plainPem }, /no-rpst, named by OCI_RESOURCE_PRINCIPAL_RPST, does not exist/],
      [{ OCI_RESOURCE_PRINCIPAL_RPST: rpst, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: other }, /is not the key the RPST .* was issued for/],
      [{ OCI_RESOURCE_PRINCIPAL_RPST: rpst, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: encryptedPem, OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE: 'nope' }, /wrong passphrase/],
    ];
    for (const [env, message] of cases) {
      const line = failure(await run(rpEnv(env)), 'ERR_RESOURCE_PRINCIPAL');
      expect(line).toMatch(message);
    }
    expect(emulator.calls()).toBe(0);
  });
});

test('no token, key or passphrase ever reached stderr', () => {
  for (const text of stderrs) for (const secret of ['ST$', 'eyJ', 'BEGIN', 'MII', PASSPHRASE, 'signature="']) expect(text).not.toContain(secret);
});
