import { describe, expect, test } from 'bun:test';
import type { ProviderError } from '../../src/errors.ts';
import { parseImage, scanImage } from '../../src/kubelet/image.ts';
import { plainImage } from '../../src/kubelet/plainImage.ts';
import type { ImageReference } from '../../src/kubelet/image.ts';
import { caught } from '../support/caught.ts';

const SHA256 = `sha256:${'0123456789abcdef'.repeat(4)}`;
const SHA512 = `sha512:${'ab'.repeat(64)}`;


const refusal = (image: string): ProviderError => caught(() => parseImage(image));

describe('parseImage accepts normalized names, with an optional tag and digest', () => {
  const cases: ReadonlyArray<readonly [string, ImageReference]> = [
    ['fra.ocir.io/ns/repo', { registry: 'fra.ocir.io', repository: 'ns/repo' }],
    ['registry.local:5000/team/app', { registry: 'registry.local:5000', repository: 'team/app' }],
    ['docker.io/library/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/x/y', { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'x/y' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app' }],
    ['10.0.0.1:5000/a/b/c/d', { registry: '10.0.0.1:5000', repository: 'a/b/c/d' }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app' }],
    ['[fe80::1]/app', { registry: '[fe80::1]', repository: 'app' }],
    // The domain keeps its case as sent (distribution allows upper case there); matching is case-sensitive.
    ['Registry.Example.com/x', { registry: 'Registry.Example.com', repository: 'x' }],
    ['REGISTRY/x', { registry: 'REGISTRY', repository: 'x' }],
    ['my-reg.example.com/a.b/c_d/e__f/g---h/0-9', { registry: 'my-reg.example.com', repository: 'a.b/c_d/e__f/g---h/0-9' }],
    ['fra.ocir.io/ns/repo:v1.2_3-rc', { registry: 'fra.ocir.io', repository: 'ns/repo', tag: 'v1.2_3-rc' }],
    ['fra.ocir.io/ns/repo:_x', { registry: 'fra.ocir.io', repository: 'ns/repo', tag: '_x' }],
    ['registry.local:5000/team/app:v1', { registry: 'registry.local:5000', repository: 'team/app', tag: 'v1' }],
    [`fra.ocir.io/ns/repo@${SHA256}`, { registry: 'fra.ocir.io', repository: 'ns/repo', digest: SHA256 }],
    [`registry.local:5000/team/app:v1@${SHA256}`, { registry: 'registry.local:5000', repository: 'team/app', tag: 'v1', digest: SHA256 }],
    [`fra.ocir.io/ns/repo@${SHA512}`, { registry: 'fra.ocir.io', repository: 'ns/repo', digest: SHA512 }],
    [`fra.ocir.io/ns/repo:${'t'.repeat(128)}`, { registry: 'fra.ocir.io', repository: 'ns/repo', tag: 't'.repeat(128) }],
    [`r.io/${'a'.repeat(250)}`, { registry: 'r.io', repository: 'a'.repeat(250) }],
  ];
  for (const [image, expected] of cases) {
    test(image.length > 60 ? `${image.slice(0, 60)}…` : image, () => {
      const parsed = parseImage(image);
      expect(parsed).toEqual(expected);
      // Absent parts are absent, not undefined-valued keys.
      expect(Object.keys(parsed).sort()).toEqual(Object.keys(expected).sort());
    });
  }
});

describe('parseImage refuses what the reference grammar refuses', () => {
  const cases: ReadonlyArray<readonly [image: string, message: string]> = [
    ['', 'is empty'],
    ['nginx', 'has no "/"'],
    ['fra.ocir.io', 'has no "/"'],
    ['registry.local:5000', 'has no "/"'],
    ['library/nginx', 'does not start with a registry host'],
    ['fra.ocir.io/', 'has an empty path segment'],
    ['fra.ocir.io//repo', 'has an empty path segment'],
    ['fra.ocir.io/ns/', 'has an empty path segment'],
    ['/ns/repo', 'has an empty registry part'],
    ['fra.ocir.io/ns/Repo', 'upper-case letter in its repository path ("Repo")'],
    ['fra.ocir.io/NS/repo', 'upper-case letter'],
    [' fra.ocir.io/ns/repo', 'whitespace or a control character at offset 0'],
    ['fra.ocir.io/ns/repo ', 'whitespace or a control character at offset 19'],
    ['fra.ocir.io/ns /repo', 'whitespace'],
    ['fra.ocir.io/ns/repo\n', 'whitespace or a control character'],
    ['fra.ocir.io/ns\t/repo', 'whitespace or a control character'],
    ['fra.ocir.io/ns/re\u0000po', 'control character'],
    ['fra.ocir.io/ns/re\u007fpo', 'control character'],
    ['fra.ocir.io/ns/rép', 'non-ASCII character'],
    ['fra.ocir.io/ns/re\u00a0po', 'non-ASCII character'],
    ['fra.ocir.io/ns/repo:', 'invalid tag ""'],
    ['fra.ocir.io/ns/repo:.x', 'invalid tag ".x"'],
    ['fra.ocir.io/ns/repo:-x', 'invalid tag'],
    ['fra.ocir.io/ns/repo:a+b', 'invalid tag'],
    [`fra.ocir.io/ns/repo:${'t'.repeat(129)}`, 'invalid tag'],
    ['fra.ocir.io/ns/repo@', 'unsupported digest'],
    ['fra.ocir.io/ns/repo@sha256', 'unsupported digest'],
    ['fra.ocir.io/ns/repo@sha256:abc', 'invalid sha256 digest'],
    [`fra.ocir.io/ns/repo@${SHA256.toUpperCase().replace('SHA256', 'sha256')}`, 'invalid sha256 digest'],
    [`fra.ocir.io/ns/repo@md5:${'a'.repeat(32)}`, 'unsupported digest'],
    [`fra.ocir.io/ns/repo@${SHA256}@${SHA256}`, 'invalid sha256 digest'],
    [`fra.ocir.io/ns/repo@${SHA256}:tag`, 'invalid sha256 digest'],
    ['reg.io:abc/x', 'invalid port "abc"'],
    ['reg.io:/x', 'invalid port ""'],
    ['reg.io:5000:6000/x', 'invalid port'],
    ['-reg.io/x', 'starting or ending with "-"'],
    ['reg-.io/x', 'starting or ending with "-"'],
    ['reg..io/x', 'empty label'],
    ['.reg.io/x', 'empty label'],
    ['reg_io.com/x', 'invalid character in its registry host'],
    ['[::1/x', 'unclosed "["'],
    ['[zz::1]/x', 'invalid IPv6 address'],
    ['[::1]x/y', 'characters after the IPv6 address'],
    ['reg.io/a/b_', 'invalid repository path segment "b_"'],
    ['reg.io/_b', 'invalid repository path segment "_b"'],
    ['reg.io/b..c', 'invalid repository path segment "b..c"'],
    ['reg.io/b___c', 'invalid repository path segment "b___c"'],
    ['reg.io/b._c', 'invalid repository path segment'],
    ['reg.io/a:b/c', 'invalid repository path segment "a:b"'],
    ['reg.io/a!b', 'invalid repository path segment "a!b"'],
    [`r.io/${'a'.repeat(251)}`, 'longer than 255 characters'],
  ];
  for (const [image, message] of cases) {
    test(JSON.stringify(image.length > 60 ? `${image.slice(0, 60)}…` : image), () => {
      const error = refusal(image);
      expect(error.code).toBe('ERR_REQUEST_INVALID');
      expect(error.message).toContain(message);
    });
  }

  test('huge inputs are refused in one pass with a bounded message', () => {
    const huge = [
      'a'.repeat(1_000_000),
      `fra.ocir.io/${'a-'.repeat(500_000)}`,
      `fra.ocir.io/${'a_'.repeat(500_000)}!`,
      `${'a.'.repeat(500_000)}/x`,
      `fra.ocir.io/${'a/'.repeat(500_000)}`,
      `fra.ocir.io/x:${'t'.repeat(1_000_000)}`,
      `fra.ocir.io/x@sha256:${'a'.repeat(1_000_000)}`,
      `${'['.repeat(1_000_000)}/x`,
      `${'a'.repeat(1_000_000)}/x`,
      `fra.ocir.io/${'A'.repeat(1_000_000)}`,
      `${'a'.repeat(1_000_000)}:1/x`,
      `r.io:${'1'.repeat(1_000_000)}x/y`,
    ];
    for (const image of huge) {
      const error = refusal(image);
      expect(error.message.length).toBeLessThan(400);
    }
  });
});

describe('plainImage, the one-step match for the common form, agrees with the full grammar', () => {
  /** Near-miss names: every character class the grammar treats specially, at every position. */
  const ALPHABET = ['a', 'z', '0', '9', '.', '_', '__', '-', '--', '/', ':', '5000', 'A', '@', ' ', '[', 'localhost', 'ocir.io', 'é'];
  const randomName = (seed: number): string => {
    let state = seed;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    const parts = ['fra.ocir.io/', 'localhost/', 'r:5000/', 'x/', ''][next(5)] ?? '';
    let name = parts;
    for (let i = next(12) + 1; i > 0; i--) name += ALPHABET[next(ALPHABET.length)];
    return name;
  };

  test('on 60,000 generated names, whatever plainImage accepts the grammar accepts and splits the same way', () => {
    let accepted = 0;
    for (let seed = 1; seed <= 60_000; seed++) {
      const image = randomName(seed);
      const quick = plainImage(image);
      if (quick === undefined) continue;
      accepted++;
      expect(scanImage(image)).toEqual(quick);
    }
    // The generator must reach the accepted form often enough for the comparison to mean something.
    expect(accepted).toBeGreaterThan(3_000);
  });

  test('the kubelet forms of the table above take the quick path; tags, digests, upper case, IPv6 and long names do not', () => {
    expect(plainImage('fra.ocir.io/ns/repo')).toEqual({ registry: 'fra.ocir.io', repository: 'ns/repo' });
    expect(plainImage('localhost:5000/app')).toEqual({ registry: 'localhost:5000', repository: 'app' });
    expect(plainImage('my-reg.example.com/a.b/c_d/e__f/g---h/0-9')).toEqual({ registry: 'my-reg.example.com', repository: 'a.b/c_d/e__f/g---h/0-9' });
    for (const image of ['fra.ocir.io/ns/repo:v1', `fra.ocir.io/ns/repo@${SHA256}`, 'Registry.Example.com/x', '[::1]:5000/app', 'REGISTRY/x', 'app/x', `r.io/${'a'.repeat(252)}`]) {
      expect(plainImage(image)).toBeUndefined();
    }
  });
});
