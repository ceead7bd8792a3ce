import { parseArgs } from '../../src/cli/args.ts';
import { afterEach, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSettings } from '../../src/doctor/checks/settings.ts';
import type { ProviderEntry } from '../../src/doctor/kubeletConfig/validate.ts';
import { nodeFs } from '../../src/doctor/nodeFs.ts';
import type { FileReader } from '../../src/runtime.ts';
import { removeFakeRoots, rootWith } from '../support/fakeRoot.ts';

const configPathOf = (args: readonly string[]): string | undefined => parseArgs(args).configPath;

afterEach(removeFakeRoots);

const files: FileReader = { readText: (path) => Promise.resolve(readFileSync(path, 'utf8')) };
function entry(over: Partial<ProviderEntry> = {}): ProviderEntry {
  return { file: '/c.yaml', apiVersion: 'credentialprovider.kubelet.k8s.io/v1', configApiVersion: 'kubelet.config.k8s.io/v1', defaultCacheDuration: '55m', matchImages: ['*.ocir.io'], args: [], env: [], ...over };
}

describe('checkSettings', () => {
  test('without a kubelet config entry: the process environment', async () => {
    const outcome = await checkSettings({ configPathOf, cliConfigPath: undefined, provider: undefined, env: { TOKEN_VALIDATION: 'enabled' }, files, fs: nodeFs(rootWith({})) });
    expect(outcome.result.status).toBe('pass');
    expect(outcome.result.detail).toBe('from the environment: INSTANCE_PRINCIPAL, registry https, token validation enabled');
  });

  test("the kubelet config's env is added to the environment and wins, as the kubelet passes it", async () => {
    const provider = entry({ env: [{ name: 'OCIR_AUTH_METHOD', value: 'USER_PRINCIPAL' }, { name: 'REGISTRY_HOSTS', value: 'reg.example.com' }] });
    const outcome = await checkSettings({ configPathOf, cliConfigPath: undefined, provider, env: { OCIR_AUTH_METHOD: 'INSTANCE_PRINCIPAL', HOME: '/root' }, files, fs: nodeFs(rootWith({})) });
    expect(outcome.result.detail).toBe("from the environment with the kubelet config's env: USER_PRINCIPAL, registry https, token validation disabled, registryHosts reg.example.com");
    expect(outcome.value?.env).toMatchObject({ OCIR_AUTH_METHOD: 'USER_PRINCIPAL', HOME: '/root' });
  });

  test("-config in the entry's args is read under the root", async () => {
    const root = rootWith({ '/etc/cpo/settings.yaml': 'registryProtocol: http\n' });
    const outcome = await checkSettings({ configPathOf, cliConfigPath: undefined, provider: entry({ args: ['-config', '/etc/cpo/settings.yaml'] }), env: {}, files, fs: nodeFs(root) });
    expect(outcome.result.status).toBe('pass');
    expect(outcome.result.detail).toContain("-config /etc/cpo/settings.yaml (from the kubelet config's args)");
    expect(outcome.value?.settings.registryProtocol).toBe('http');
  });

  test("doctor's own -config wins over the entry", async () => {
    const root = rootWith({ '/mine.yaml': 'tokenValidation: enabled\n' });
    const outcome = await checkSettings({ configPathOf, cliConfigPath: join(root, 'mine.yaml'), provider: entry({ args: ['-config', '/nope.yaml'] }), env: {}, files, fs: nodeFs(root) });
    expect(outcome.value?.settings.tokenValidation).toBe(true);
  });

  test('fails on an invalid setting, naming it', async () => {
    const outcome = await checkSettings({ configPathOf, cliConfigPath: undefined, provider: entry({ env: [{ name: 'REGISTRY_PROTOCOL', value: 'ftp' }] }), env: {}, files, fs: nodeFs(rootWith({})) });
    expect(outcome.result.status).toBe('fail');
    expect(outcome.result.detail).toContain('REGISTRY_PROTOCOL must be https or http');
    expect(outcome.value).toBeUndefined();
  });

  test('fails on a wildcard in an IP address in REGISTRY_HOSTS: doctor shares the provider\'s rule', async () => {
    const provider = entry({ env: [{ name: 'REGISTRY_HOSTS', value: '*.*.0.1:5000' }] });
    const outcome = await checkSettings({ configPathOf, cliConfigPath: undefined, provider, env: {}, files, fs: nodeFs(rootWith({})) });
    expect(outcome.result.status).toBe('fail');
    expect(outcome.result.detail).toContain('REGISTRY_HOSTS entry "*.*.0.1:5000" is unusable: is an IP address with a wildcard');
  });

  test("fails when the entry's -config file is missing or its args are not the provider's", async () => {
    const missing = await checkSettings({ configPathOf, cliConfigPath: undefined, provider: entry({ args: ['-config', '/nope.yaml'] }), env: {}, files, fs: nodeFs(rootWith({})) });
    expect(missing.result.detail).toContain('cannot read the config file /nope.yaml');
    const bad = await checkSettings({ configPathOf, cliConfigPath: undefined, provider: entry({ args: ['--frob'] }), env: {}, files, fs: nodeFs(rootWith({})) });
    expect(bad.result.status).toBe('fail');
    expect(bad.result.detail).toContain('unknown flag --frob');
  });
});
