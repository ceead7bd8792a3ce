import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, type Settings } from '../../src/config/settings.ts';
import { checkDockerToken } from '../../src/doctor/checks/dockerToken.ts';
import { checkIdentity, type IdentityInput } from '../../src/doctor/checks/identity.ts';
import { checkImds } from '../../src/doctor/checks/imds.ts';
import { checkRepositoryAccess } from '../../src/doctor/checks/repositoryAccess.ts';
import { parseImage } from '../../src/kubelet/image.ts';
import { silentLogger } from '../../src/silentLogger.ts';
import { createDeadline } from '../../src/net/deadline.ts';
import { createFetchTransport, createHttpClient, type HttpClient } from '../../src/net/http.ts';
import type { Identity } from '../../src/identity/types.ts';
import { createRegionTable } from '../../src/oci/regions.ts';
import type { DockerToken } from '../../src/ocir/dockerToken.ts';
import { systemClock, type FileReader } from '../../src/runtime.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';

/** The network checks against the in-process emulator, each with the provider's HTTP client. */
let emulator: Emulator;
let tmp: string;
beforeAll(async () => {
  emulator = await startEmulator();
  tmp = mkdtempSync(join(tmpdir(), 'cpo-doctor-net-'));
});
afterAll(async () => {
  await emulator.stop();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.clearFaults();
  emulator.setPolicy((principal, repository) => repository.startsWith(`${emulator.namespace}/`) && principal.tenancyId === emulator.tenancyId);
});

const http = (): HttpClient => createHttpClient({ transport: createFetchTransport({}), deadline: createDeadline(systemClock, 20_000), clock: systemClock, log: silentLogger });
const files: FileReader = { readText: (path) => Promise.resolve(readFileSync(path, 'utf8')) };
const settings: Settings = { ...DEFAULT_SETTINGS, registryProtocol: 'http', registryHosts: [] };
const policy = () => ({ regions: createRegionTable(), extraRealmDomains: [], allowedHostPatterns: [emulator.registryHost] });
const identityInput = (over: Partial<IdentityInput> = {}): IdentityInput => ({
  settings,
  env: emulator.env(),
  http: http(),
  clock: systemClock,
  log: silentLogger,
  files,
  homeDir: undefined,
  regionMetadata: [],
  ...over,
});
async function instanceIdentity(): Promise<Identity> {
  const { value } = await checkIdentity(identityInput());
  if (value === undefined) throw new Error('federation failed');
  return value;
}
async function dockerToken(): Promise<DockerToken> {
  const { value } = await checkDockerToken({ registry: emulator.registryHost, identity: await instanceIdentity(), settings, policy: policy(), http: http(), clock: systemClock });
  if (value === undefined) throw new Error('no docker token');
  return value;
}

describe('IMDS', () => {
  const imds = (env = emulator.env(), authMethod: Settings['ocirAuthMethod'] = 'INSTANCE_PRINCIPAL') => checkImds({ http: http(), env, regionSources: {}, authMethod });

  test('passes with the region and its realm', async () => {
    const outcome = await imds();
    expect(outcome.result).toEqual({ name: 'IMDS', status: 'pass', detail: `${emulator.imdsBaseUrl} answered region fra (eu-frankfurt-1, realm oc1)` });
    expect(outcome.value?.region.regionKey).toBe('fra');
  });

  test('a region newer than this build is resolved through IMDS regionInfo', async () => {
    const regionInfo = { realmKey: 'oc99', realmDomainComponent: 'oraclecloud99.com', regionKey: 'xyz', regionIdentifier: 'xx-newcity-1' };
    const newer = await startEmulator({ region: 'xyz', regionInfo });
    try {
      const outcome = await imds(newer.env());
      expect(outcome.result.detail).toContain('region xyz (xx-newcity-1, realm oc99)');
      expect(outcome.value?.regionMetadata).toHaveLength(1);
    } finally {
      await newer.stop();
    }
  });

  test('fails with the status and the hint when IMDS refuses', async () => {
    emulator.inject('imds.region', { status: 401 });
    const { result } = await imds();
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('ERR_IMDS: IMDS GET /opc/v2/instance/region answered 401');
    expect(result.fix).toContain('IMDS v2 must be enabled');
  });

  test('fails when nothing listens, naming the base URL in the fix', async () => {
    const { result } = await imds({ OCI_METADATA_BASE_URL: 'http://127.0.0.1:9/opc/v2' });
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('could not connect');
    expect(result.fix).toContain('http://127.0.0.1:9/opc/v2');
  });

  test('only warns for USER_PRINCIPAL, which does not need IMDS', async () => {
    emulator.inject('imds.region', { status: 401 });
    const outcome = await imds(emulator.env(), 'USER_PRINCIPAL');
    expect(outcome.result.status).toBe('warn');
    expect(outcome.value).toBeUndefined();
  });
});

describe('identity', () => {
  test('an instance principal federates and shows tenancy and instance, never the token', async () => {
    const outcome = await checkIdentity(identityInput());
    expect(outcome.result.status).toBe('pass');
    expect(outcome.result.detail).toContain(`tenancy ${emulator.tenancyId}, instance ${emulator.instanceId}`);
    expect(outcome.result.detail).not.toContain('ST$');
    expect(outcome.result.detail).not.toContain('eyJ');
  });

  test('a refused federation fails with the auth service hint', async () => {
    emulator.inject('auth.x509', { status: 401 });
    const { result } = await checkIdentity(identityInput());
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('ERR_FEDERATION');
    expect(result.detail).toContain('status=401');
    expect(result.fix).toContain('clock');
  });

  test('USER_PRINCIPAL shows the API-key user and profile', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const userId = 'ocid1.user.oc1..doctor';
    const fingerprint = emulator.registerApiKey(userId, publicKey);
    const keyFile = join(tmp, 'key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const configFile = join(tmp, 'oci-config');
    writeFileSync(configFile, `[DEFAULT]\nuser=${userId}\nfingerprint=${fingerprint}\ntenancy=${emulator.tenancyId}\nkey_file=${keyFile}\n`);
    const input = identityInput({ settings: { ...settings, ocirAuthMethod: 'USER_PRINCIPAL' }, env: { ...emulator.env(), OCI_CONFIG_FILE: configFile } });
    const outcome = await checkIdentity(input);
    expect(outcome.result.detail).toBe(`USER_PRINCIPAL user:${userId}, tenancy ${emulator.tenancyId} (profile [DEFAULT] of ${configFile})`);
    const token = await checkDockerToken({ registry: emulator.registryHost, identity: outcome.value!, settings, policy: policy(), http: http(), clock: systemClock });
    expect(token.result.status).toBe('pass');
  });

  test('RESOURCE_PRINCIPAL shows the resource and proves a docker token', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rpst = await emulator.issueResourcePrincipalToken(publicKey);
    const env = {
      ...emulator.env(),
      OCI_RESOURCE_PRINCIPAL_VERSION: '2.2',
      OCI_RESOURCE_PRINCIPAL_RPST: rpst,
      OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const outcome = await checkIdentity(identityInput({ settings: { ...settings, ocirAuthMethod: 'RESOURCE_PRINCIPAL' }, env }));
    expect(outcome.result.status).toBe('pass');
    expect(outcome.result.detail).toStartWith('RESOURCE_PRINCIPAL resource:');
    expect(outcome.result.detail).not.toContain(rpst);
    const token = await checkDockerToken({ registry: emulator.registryHost, identity: outcome.value!, settings, policy: policy(), http: http(), clock: systemClock });
    expect(token.result.status).toBe('pass');
  });

  test('USER_PRINCIPAL without a config file fails naming it', async () => {
    const input = identityInput({ settings: { ...settings, ocirAuthMethod: 'USER_PRINCIPAL' }, env: { OCI_CONFIG_FILE: join(tmp, 'none') } });
    const { result } = await checkIdentity(input);
    expect(result.status).toBe('fail');
    expect(result.detail).toContain(`ERR_OCI_CONFIG: the OCI config file ${join(tmp, 'none')}`);
  });
});

describe('docker token', () => {
  test('is issued for the registry; the token is not shown', async () => {
    const outcome = await checkDockerToken({ registry: emulator.registryHost, identity: await instanceIdentity(), settings, policy: policy(), http: http(), clock: systemClock });
    expect(outcome.result.status).toBe('pass');
    expect(outcome.result.detail).toMatch(new RegExp(`^${emulator.registryHost} issued a docker token for instance:.*, valid 60 min$`));
    expect(outcome.result.detail).not.toContain(outcome.value!.token);
  });

  test('a host that is not OCIR nor allowed is refused before anything is signed', async () => {
    const calls = emulator.calls('ocir.token');
    const { result } = await checkDockerToken({ registry: 'registry.example.com', identity: await instanceIdentity(), settings, policy: policy(), http: http(), clock: systemClock });
    expect(result.detail).toBe('registry.example.com is not an OCIR host: the provider refuses to sign for it');
    expect(result.fix).toContain('REGISTRY_HOSTS');
    expect(emulator.calls('ocir.token')).toBe(calls);
  });

  test('a refused token request fails with the status and OCI code', async () => {
    const identity = await instanceIdentity();
    emulator.inject('ocir.token', { status: 401 });
    const { result } = await checkDockerToken({ registry: emulator.registryHost, identity, settings, policy: policy(), http: http(), clock: systemClock });
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('ERR_OCIR_TOKEN');
    expect(result.detail).toContain('status=401');
  });
});

describe('repository access', () => {
  const access = async (repo: string) =>
    checkRepositoryAccess({ image: parseImage(`${emulator.registryHost}/${repo}`), token: await dockerToken(), principal: 'instance:ocid1.instance.oc1..doctor', authMethod: 'INSTANCE_PRINCIPAL', protocol: 'http', http: http(), log: silentLogger });

  test('passes when the token can read the repository (also for a missing tag)', async () => {
    expect((await access(`${emulator.namespace}/app:1.0`)).result).toEqual({
      name: 'repository access',
      status: 'pass',
      detail: `the token can read ${emulator.registryHost}/${emulator.namespace}/app`,
    });
    expect((await access(`${emulator.namespace}/app:nope`)).result.status).toBe('pass');
  });

  test('fails naming read repos and the dynamic-group policy when IAM denies', async () => {
    emulator.denyAll();
    const { result } = await access(`${emulator.namespace}/app`);
    expect(result.status).toBe('fail');
    expect(result.detail).toBe(`OCIR refused to let instance:ocid1.instance.oc1..doctor read ${emulator.registryHost}/${emulator.namespace}/app: the IAM policy "read repos" is missing or not in effect yet`);
    expect(result.fix).toContain('Allow dynamic-group <group-matching-this-instance> to read repos in tenancy');
    expect(result.fix).toContain('docs/iam.md');
  });

  test('fails with the reason when OCIR gives no verdict', async () => {
    const token = await dockerToken();
    emulator.inject('ocir.manifest', { status: 500 });
    const { result } = await checkRepositoryAccess({ image: parseImage(`${emulator.registryHost}/${emulator.namespace}/app`), token, principal: 'user:ocid1.user.oc1..doctor', authMethod: 'USER_PRINCIPAL', protocol: 'http', http: http(), log: silentLogger });
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('could not tell');
    expect(result.detail).toContain('status=500');
  });
});
