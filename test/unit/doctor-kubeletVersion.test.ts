import { describe, expect, test } from 'bun:test';
import { checkKubeletVersion, featureGateFromArgv, parseKubeletVersion, SA_TOKEN_GATE, type KubeletVersionInput } from '../../src/doctor/checks/kubeletVersion.ts';
import type { ProviderEntry } from '../../src/doctor/kubeletConfig/validate.ts';

const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const entry = (over: Partial<ProviderEntry> = {}): ProviderEntry => ({
  file: '/c.yaml',
  apiVersion: V1,
  defaultCacheDuration: '55m',
  matchImages: ['*.ocir.io'],
  args: [],
  env: [],
  configApiVersion: 'kubelet.config.k8s.io/v1',
  ...over,
});
const WITH_CACHE_TYPE = { serviceAccountTokenAudience: 'oke-workload-identity', cacheType: 'ServiceAccount', requireServiceAccount: false };
const WITHOUT_CACHE_TYPE = { serviceAccountTokenAudience: 'oke-workload-identity', requireServiceAccount: false };
const version = (text: string) => parseKubeletVersion(`Kubernetes ${text}`);
const check = (over: Partial<KubeletVersionInput>) =>
  checkKubeletVersion({ version: version('v1.34.1'), provider: entry(), configIsDirectory: false, saTokenGate: undefined, source: '/proc/1/exe --version', ...over });

describe('parseKubeletVersion', () => {
  test('reads kubelet --version, vendor suffixes included', () => {
    expect(parseKubeletVersion('Kubernetes v1.33.2\n')).toEqual({ major: 1, minor: 33, text: 'v1.33.2' });
    expect(parseKubeletVersion('Kubernetes v1.31.1-eks-1e6d8f0')).toEqual({ major: 1, minor: 31, text: 'v1.31.1-eks-1e6d8f0' });
    expect(parseKubeletVersion('kubelet: unknown flag --version')).toBeUndefined();
    expect(parseKubeletVersion('')).toBeUndefined();
  });
});

describe('checkKubeletVersion', () => {
  const rows: readonly { name: string; input: Partial<KubeletVersionInput>; status: 'pass' | 'warn' | 'fail'; says: string }[] = [
    { name: '1.32 with tokenAttributes: unknown field, the kubelet does not start', input: { version: version('v1.32.4'), provider: entry({ tokenAttributes: WITHOUT_CACHE_TYPE }) }, status: 'fail', says: 'tokenAttributes is an unknown field before 1.33' },
    { name: '1.30 with tokenAttributes', input: { version: version('v1.30.0'), provider: entry({ tokenAttributes: WITH_CACHE_TYPE }) }, status: 'fail', says: 'unknown field before 1.33' },
    { name: '1.33 with cacheType: unknown in 1.33', input: { version: version('v1.33.1'), provider: entry({ tokenAttributes: WITH_CACHE_TYPE }), saTokenGate: true }, status: 'fail', says: 'tokenAttributes.cacheType is an unknown field before 1.34' },
    { name: '1.34 without cacheType: required', input: { version: version('v1.34.0'), provider: entry({ tokenAttributes: WITHOUT_CACHE_TYPE }) }, status: 'fail', says: 'tokenAttributes.cacheType is required from 1.34' },
    { name: '1.34 with the gate turned off', input: { version: version('v1.34.0'), provider: entry({ tokenAttributes: WITH_CACHE_TYPE }), saTokenGate: false }, status: 'fail', says: `${SA_TOKEN_GATE}=false` },
    { name: '1.33 with the gate off on the command line', input: { version: version('v1.33.0'), provider: entry({ tokenAttributes: WITHOUT_CACHE_TYPE }), saTokenGate: false }, status: 'fail', says: `${SA_TOKEN_GATE}=false` },
    { name: '1.33 without the gate on the command line: it may be in the KubeletConfiguration', input: { version: version('v1.33.0'), provider: entry({ tokenAttributes: WITHOUT_CACHE_TYPE }) }, status: 'warn', says: 'alpha, off by default in 1.33' },
    { name: '1.33 with the gate on', input: { version: version('v1.33.3'), provider: entry({ tokenAttributes: WITHOUT_CACHE_TYPE }), saTokenGate: true }, status: 'pass', says: 'kubelet v1.33.3 (/proc/1/exe --version) accepts' },
    { name: '1.34 with cacheType (gate on by default)', input: { version: version('v1.34.1'), provider: entry({ tokenAttributes: WITH_CACHE_TYPE }) }, status: 'pass', says: 'accepts' },
    { name: '1.36 with cacheType', input: { version: version('v1.36.0'), provider: entry({ tokenAttributes: WITH_CACHE_TYPE }) }, status: 'pass', says: 'accepts' },
    { name: 'no tokenAttributes on 1.28', input: { version: version('v1.28.5') }, status: 'pass', says: 'accepts' },
    { name: 'a v1 CredentialProviderConfig on 1.25', input: { version: version('v1.25.9'), provider: entry({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1' }) }, status: 'fail', says: 'CredentialProviderConfig kubelet.config.k8s.io/v1 needs kubelet 1.26+' },
    { name: 'a v1 provider apiVersion on 1.25', input: { version: version('v1.25.9'), provider: entry({ configApiVersion: 'kubelet.config.k8s.io/v1beta1' }) }, status: 'fail', says: `provider apiVersion ${V1} needs kubelet 1.26+` },
    { name: 'v1beta1 everywhere on 1.25', input: { version: version('v1.25.9'), provider: entry({ configApiVersion: 'kubelet.config.k8s.io/v1beta1', apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1' }) }, status: 'pass', says: 'accepts' },
    { name: 'a config directory on 1.33', input: { version: version('v1.33.0'), configIsDirectory: true }, status: 'fail', says: 'a config directory is read only from 1.34' },
    { name: 'a config directory on 1.34', input: { version: version('v1.34.0'), configIsDirectory: true }, status: 'pass', says: 'accepts' },
    { name: 'unknown version: WARN, never FAIL, even with tokenAttributes', input: { version: undefined, versionProblem: '/proc/1/exe --version failed: EACCES', provider: entry({ tokenAttributes: WITH_CACHE_TYPE }) }, status: 'warn', says: 'cannot tell the running kubelet\'s version (/proc/1/exe --version failed: EACCES)' },
    { name: 'the config check failed: the version alone passes', input: { version: version('v1.31.0'), provider: undefined }, status: 'pass', says: 'accepts' },
  ];
  for (const row of rows) {
    test(`${row.status.toUpperCase()}: ${row.name}`, () => {
      const result = check(row.input);
      expect(result.name).toBe('kubelet version');
      expect(result.status).toBe(row.status);
      expect(result.detail).toContain(row.says);
      if (row.status !== 'pass') expect(result.fix).toBeString();
    });
  }
});

describe('featureGateFromArgv', () => {
  const gate = SA_TOKEN_GATE;
  test('reads --feature-gates as pflag does: both spellings, repeated flags merge, last mention wins', () => {
    expect(featureGateFromArgv(['/usr/bin/kubelet', `--feature-gates=A=true,${gate}=true`], gate)).toBe(true);
    expect(featureGateFromArgv(['/usr/bin/kubelet', '--feature-gates', `${gate}=false`], gate)).toBe(false);
    expect(featureGateFromArgv(['/usr/bin/kubelet', `--feature_gates=${gate}=true`, '--feature-gates=B=false'], gate)).toBe(true);
    expect(featureGateFromArgv(['/usr/bin/kubelet', `--feature-gates=${gate}=true`, `--feature-gates=${gate}=False`], gate)).toBe(false);
    expect(featureGateFromArgv(['/usr/bin/kubelet', '--feature-gates=A=true'], gate)).toBeUndefined();
    expect(featureGateFromArgv(['/usr/bin/kubelet', '--', `--feature-gates=${gate}=true`], gate)).toBeUndefined();
  });
});
