import { describe, expect, test } from 'bun:test';
import { filepathMatch, parseSchemelessUrl, urlsMatch } from '../../src/kubelet/glob.ts';
import type { AuthEntry } from '../../src/kubelet/response.ts';
import { keyringLookup } from '../support/kubeletResponse.ts';

const CRED: AuthEntry = { username: 'u', password: 'p' };
const matches = (key: string, image: string): boolean => keyringLookup({ [key]: CRED }, image).length > 0;

describe('§6 row 32: the §1.7 matcher table, through keyringLookup', () => {
  // [auth key, request image, match?]
  const table: ReadonlyArray<readonly [string, string, boolean]> = [
    ['*.kubernetes.io', 'prefix.kubernetes.io/x', true],
    ['prefix.*.io', 'prefix.kubernetes.io/x', true],
    ['prefix.kubernetes.*', 'prefix.kubernetes.io/x', true],
    ['*-good.kubernetes.io', 'prefix-good.kubernetes.io/x', true],
    ['app*.k8s.io', 'app.k8s.io/x', true],
    ['*.kubernetes.io', 'kubernetes.io/x', false],
    ['*.io', 'k8s.gcr.io/x', false],
    ['*.*.kubernetes.io', 'prefix.kubernetes.io/x', false],
    ['k*.io', 'quay.io/x', false],
    ['prefix.*.io/foo', 'prefix.kubernetes.io/foo/bar', true],
    ['reg.io/foo', 'reg.io/foobar/app', true],
    ['reg.io/foo/', 'reg.io/foo', false],
    ['*.kubernetes.io:1111/blah', 'prefix.kubernetes.io:1111/blah', true],
    ['*.kubernetes.io:1234/blah', 'prefix.kubernetes.io:1111/blah', false],
    ['prefix.*.io/foo', 'prefix.kubernetes.io:1111/foo/bar', false],
    ['reg.io:443', 'reg.io/x', false],
    ['fake.example.com/*', 'fake.example.com/foo', false],
    ['*', 'docker.io/library/nginx', false],
    ['*.*', 'docker.io/library/nginx', true],
    ['https://quay.io/v1/', 'quay.io/foo/bar', true],
    ['index.docker.io', 'docker.io/library/nginx', true],
    ['docker.io', 'docker.io/library/nginx', true],
    ['Registry.Example.com', 'registry.example.com/x', false],
  ];
  for (const [key, image, expected] of table) {
    test(`${key} ${expected ? 'matches' : 'does not match'} ${image}`, () => expect(matches(key, image)).toBe(expected));
  }

  test('matchImages keep the scheme text: "https://gcr.io" never matches gcr.io/x, while the auth key does', () => {
    expect(urlsMatch('https://gcr.io', 'gcr.io/x')).toBe(false);
    expect(matches('https://gcr.io', 'gcr.io/x')).toBe(true);
  });

  test('rows 11-12: the port must be in the key; Docker Hub images take docker.io or index.docker.io', () => {
    expect(matches('registry.local:5000', 'registry.local:5000/team/app')).toBe(true);
    expect(matches('registry.local', 'registry.local:5000/team/app')).toBe(false);
    expect(matches('*.local:5000', 'registry.local:5000/team/app')).toBe(true);
    for (const key of ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'https://index.docker.io/v2/']) {
      expect(matches(key, 'docker.io/library/nginx')).toBe(true);
    }
  });
});

describe('keyringLookup follows keyring.go Add and Lookup', () => {
  test('/v1/ and /v2/ are dropped only with their trailing slash; http:// is understood; oci:// is not', () => {
    expect(matches('reg.io/v2/', 'reg.io/anything')).toBe(true);
    expect(matches('reg.io/v2', 'reg.io/anything')).toBe(false);
    expect(matches('reg.io/v2', 'reg.io/v2x/app')).toBe(true);
    expect(matches('http://reg.io', 'reg.io/x')).toBe(true);
    expect(matches('https://reg.io/v1/team', 'reg.io/team/app')).toBe(true);
    expect(matches('oci://reg.io', 'reg.io/x')).toBe(false);
    expect(matches('HTTPS://reg.io', 'reg.io/x')).toBe(false);
  });

  test('every matching key contributes, longest and non-wildcard first (reverse byte order)', () => {
    const auth: Record<string, AuthEntry> = {
      'quay.io': { username: 'host', password: '1' },
      '*.quay.io': { username: 'wild', password: '2' },
      'quay.io/coreos': { username: 'path', password: '3' },
      'a.quay.io': { username: 'exact', password: '4' },
      'quay.io/coreos/etcd': { username: 'longer', password: '5' },
    };
    expect(keyringLookup(auth, 'quay.io/coreos/etcd').map((c) => c.username)).toEqual(['longer', 'path', 'host']);
    expect(keyringLookup(auth, 'a.quay.io/x').map((c) => c.username)).toEqual(['exact', 'wild']);
  });

  test('keys that normalize alike are merged, keeping both credentials', () => {
    const auth = { 'https://quay.io/v1/': { username: 'a', password: '1' }, 'quay.io': { username: 'b', password: '2' } };
    expect(keyringLookup(auth, 'quay.io/x')).toEqual([
      { username: 'a', password: '1' },
      { username: 'b', password: '2' },
    ]);
  });

  test('the Docker Hub fallback applies only when nothing matched, and only to Docker Hub images', () => {
    const hub = { username: 'hub', password: 'h' };
    const other = { username: 'other', password: 'o' };
    expect(keyringLookup({ 'index.docker.io': hub }, 'docker.io/library/nginx')).toEqual([hub]);
    expect(keyringLookup({ 'https://index.docker.io/v1/': hub }, 'index.docker.io/library/nginx')).toEqual([hub]);
    expect(keyringLookup({ 'index.docker.io': hub }, 'library/nginx')).toEqual([hub]);
    expect(keyringLookup({ 'index.docker.io': hub }, 'nginx')).toEqual([hub]);
    expect(keyringLookup({ 'index.docker.io': hub }, 'quay.io/x')).toEqual([]);
    expect(keyringLookup({ 'index.docker.io': hub }, 'localhost:5000/x')).toEqual([]);
    expect(keyringLookup({ 'index.docker.io': hub }, '/x')).toEqual([]);
    expect(keyringLookup({ 'index.docker.io': hub, '*.io': other }, 'docker.io/library/nginx')).toEqual([other]);
  });

  test('keys Go cannot parse are ignored; a null entry gives empty credentials', () => {
    for (const key of ['reg io', 'reg.io/%zz', 'reg.io:abc', '[::1', 'reg{1}.io', 'reg.io\u0000', 'r%41.io']) {
      expect(keyringLookup({ [key]: CRED, 'reg.io': null }, 'reg.io/x')).toEqual([{ username: '', password: '' }]);
    }
  });
});

describe('glob.ts follows Go url.Parse', () => {
  test('a space is allowed in the path, not in the host', () => {
    expect(parseSchemelessUrl('reg.io/a b')?.path).toBe('/a b');
    expect(parseSchemelessUrl('reg io/a')).toBeUndefined();
    expect(parseSchemelessUrl('reg.io\t/a')).toBeUndefined();
  });

  test('host characters Go refuses', () => {
    for (const host of ['reg{1}.io', 'reg|x.io', 'reg^x.io', 'reg`x.io', 'reg\\x.io']) expect(parseSchemelessUrl(`${host}/x`)).toBeUndefined();
    for (const host of ["reg!$&'()*+,;=x.io", 'a<b>.io', 'reg~x_y-z.io']) expect(parseSchemelessUrl(`${host}/x`)).toBeDefined();
  });

  test('percent escapes: decoded in the path, only non-ASCII (or %25) in the host', () => {
    expect(parseSchemelessUrl('reg.io/%61pp')?.path).toBe('/app');
    expect(urlsMatch('reg.io/%61pp', 'reg.io/app')).toBe(true);
    expect(parseSchemelessUrl('reg.io/%zz')).toBeUndefined();
    expect(parseSchemelessUrl('reg.io/%6')).toBeUndefined();
    expect(parseSchemelessUrl('r%41.io/x')).toBeUndefined();
    expect(parseSchemelessUrl('r%25.io/x')?.host).toBe('r%.io');
    expect(parseSchemelessUrl('r%C3%A9.io/x')?.labels).toEqual(['ré', 'io']);
  });

  test('userinfo is dropped when valid and refused when not', () => {
    expect(parseSchemelessUrl('user:pw@reg.io/x')?.host).toBe('reg.io');
    expect(urlsMatch('reg.io', 'user@reg.io/x')).toBe(true);
    expect(parseSchemelessUrl('us"er@reg.io/x')).toBeUndefined();
    expect(parseSchemelessUrl('u%zz@reg.io/x')).toBeUndefined();
  });

  test('query and fragment are cut; a bad escape in the fragment fails', () => {
    expect(parseSchemelessUrl('reg.io/x?y/z')?.path).toBe('/x');
    expect(parseSchemelessUrl('reg.io?x/y')?.path).toBe('');
    expect(parseSchemelessUrl('reg.io#a/b')?.path).toBe('');
    expect(parseSchemelessUrl('reg.io/x#%zz')).toBeUndefined();
  });

  test('SplitHostPort failures keep the whole host and no port', () => {
    expect(parseSchemelessUrl('a:b:5/x')).toEqual({ host: 'a:b:5', labels: ['a:b:5'], port: '', path: '/x' });
    expect(parseSchemelessUrl('reg.io:/x')).toEqual({ host: 'reg.io:', labels: ['reg', 'io'], port: '', path: '/x' });
    // A class with a port: SplitHostPort refuses the bracket, so the pattern never matches a ported image.
    expect(parseSchemelessUrl('reg[0-9].io:5000')?.port).toBe('');
    expect(urlsMatch('reg[0-9].io:5000', 'reg1.io:5000/x')).toBe(false);
    expect(urlsMatch('reg[0-9].io', 'reg1.io/x')).toBe(true);
  });

  test('filepathMatch reports malformed patterns as undefined (no match)', () => {
    expect(filepathMatch('[', 'a')).toBeUndefined();
    expect(filepathMatch('a[', 'b')).toBeUndefined();
    expect(filepathMatch('[]a]', 'a')).toBeUndefined();
    expect(filepathMatch('\\', 'a')).toBeUndefined();
    expect(filepathMatch('[a-]', 'a')).toBeUndefined();
    expect(filepathMatch('[^a]', 'b')).toBe(true);
    expect(filepathMatch('[a-c]x', 'bx')).toBe(true);
    expect(filepathMatch('a*b*c', 'axxbyyc')).toBe(true);
    expect(filepathMatch('a*b*c', 'axxbyy')).toBe(false);
    expect(filepathMatch('\\*', '*')).toBe(true);
    expect(filepathMatch('\\*', 'a')).toBe(false);
  });
});
