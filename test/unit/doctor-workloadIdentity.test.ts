import { describe, expect, test } from 'bun:test';
import { checkWorkloadIdentity } from '../../src/doctor/checks/workloadIdentity.ts';
import type { ProviderEntry } from '../../src/doctor/kubeletConfig/validate.ts';
import { DEFAULT_SETTINGS, type Settings } from '../../src/config/settings.ts';

const entry = (tokenAttributes?: Record<string, unknown>): ProviderEntry => ({
  file: '/c.yaml',
  apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
  defaultCacheDuration: '55m',
  matchImages: ['*.ocir.io'],
  args: [],
  env: [],
  configApiVersion: 'kubelet.config.k8s.io/v1',
  ...(tokenAttributes === undefined ? {} : { tokenAttributes }),
});
const nodeFallback: Settings = { ...DEFAULT_SETTINGS, serviceAccountFallback: 'node' };
const noFallback: Settings = { ...DEFAULT_SETTINGS, serviceAccountFallback: 'none' };
const AUDIENCE = 'oke-workload-identity';
const ANNOTATION = 'oke.credential-provider.oracle.com/workload-identity';

describe('checkWorkloadIdentity: pods the kubelet skips get nothing, not the node identity', () => {
  test('no tokenAttributes: nothing to report', () => {
    expect(checkWorkloadIdentity(entry(), nodeFallback)).toBeUndefined();
    expect(checkWorkloadIdentity(undefined, nodeFallback)).toBeUndefined();
  });

  test('the documented config passes, and says what doctor cannot see (RBAC resourceNames)', () => {
    const result = checkWorkloadIdentity(entry({ serviceAccountTokenAudience: AUDIENCE, cacheType: 'ServiceAccount', requireServiceAccount: false, optionalServiceAccountAnnotationKeys: [ANNOTATION] }), nodeFallback);
    expect(result?.status).toBe('pass');
    expect(result?.detail).toContain(`the nodes may request "${AUDIENCE}" tokens for every service account (RBAC without resourceNames; doctor cannot see RBAC)`);
  });

  test('requireServiceAccount: true with the node fallback: WARN, static pods get nothing', () => {
    const result = checkWorkloadIdentity(entry({ serviceAccountTokenAudience: AUDIENCE, requireServiceAccount: true }), nodeFallback);
    expect(result?.status).toBe('warn');
    expect(result?.detail).toContain('never runs the provider for pods without a service account (requireServiceAccount: true)');
    expect(result?.detail).toContain('not the node identity');
    expect(result?.fix).toContain('requireServiceAccount: false');
  });

  test('a required annotation with the node fallback: WARN, accounts without it get nothing', () => {
    const result = checkWorkloadIdentity(entry({ serviceAccountTokenAudience: AUDIENCE, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: [ANNOTATION] }), nodeFallback);
    expect(result?.status).toBe('warn');
    expect(result?.detail).toContain(`pods whose service account lacks ${ANNOTATION} (requiredServiceAccountAnnotationKeys)`);
  });

  test('serviceAccountFallback none: nothing is promised to skipped pods, so no warning', () => {
    const result = checkWorkloadIdentity(entry({ serviceAccountTokenAudience: AUDIENCE, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: [ANNOTATION] }), noFallback);
    expect(result?.status).toBe('pass');
    expect(result?.detail).toContain('by design');
  });
});
