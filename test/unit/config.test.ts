import { describe, expect, test } from 'bun:test';
import { loadSettings, settingsFromEnv, settingsFromYaml } from '../../src/config/load.ts';
import { credentialCacheDirFromEnv, DEFAULT_SETTINGS } from '../../src/config/settings.ts';
import { ProviderError } from '../../src/errors.ts';

async function configError(fn: () => unknown): Promise<ProviderError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe('ERR_CONFIG_INVALID');
    return error as ProviderError;
  }
  throw new Error('expected a config error');
}

describe('defaults are the original plugin’s', () => {
  test('empty environment', () => {
    expect(settingsFromEnv({})).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toMatchObject({
      registryProtocol: 'https',
      registryTokenPath: '/20180419/docker/token',
      ocirAuthMethod: 'INSTANCE_PRINCIPAL',
      defaultUser: 'BEARER_TOKEN',
    });
  });
  test('empty YAML file and empty env values', async () => {
    expect(await settingsFromYaml('', 'c.yaml')).toEqual(DEFAULT_SETTINGS);
    expect(settingsFromEnv({ REGISTRY_PROTOCOL: '', OCIR_AUTH_METHOD: '  ' })).toEqual(DEFAULT_SETTINGS);
  });
});

describe('environment', () => {
  test('every setting', () => {
    const s = settingsFromEnv({
      REGISTRY_TOKEN_PATH: '/custom/token',
      DEFAULT_USER: 'someone',
      REGISTRY_PROTOCOL: 'HTTP',
      OCIR_AUTH_METHOD: 'user_principal',
      TOKEN_VALIDATION: 'enabled',
      REGISTRY_HOSTS: 'registry.example.com, 127.0.0.1:5000',
      REALM_DOMAINS: 'Example-Sovereign.com',
      EXEC_TIMEOUT: '45s',
      LOG_LEVEL: 'DEBUG',
      LOG_FILE: '/var/log/cpo.log',
      CREDENTIAL_CACHE_DIR: '/run/cpo-cache',
      WORKLOAD_IDENTITY_ENDPOINT: 'https://10.0.0.1:12250/',
      WORKLOAD_IDENTITY_CA_FILE: '/etc/kubernetes/ca.crt',
      SERVICE_ACCOUNT_FALLBACK: 'None',
    });
    expect(s).toEqual({
      registryTokenPath: '/custom/token',
      defaultUser: 'someone',
      registryProtocol: 'http',
      ocirAuthMethod: 'USER_PRINCIPAL',
      tokenValidation: true,
      registryHosts: ['registry.example.com', '127.0.0.1:5000'],
      realmDomains: ['example-sovereign.com'],
      execTimeoutMs: 45_000,
      logLevel: 'debug',
      logFile: '/var/log/cpo.log',
      credentialCacheDir: '/run/cpo-cache',
      workloadIdentityEndpoint: 'https://10.0.0.1:12250',
      workloadIdentityCaFile: '/etc/kubernetes/ca.crt',
      serviceAccountFallback: 'none',
      ignored: [],
    });
  });
  const bad: [Record<string, string>, string][] = [
    [{ REGISTRY_PROTOCOL: 'ftp' }, 'REGISTRY_PROTOCOL'],
    [{ OCIR_AUTH_METHOD: 'API_KEY' }, 'OCIR_AUTH_METHOD'],
    [{ TOKEN_VALIDATION: 'maybe' }, 'TOKEN_VALIDATION'],
    [{ REGISTRY_TOKEN_PATH: 'no-slash' }, 'REGISTRY_TOKEN_PATH'],
    [{ REGISTRY_HOSTS: 'https://registry.example.com' }, 'REGISTRY_HOSTS'],
    [{ REGISTRY_HOSTS: 'registry.example.com/*' }, 'REGISTRY_HOSTS'],
    [{ REGISTRY_HOSTS: 'registry.example.com, *.*.0.1:5000' }, 'REGISTRY_HOSTS'],
    [{ REGISTRY_HOSTS: '[::*]:5000' }, 'REGISTRY_HOSTS'],
    [{ REALM_DOMAINS: 'not a domain' }, 'REALM_DOMAINS'],
    [{ EXEC_TIMEOUT: '90s' }, 'EXEC_TIMEOUT'],
    [{ EXEC_TIMEOUT: '1d' }, 'EXEC_TIMEOUT'],
    [{ DEFAULT_USER: 'a b' }, 'DEFAULT_USER'],
    [{ OCIR_AUTH_METHOD: 'WORKLOAD_IDENTITY' }, 'OCIR_AUTH_METHOD'],
    [{ WORKLOAD_IDENTITY_ENDPOINT: 'http://10.0.0.1:12250' }, 'WORKLOAD_IDENTITY_ENDPOINT'],
    [{ WORKLOAD_IDENTITY_ENDPOINT: '10.0.0.1:12250' }, 'WORKLOAD_IDENTITY_ENDPOINT'],
    [{ WORKLOAD_IDENTITY_ENDPOINT: 'https://10.0.0.1:12250/resourcePrincipalSessionTokens' }, 'WORKLOAD_IDENTITY_ENDPOINT'],
    [{ WORKLOAD_IDENTITY_ENDPOINT: 'https://user:pw@10.0.0.1:12250' }, 'WORKLOAD_IDENTITY_ENDPOINT'],
    [{ WORKLOAD_IDENTITY_CA_FILE: 'ca.crt' }, 'WORKLOAD_IDENTITY_CA_FILE'],
    [{ SERVICE_ACCOUNT_FALLBACK: 'instance' }, 'SERVICE_ACCOUNT_FALLBACK'],
  ];
  for (const [env, key] of bad) {
    test(`invalid ${key}=${Object.values(env)[0]} names the variable`, async () => {
      const error = await configError(() => settingsFromEnv(env));
      expect(error.message).toStartWith(key);
      expect(error.details.key).toBe(key);
    });
  }
});

test('RESOURCE_PRINCIPAL is an auth method; workload identity settings default to the node fallback and no endpoint', () => {
  expect(settingsFromEnv({ OCIR_AUTH_METHOD: 'resource_principal' }).ocirAuthMethod).toBe('RESOURCE_PRINCIPAL');
  expect(DEFAULT_SETTINGS).toMatchObject({ serviceAccountFallback: 'node', workloadIdentityEndpoint: undefined, workloadIdentityCaFile: undefined });
});

test('an unusable log level, log file or cache directory falls back and says so, never failing the exec', async () => {
  const s = settingsFromEnv({ LOG_LEVEL: 'loud', LOG_FILE: 'relative.log', CREDENTIAL_CACHE_DIR: 'cache' });
  expect(s.logLevel).toBe('warn');
  expect(s.logFile).toBeUndefined();
  expect(s.credentialCacheDir).toBeUndefined();
  expect(s.ignored).toEqual([
    'LOG_LEVEL must be one of error, warn, info, debug; ignored',
    'LOG_FILE must be an absolute path; ignored',
    'CREDENTIAL_CACHE_DIR must be an absolute path, or none to turn the cache off; ignored',
  ]);
  expect((await settingsFromYaml('logFile: 5\n', '/etc/cpo.yaml')).ignored).toEqual(['logFile in /etc/cpo.yaml must be a string, not number 5; ignored']);
  expect(settingsFromEnv({}).ignored).toEqual([]);
});

test('CREDENTIAL_CACHE_DIR=none turns the cache off', () => {
  expect(settingsFromEnv({ CREDENTIAL_CACHE_DIR: 'none' }).credentialCacheDir).toBeUndefined();
  expect(DEFAULT_SETTINGS.credentialCacheDir).toBe('/var/lib/kubelet/credential-provider-oke');
});

describe('YAML', () => {
  test('the original keys plus ours, with YAML types', async () => {
    const s = await settingsFromYaml(
      'registryTokenPath: /20180419/docker/token\ndefaultUser: BEARER_TOKEN\nregistryProtocol: https\nocirAuthMethod: INSTANCE_PRINCIPAL\ntokenValidation: true\nregistryHosts:\n  - "*.corp.example"\nexecTimeout: 30\n',
      'c.yaml',
    );
    expect(s.tokenValidation).toBe(true);
    expect(s.registryHosts).toEqual(['*.corp.example']);
    expect(s.execTimeoutMs).toBe(30_000);
  });
  test('workload identity settings', async () => {
    const s = await settingsFromYaml(
      'workloadIdentityEndpoint: https://proxymux.example:12250\nworkloadIdentityCaFile: /etc/kubernetes/ca.crt\nserviceAccountFallback: none\n',
      'c.yaml',
    );
    expect(s).toMatchObject({
      workloadIdentityEndpoint: 'https://proxymux.example:12250',
      workloadIdentityCaFile: '/etc/kubernetes/ca.crt',
      serviceAccountFallback: 'none',
    });
  });
  test('tokenValidation: enabled, as the original documents it', async () => {
    expect((await settingsFromYaml('tokenValidation: enabled', 'c.yaml')).tokenValidation).toBe(true);
  });
  const bad: [string, string][] = [
    ['registryProtocl: https', 'registryProtocl'],
    ['registryProtocol: [https]', 'registryProtocol'],
    ['tokenValidation: 3', 'tokenValidation'],
    ['registryHosts: 5', 'registryHosts'],
    ['registryHosts: [1, 2]', 'registryHosts'],
    ['registryHosts: ["*.*.0.1:5000"]', 'registryHosts'],
    ['registryHosts: ["10.0.*.1"]', 'registryHosts'],
    ['ocirAuthMethod: true', 'ocirAuthMethod'],
    ['workloadIdentityEndpoint: 12250', 'workloadIdentityEndpoint'],
    ['workloadIdentityEndpoint: ftp://x', 'workloadIdentityEndpoint'],
    ['workloadIdentityCaFile: [a]', 'workloadIdentityCaFile'],
    ['serviceAccountFallback: false', 'serviceAccountFallback'],
  ];
  for (const [yaml, key] of bad) {
    test(`${yaml} names ${key}`, async () => {
      const error = await configError(() => settingsFromYaml(yaml, '/etc/cpo.yaml'));
      expect(error.message).toContain(key);
      expect(error.message).toContain('/etc/cpo.yaml');
    });
  }
  test('not a mapping, invalid YAML, duplicate keys', async () => {
    expect((await configError(() => settingsFromYaml('- a\n- b', 'c.yaml'))).message).toContain('mapping');
    expect((await configError(() => settingsFromYaml('a: [', 'c.yaml'))).message).toContain('not valid YAML');
    expect((await configError(() => settingsFromYaml('defaultUser: a\ndefaultUser: b', 'c.yaml'))).message).toContain('not valid YAML');
  });
});

describe('YAML beyond plain data is refused, naming the key', () => {
  const cases: [string, string, string][] = [
    ['an unknown tag', 'defaultUser: !!js/function "x"', 'defaultUser in /etc/cpo.yaml has the YAML tag !!js/function'],
    ['a local tag', 'defaultUser: !foo x', 'defaultUser in /etc/cpo.yaml has the YAML tag !foo'],
    ['even a standard tag', 'defaultUser: !!str BEARER_TOKEN', 'defaultUser in /etc/cpo.yaml has the YAML tag !!str'],
    ['a tag on a list item', 'registryHosts: [a.example, !!binary aGk=]', 'registryHosts[1] in /etc/cpo.yaml has the YAML tag !!binary'],
    ['a tag on the whole document', '!!map\ndefaultUser: x', '-config in /etc/cpo.yaml has the YAML tag !!map'],
    ['an anchor', 'defaultUser: &u x\n', 'defaultUser in /etc/cpo.yaml has the YAML anchor &u'],
    ['an alias', 'registryHosts: [a.example]\nrealmDomains: *h\n', 'realmDomains in /etc/cpo.yaml is the alias *h'],
    ['a key that is a list', '? [a]\n: 1\n', '-config in /etc/cpo.yaml has a key that is not a string (a list)'],
  ];
  for (const [name, yaml, message] of cases) {
    test(name, async () => {
      const error = await configError(() => settingsFromYaml(yaml, '/etc/cpo.yaml'));
      expect(error.message).toBe(`${message}; only plain values, mappings and lists are allowed`);
    });
  }
  test('a second document is an error, not ignored', async () => {
    const error = await configError(() => settingsFromYaml('defaultUser: a\n---\nregistryProtocol: http\n', '/etc/cpo.yaml'));
    expect(error.message).toBe('the config file /etc/cpo.yaml holds 2 YAML documents; expected one');
  });
  test('quoted scalars and flow lists stay allowed', async () => {
    const s = await settingsFromYaml('defaultUser: "BEARER_TOKEN"\nregistryHosts: [\'a.example\', "b.example"]\n', 'c.yaml');
    expect(s.defaultUser).toBe('BEARER_TOKEN');
    expect(s.registryHosts).toEqual(['a.example', 'b.example']);
  });
});

test('-config wins over the environment, as in the original', async () => {
  const settings = await loadSettings({
    configPath: '/c.yaml',
    env: { REGISTRY_PROTOCOL: 'http' },
    files: { readText: () => Promise.resolve('defaultUser: fromyaml') },
  });
  expect(settings.registryProtocol).toBe('https');
  expect(settings.defaultUser).toBe('fromyaml');
});

test('a missing -config file names the path', async () => {
  const error = await loadSettings({
    configPath: '/nope.yaml',
    env: {},
    files: { readText: () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOENT' })) },
  }).then(
    () => undefined,
    (e: unknown) => e as ProviderError,
  );
  if (error === undefined) throw new Error('expected an error');
  expect(error.code).toBe('ERR_CONFIG_INVALID');
  expect(error.message).toContain('/nope.yaml (ENOENT)');
});

describe('credentialCacheDirFromEnv: where the warm answer looks is where the settings say the cache is', () => {
  for (const value of [undefined, '', '  ', 'none', ' none ', '/var/cache/cpo', ' /var/cache/cpo ', 'relative/dir', '~/cache']) {
    test(JSON.stringify(value ?? null), () => {
      const env = value === undefined ? {} : { CREDENTIAL_CACHE_DIR: value };
      expect(credentialCacheDirFromEnv(env)).toBe(settingsFromEnv(env).credentialCacheDir);
    });
  }
});
