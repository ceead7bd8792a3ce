import { afterEach, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkKubeletConfig } from '../../src/doctor/checks/kubeletConfig.ts';
import { patternFinding } from '../../src/doctor/kubeletConfig/validate.ts';
import { nodeFs } from '../../src/doctor/nodeFs.ts';
import { removeFakeRoots, rootWith } from '../support/fakeRoot.ts';

const CONFIG = '/etc/kubernetes/credential-provider/config.yaml';
const NAME = 'credential-provider-oke';
const DEPLOYED = readFileSync(join(import.meta.dir, '../../deploy/credential-provider-config.yaml'), 'utf8');

afterEach(removeFakeRoots);

/** A valid config whose provider entry gets `extra` lines (indented for the entry). */
function config(extra = '', head = 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\n'): string {
  return `${head}providers:
  - name: ${NAME}
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    defaultCacheDuration: 55m
    matchImages:
      - "*.ocir.io"
${extra}`;
}

const check = (text: string) => checkKubeletConfig(nodeFs(rootWith({ [CONFIG]: text })), CONFIG, NAME);

describe('checkKubeletConfig', () => {
  test('the released config passes, and its entry is the value', async () => {
    const outcome = await check(DEPLOYED);
    expect(outcome.result.status).toBe('pass');
    expect(outcome.result.detail).toContain(`provider ${NAME}, credentialprovider.kubelet.k8s.io/v1, defaultCacheDuration 55m`);
    expect(outcome.value?.matchImages).toContain('*.ocir.io');
    expect(outcome.value?.env).toEqual([]);
  });

  test('the other config versions are accepted, and env and args come through', async () => {
    for (const version of ['v1beta1', 'v1alpha1']) {
      const text = config('    env:\n      - name: TOKEN_VALIDATION\n        value: "enabled"\n    args: ["-config", "/etc/cpo.yaml"]\n', `apiVersion: kubelet.config.k8s.io/${version}\nkind: CredentialProviderConfig\n`);
      const outcome = await check(text);
      expect(outcome.result.status).toBe('pass');
      expect(outcome.value?.env).toEqual([{ name: 'TOKEN_VALIDATION', value: 'enabled' }]);
      expect(outcome.value?.args).toEqual(['-config', '/etc/cpo.yaml']);
    }
  });

  const failing: [string, string, string][] = [
    ['not YAML', 'providers: [\n', 'is not valid YAML'],
    ['a duplicate key', config('    defaultCacheDuration: 1h\n'), 'is not valid YAML'],
    ['the wrong kind', config('', 'apiVersion: kubelet.config.k8s.io/v1\nkind: KubeletConfiguration\n'), 'kind is "KubeletConfiguration"'],
    ['an unknown config version', config('', 'apiVersion: kubelet.config.k8s.io/v2\nkind: CredentialProviderConfig\n'), 'apiVersion is "kubelet.config.k8s.io/v2"'],
    ['an unknown top-level field', `${config()}extra: 1\n`, 'unknown field "extra"'],
    ['an unknown provider field', config('    cacheDuration: 1h\n'), 'unknown field "cacheDuration"'],
    ['no providers', 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n', 'providers must be a non-empty list'],
    ['an unsupported provider apiVersion', config().replace('credentialprovider.kubelet.k8s.io/v1', 'credentialprovider.kubelet.k8s.io/v2'), 'apiVersion "credentialprovider.kubelet.k8s.io/v2" is not supported'],
    ['no defaultCacheDuration', config().replace('    defaultCacheDuration: 55m\n', ''), 'defaultCacheDuration is missing'],
    ['a numeric defaultCacheDuration', config().replace('55m', '0'), 'defaultCacheDuration 0'],
    ['a negative defaultCacheDuration', config().replace('55m', '"-1m"'), 'defaultCacheDuration "-1m"'],
    ['an unquoted boolean env value', config('    env:\n      - name: TOKEN_VALIDATION\n        value: false\n'), 'env must be a list of {name, value} strings'],
    ['a pattern with a bad port', config('      - "fra.ocir.io:abc"\n'), 'matchImages "fra.ocir.io:abc" is not a valid host pattern'],
  ];
  for (const [what, text, detail] of failing) {
    test(`fails on ${what}`, async () => {
      const { result } = await check(text);
      expect(result.status).toBe('fail');
      expect(result.detail).toContain(detail);
      expect(result.fix).toContain('the kubelet refuses to start');
    });
  }

  test('fails when no provider has our name, listing the names there are', async () => {
    const { result } = await check(config().replace(`name: ${NAME}`, 'name: ecr-credential-provider'));
    expect(result.detail).toContain(`has no provider named ${NAME} (it names ecr-credential-provider)`);
    expect(result.fix).toContain('--provider-name');
  });

  test('fails when our provider is listed twice', async () => {
    const entry = config().split('providers:\n')[1];
    expect((await check(`${config()}${entry}`)).result.detail).toContain(`provider ${NAME} is configured 2 times`);
  });

  test('warns about patterns that can never match, and still yields the entry', async () => {
    const outcome = await check(config('      - "https://fra.ocir.io"\n      - "fra.ocir.io/*"\n'));
    expect(outcome.result.status).toBe('warn');
    expect(outcome.result.detail).toContain('"https://fra.ocir.io" has a scheme and never matches');
    expect(outcome.result.detail).toContain('"fra.ocir.io/*" has a glob in its path');
    expect(outcome.value?.matchImages).toHaveLength(3);
  });

  test('fails when the file is missing', async () => {
    const { result } = await checkKubeletConfig(nodeFs(rootWith({})), CONFIG, NAME);
    expect(result.detail).toBe(`${CONFIG} does not exist`);
    expect(result.fix).toContain('deploy/credential-provider-config.yaml');
  });

  test('reads a config directory (kubelet 1.34+): .yaml, .yml and .json files, in order', async () => {
    const dir = '/etc/kubernetes/credential-providers.d';
    const other = 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: other\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n    defaultCacheDuration: 1m\n    matchImages: ["*.example.com"]\n';
    const root = rootWith({ [`${dir}/10-other.yml`]: other, [`${dir}/20-oke.yaml`]: config(), [`${dir}/README.md`]: 'not config' });
    const outcome = await checkKubeletConfig(nodeFs(root), dir, NAME);
    expect(outcome.result.status).toBe('pass');
    expect(outcome.value?.file).toBe(`${dir}/20-oke.yaml`);
    const empty = rootWith({ [`${dir}/README.md`]: 'x' });
    expect((await checkKubeletConfig(nodeFs(empty), dir, NAME)).result.detail).toContain('holds no .yaml, .yml or .json file');
  });
});

describe('patternFinding', () => {
  test('host patterns, with or without a literal path, are fine', () => {
    for (const pattern of ['*.ocir.io', 'ocir.*.oci.oraclecloud.com', 'fra.ocir.io/ns', '127.0.0.1:5000']) expect(patternFinding(pattern)).toBeUndefined();
  });
});
