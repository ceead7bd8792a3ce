import { describe, expect, test } from 'bun:test';
import { filepathMatch as providerFilepathMatch, urlsMatch } from '../../src/kubelet/glob.ts';
import { filepathMatch, kubeletUrlsMatch } from '../support/kubeletGlob.ts';

/**
 * The oracle's transcription of the kubelet's matching (test/support/kubeletGlob.ts) against Go's
 * own test cases, then against the provider's implementation: two independent readings of Go that
 * must agree, so neither can drift alone.
 */

describe('oracle: keyring_test.go URLsMatch cases', () => {
  // kubernetes pkg/credentialprovider/keyring_test.go TestURLsMatch, plus the traps of kubelet-protocol.md §1.7.
  const cases: readonly [glob: string, target: string, matches: boolean][] = [
    ['*.kubernetes.io', 'prefix.kubernetes.io', true],
    ['prefix.*.io', 'prefix.kubernetes.io', true],
    ['prefix.kubernetes.*', 'prefix.kubernetes.io', true],
    ['*-good.kubernetes.io', 'prefix-good.kubernetes.io', true],
    ['prefix.kubernetes.io', 'prefix.kubernetes.io/path', true],
    ['prefix.kubernetes.io/path', 'prefix.kubernetes.io/path', true],
    ['prefix.kubernetes.io/path', 'prefix.kubernetes.io/path/subpath', true],
    ['prefix.kubernetes.io', 'prefix.kubernetes.io:8080', false],
    ['prefix.kubernetes.io:8080', 'prefix.kubernetes.io:8080/path', true],
    ['*.kubernetes.io', 'kubernetes.io', false],
    ['*.*.kubernetes.io', 'sub.prefix.kubernetes.io', true],
    ['*.kubernetes.io', 'sub.prefix.kubernetes.io', false],
    ['*', 'kubernetes.io', false],
    ['*.*', 'kubernetes.io', true],
    ['prefix.kubernetes.io/path', 'prefix.kubernetes.io/otherpath', false],
    ['prefix.kubernetes.io:8080', 'prefix.kubernetes.io:9090', false],
    ['[::1]:5000', '[::1]:5000/app', true],
    ['fra.ocir.io/*', 'fra.ocir.io/ns/app', false],
    ['https://fra.ocir.io', 'fra.ocir.io/ns/app', false],
    ['FRA.ocir.io', 'fra.ocir.io/ns/app', false],
    ['reg[', 'reg[/x', false],
  ];
  for (const [glob, target, matches] of cases) {
    test(`${glob} vs ${target}: ${matches}`, () => expect(kubeletUrlsMatch(glob, target)).toBe(matches));
  }
});

describe('oracle: filepath.Match (Go match_test.go)', () => {
  const cases: readonly [pattern: string, name: string, result: boolean | undefined][] = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', 'x', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['[\\-x]', '-', true],
    ['[\\-x]', 'a', false],
    ['[]a]', ']', undefined],
    ['[-]', '-', undefined],
    ['[x-]', 'x', undefined],
    ['[x-]', '-', undefined],
    ['[x-]', 'z', undefined],
    ['[-x]', 'x', undefined],
    ['[-x]', '-', undefined],
    ['[-x]', 'a', undefined],
    ['\\', 'a', undefined],
    ['[a-b-c]', 'a', undefined],
    ['[', 'a', undefined],
    ['[^', 'a', undefined],
    ['[^bc', 'a', undefined],
    ['a[', 'a', undefined],
    ['a[', 'ab', undefined],
    ['a[', 'x', undefined],
    ['a/b[', 'x', undefined],
    ['*x', 'xxx', true],
  ];
  for (const [pattern, name, result] of cases) {
    test(`${pattern} vs ${name}: ${String(result)}`, () => expect(filepathMatch(pattern, name)).toBe(result));
  }
  test('the provider agrees on every case', () => {
    expect(cases.filter(([p, n]) => providerFilepathMatch(p, n) !== filepathMatch(p, n))).toEqual([]);
  });
});

test('the provider and the oracle agree on every glob × host over a grid of hosts, ports, paths and globs', () => {
  const globs = ['*.ocir.io', 'fra.ocir.io', '*.*.ocir.io', 'fra.ocir.io:443', 'fra.ocir.io/ns', 'fra.ocir.io/ns/', '*', '*.*', 'f?a.ocir.io', 'fr[a-c].ocir.io', 'fr[^a].ocir.io', 'fra.ocir.*', '127.0.0.1:5000', '*.0.0.1:5000', 'reg%41.io', 'user@fra.ocir.io', 'fra.ocir.io?x', 'fra.ocir.io#x', 'reg[.io', 'a:1:2', 'fra.ocir.io:', 'ocir.eu-frankfurt-1.oci.oraclecloud.com'];
  const targets = ['fra.ocir.io/ns/app', 'fra.ocir.io:443/ns/app', 'iad.ocir.io/ns/app', 'a.fra.ocir.io/ns/app', 'fra.ocir.io', 'fra.ocir.io/ns', 'fra.ocir.io/nsx/app', '127.0.0.1:5000/app', '10.0.0.1:5000/app', 'fra.ocir.io:5000/x', 'ocir.eu-frankfurt-1.oci.oraclecloud.com/ns/app', 'frb.ocir.io/ns/app', 'localhost/app'];
  const disagreements = globs.flatMap((g) => targets.filter((t) => urlsMatch(g, t) !== kubeletUrlsMatch(g, t)).map((t) => `${g} vs ${t}`));
  expect(disagreements).toEqual([]);
});
