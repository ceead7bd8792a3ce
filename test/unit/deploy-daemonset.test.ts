import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { INSTALL_BIN_DIR, INSTALL_CONFIG_PATH } from '../../src/doctor/options.ts';

/** deploy/daemonset/: parsed as YAML, the security and scheduling promises asserted field by field. */

const DIR = resolve(import.meta.dir, '../../deploy/daemonset');
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- manifests are untyped YAML; each field is asserted */
type Doc = any;
const load = (name: string): Doc[] =>
  parseAllDocuments(readFileSync(join(DIR, name), 'utf8')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  });

describe('deploy/daemonset', () => {
  const kustomization = load('kustomization.yaml')[0];
  const docs = (kustomization.resources as string[]).flatMap(load);
  const kinds = docs.map((d) => d.kind).sort();
  const ds = docs.find((d) => d.kind === 'DaemonSet');
  const pod = ds.spec.template.spec;
  const container = pod.containers[0];

  test('the kustomization lists a Namespace, a ServiceAccount and the DaemonSet, all in one namespace', () => {
    expect(kinds).toEqual(['DaemonSet', 'Namespace', 'ServiceAccount']);
    expect(kustomization.namespace).toBe('credential-provider-oke');
    for (const d of docs.filter((x) => x.kind !== 'Namespace')) expect(d.metadata.namespace).toBe('credential-provider-oke');
    expect(kustomization.images[0].name).toBe(container.image.split(':')[0]);
  });

  test('every node: both arches, tolerates every taint', () => {
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    const term = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0];
    expect(term).toEqual({ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] });
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
  });

  test('only the hostPath it writes, mounted at its node path; the root file system read-only', () => {
    const hostPaths = pod.volumes.filter((v: Doc) => v.hostPath !== undefined);
    expect(hostPaths).toEqual([{ name: 'credential-provider', hostPath: { path: '/etc/kubernetes/credential-provider', type: 'DirectoryOrCreate' } }]);
    expect(INSTALL_BIN_DIR.startsWith('/etc/kubernetes/credential-provider/')).toBe(true);
    expect(INSTALL_CONFIG_PATH.startsWith('/etc/kubernetes/credential-provider/')).toBe(true);
    const mount = container.volumeMounts.find((m: Doc) => m.name === 'credential-provider');
    expect(mount.mountPath).toBe('/etc/kubernetes/credential-provider');
    expect(mount.readOnly).toBeUndefined();
    for (const v of pod.volumes.filter((x: Doc) => x.hostPath === undefined)) expect(Object.keys(v).sort()).toEqual(['emptyDir', 'name']);
  });

  test('no privilege beyond writing that path: no capabilities, no escalation, not privileged, seccomp, no API token', () => {
    const sc = container.securityContext;
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.privileged).toBe(false);
    expect(sc.capabilities).toEqual({ drop: ['ALL'] });
    expect(sc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(docs.find((d) => d.kind === 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  test('resource requests and limits', () => {
    expect(container.resources.limits.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.requests.memory).toBeDefined();
  });

  test('the container installs onto the node root and keeps re-checking', () => {
    expect(container.args).toEqual(['install', '--host-root=/', '--watch=10m']);
    expect(pod.hostPID).toBe(true); // doctor reads the kubelet's flags from /proc
  });
});
