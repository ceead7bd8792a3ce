import { describe, expect, test } from 'bun:test';
import { parseArgs } from '../../src/cli/args.ts';
import { ProviderError } from '../../src/errors.ts';

describe('parseArgs: doctor', () => {
  test('without an image or flags: the node defaults', () => {
    expect(parseArgs(['doctor'])).toEqual({
      command: { kind: 'doctor', image: undefined, options: { root: '/', procDir: undefined, binDir: undefined, kubeletConfig: undefined, providerName: 'credential-provider-oke' } },
      configPath: undefined,
      logLevel: undefined,
    });
  });
  test('an image and every flag, in both spellings', () => {
    const args = parseArgs(['doctor', 'fra.ocir.io/ns/app', '--root=/mnt/node', '--proc-dir', '/p', '-bin-dir', '/b', '--kubelet-config=/c.yaml', '--provider-name', 'oke', '-config', '/s.yaml', '-v']);
    expect(args).toEqual({
      command: { kind: 'doctor', image: 'fra.ocir.io/ns/app', options: { root: '/mnt/node', procDir: '/p', binDir: '/b', kubeletConfig: '/c.yaml', providerName: 'oke' } },
      configPath: '/s.yaml',
      logLevel: 'debug',
    });
  });
  const bad: string[][] = [['doctor', 'a/b', 'c/d'], ['--root', '/x'], ['get-credentials', 'fra.ocir.io/ns/app', '--bin-dir', '/b'], ['doctor', '--root']];
  for (const argv of bad) {
    test(`rejects ${argv.join(' ')}`, () => {
      expect(() => parseArgs(argv)).toThrow(ProviderError);
    });
  }
});
