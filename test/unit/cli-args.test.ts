import { describe, expect, test } from 'bun:test';
import { parseArgs } from '../../src/cli/args.ts';
import { ProviderError } from '../../src/errors.ts';

describe('parseArgs', () => {
  test('no arguments: the plugin', () => {
    expect(parseArgs([])).toEqual({ command: { kind: 'plugin' }, configPath: undefined, logLevel: undefined });
  });
  test('-config in every spelling the Go flag package accepts', () => {
    for (const argv of [['-config', 'a.yaml'], ['--config', 'a.yaml'], ['-config=a.yaml'], ['--config=a.yaml']]) {
      expect(parseArgs(argv).configPath).toBe('a.yaml');
    }
  });
  test('get-credentials with an API version', () => {
    expect(parseArgs(['get-credentials', 'fra.ocir.io/ns/app', '--api-version', 'v1beta1']).command).toEqual({
      kind: 'get-credentials',
      image: 'fra.ocir.io/ns/app',
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1',
    });
  });
  test('verbosity', () => {
    expect(parseArgs(['-v']).logLevel).toBe('debug');
    expect(parseArgs(['--log-level=info']).logLevel).toBe('info');
  });
  test('version and help', () => {
    expect(parseArgs(['--version']).command.kind).toBe('version');
    expect(parseArgs(['-h']).command.kind).toBe('help');
  });
  const bad: string[][] = [['--nope'], ['-config'], ['--log-level', 'loud'], ['get-credentials'], ['get-credentials', 'a', 'b'], ['frob']];
  for (const argv of bad) {
    test(`rejects ${argv.join(' ')}`, () => {
      expect(() => parseArgs(argv)).toThrow(ProviderError);
    });
  }
});
