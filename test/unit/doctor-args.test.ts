import { describe, expect, test } from 'bun:test';
import { parseArgs } from '../../src/cli/args.ts';
import { ProviderError } from '../../src/errors.ts';

describe('parseArgs: doctor', () => {
  test('without an image or flags: the node defaults', () => {
    expect(parseArgs(['doctor'])).toEqual({
      command: { kind: 'doctor', image: undefined, options: { root: '/', procDir: undefined, binDir: undefined, kubeletConfig: undefined, providerName: 'credential-provider-oke' }, json: false },
      configPath: undefined,
      logLevel: undefined,
    });
  });
  test('an image and every flag, in both spellings', () => {
    const args = parseArgs(['doctor', 'fra.ocir.io/ns/app', '--root=/mnt/node', '--proc-dir', '/p', '-bin-dir', '/b', '--kubelet-config=/c.yaml', '--provider-name', 'oke', '-config', '/s.yaml', '-v']);
    expect(args).toEqual({
      command: { kind: 'doctor', image: 'fra.ocir.io/ns/app', options: { root: '/mnt/node', procDir: '/p', binDir: '/b', kubeletConfig: '/c.yaml', providerName: 'oke' }, json: false },
      configPath: '/s.yaml',
      logLevel: 'debug',
    });
  });
  test('--json', () => {
    const args = parseArgs(['doctor', '--json']);
    expect(args.command.kind === 'doctor' && args.command.json).toBe(true);
  });
  const bad: string[][] = [['doctor', 'a/b', 'c/d'], ['--root', '/x'], ['get-credentials', 'x/y', '--json'], ['doctor', '--host-root', '/'], ['get-credentials', 'fra.ocir.io/ns/app', '--bin-dir', '/b'], ['doctor', '--root']];
  for (const argv of bad) {
    test(`rejects ${argv.join(' ')}`, () => {
      expect(() => parseArgs(argv)).toThrow(ProviderError);
    });
  }
});

describe('parseArgs: install', () => {
  test('defaults: this executable onto /, the cloud-init paths', () => {
    expect(parseArgs(['install']).command).toEqual({
      kind: 'install',
      options: {
        hostRoot: '/',
        binDir: '/etc/kubernetes/credential-provider/bin',
        kubeletConfig: '/etc/kubernetes/credential-provider/config.yaml',
        executable: undefined,
        configSource: undefined,
        adopt: false,
        rollback: false,
        watchMs: undefined,
      },
    });
  });
  test('every flag', () => {
    const args = parseArgs(['install', '--host-root=/host', '--bin-dir', '/b', '--kubelet-config', '/c.yaml', '--executable', '/x', '--config-source', '/y.yaml', '--adopt', '--watch', '10m']);
    expect(args.command).toEqual({
      kind: 'install',
      options: { hostRoot: '/host', binDir: '/b', kubeletConfig: '/c.yaml', executable: '/x', configSource: '/y.yaml', adopt: true, rollback: false, watchMs: 600_000 },
    });
    expect(parseArgs(['install', '--rollback']).command).toMatchObject({ options: { rollback: true } });
  });
  const bad: string[][] = [['install', 'extra'], ['install', '--watch', '0s'], ['install', '--watch', 'soon'], ['install', '--rollback', '--watch', '1m'], ['install', '--rollback', '--adopt'], ['install', '--json'], ['doctor', '--adopt'], ['doctor', '--rollback'], ['--host-root', '/']];
  for (const argv of bad) {
    test(`rejects ${argv.join(' ')}`, () => {
      expect(() => parseArgs(argv)).toThrow(ProviderError);
    });
  }
});
