import { afterEach, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN_DIR_FLAG, CONFIG_FLAG, checkKubeletFlags, flagValue } from '../../src/doctor/checks/kubeletFlags.ts';
import { nodeFs } from '../../src/doctor/nodeFs.ts';

/** A fake process table: `<root>/proc/<pid>/cmdline`, NUL-separated as the kernel writes it. */
const roots: string[] = [];
function procRoot(processes: Record<number, readonly string[]>): string {
  const root = mkdtempSync(join(tmpdir(), 'cpo-doctor-proc-'));
  roots.push(root);
  mkdirSync(join(root, 'proc/self'), { recursive: true }); // non-numeric entries are ignored
  for (const [pid, argv] of Object.entries(processes)) {
    mkdirSync(join(root, 'proc', pid), { recursive: true });
    writeFileSync(join(root, 'proc', pid, 'cmdline'), `${argv.join('\0')}\0`);
  }
  return root;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

const BIN = '/etc/kubernetes/credential-provider/bin';
const CONFIG = '/etc/kubernetes/credential-provider/config.yaml';

describe('flagValue reads flags as pflag does', () => {
  test('--flag=value and --flag value', () => {
    expect(flagValue(['kubelet', `${CONFIG_FLAG}=/a`], CONFIG_FLAG)).toBe('/a');
    expect(flagValue(['kubelet', CONFIG_FLAG, '/b'], CONFIG_FLAG)).toBe('/b');
  });
  test('the last occurrence wins, underscores count as dashes, nothing after --', () => {
    expect(flagValue(['kubelet', `${CONFIG_FLAG}=/a`, `${CONFIG_FLAG}=/b`], CONFIG_FLAG)).toBe('/b');
    expect(flagValue(['kubelet', '--image_credential_provider_config=/c'], CONFIG_FLAG)).toBe('/c');
    expect(flagValue(['kubelet', '--', `${CONFIG_FLAG}=/a`], CONFIG_FLAG)).toBeUndefined();
  });
  test('an empty value, a missing value or a longer flag name is not the flag', () => {
    expect(flagValue(['kubelet', `${CONFIG_FLAG}=`], CONFIG_FLAG)).toBeUndefined();
    expect(flagValue(['kubelet', CONFIG_FLAG], CONFIG_FLAG)).toBeUndefined();
    expect(flagValue(['kubelet', `${CONFIG_FLAG}-x=/a`], CONFIG_FLAG)).toBeUndefined();
  });
});

describe('checkKubeletFlags', () => {
  test('passes with both flags and reports their paths', async () => {
    const root = procRoot({ 1: ['/sbin/init'], 812: ['/usr/bin/kubelet', '--v=2', `${BIN_DIR_FLAG}=${BIN}`, CONFIG_FLAG, CONFIG] });
    const outcome = await checkKubeletFlags(nodeFs(root), '/proc');
    expect(outcome.result.status).toBe('pass');
    expect(outcome.result.detail).toContain('pid 812');
    expect(outcome.kubelet).toEqual({ pid: 812, binDir: BIN, configPath: CONFIG, argv: ['/usr/bin/kubelet', '--v=2', `${BIN_DIR_FLAG}=${BIN}`, CONFIG_FLAG, CONFIG] });
  });

  test('finds the kubelet by the basename of argv[0], the lowest pid first', async () => {
    const root = procRoot({
      30: ['/usr/local/bin/kubelet-wrapper', `${BIN_DIR_FLAG}=/wrong`],
      40: ['kubelet', `${BIN_DIR_FLAG}=/first`, `${CONFIG_FLAG}=/c`],
      500: ['/usr/bin/kubelet', `${BIN_DIR_FLAG}=/second`, `${CONFIG_FLAG}=/c`],
    });
    expect((await checkKubeletFlags(nodeFs(root), '/proc')).kubelet?.binDir).toBe('/first');
  });

  test('fails naming the missing flag, and keeps the one that is there', async () => {
    const root = procRoot({ 77: ['/usr/bin/kubelet', `${BIN_DIR_FLAG}=${BIN}`] });
    const outcome = await checkKubeletFlags(nodeFs(root), '/proc');
    expect(outcome.result.status).toBe('fail');
    expect(outcome.result.detail).toContain(CONFIG_FLAG);
    expect(outcome.result.detail).not.toContain(BIN_DIR_FLAG);
    expect(outcome.result.fix).toContain('--kubelet-extra-args');
    expect(outcome.kubelet).toEqual({ pid: 77, binDir: BIN, configPath: undefined, argv: ['/usr/bin/kubelet', `${BIN_DIR_FLAG}=${BIN}`] });
  });

  test('fails naming both flags when neither is there', async () => {
    const outcome = await checkKubeletFlags(nodeFs(procRoot({ 5: ['/usr/bin/kubelet', '--v=2'] })), '/proc');
    expect(outcome.result.detail).toContain(`${BIN_DIR_FLAG} and ${CONFIG_FLAG}`);
  });

  test('fails when no kubelet runs', async () => {
    const outcome = await checkKubeletFlags(nodeFs(procRoot({ 1: ['/sbin/init'], 2: ['/usr/bin/containerd'] })), '/proc');
    expect(outcome.result.status).toBe('fail');
    expect(outcome.result.detail).toContain('no running kubelet');
    expect(outcome.kubelet).toBeUndefined();
  });

  test('fails when the process table cannot be read', async () => {
    const outcome = await checkKubeletFlags(nodeFs(procRoot({})), '/no-such-proc');
    expect(outcome.result.status).toBe('fail');
    expect(outcome.result.detail).toContain('cannot list processes in /no-such-proc');
  });
});
