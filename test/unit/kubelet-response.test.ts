import { describe, expect, test } from 'bun:test';
import { ProviderError } from '../../src/errors.ts';
import { API_VERSIONS } from '../../src/kubelet/apiVersion.ts';
import type { ApiVersion } from '../../src/kubelet/apiVersion.ts';
import { buildResponse, encodeResponse, noCredentialsResponse } from '../../src/kubelet/response.ts';
import type { AuthEntry, BuildResponseOptions, CredentialProviderResponse } from '../../src/kubelet/response.ts';
import { keyringLookup, validateKubeletResponse } from '../support/kubeletResponse.ts';

const V1: ApiVersion = 'credentialprovider.kubelet.k8s.io/v1';
const CRED: AuthEntry = { username: 'BEARER_TOKEN', password: 'tok' };

const options = (overrides: Partial<BuildResponseOptions> = {}): BuildResponseOptions => ({
  apiVersion: V1,
  cacheKeyType: 'Registry',
  cacheDurationMs: 55 * 60_000,
  auth: { 'fra.ocir.io': CRED },
  ...overrides,
});

function internalError(run: () => unknown): ProviderError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('encodeResponse', () => {
  test('writes exactly one compact object, keys in kubelet order, then one newline', () => {
    expect(encodeResponse(buildResponse(options()))).toBe(
      '{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry",' +
        '"cacheDuration":"55m0s","auth":{"fra.ocir.io":{"username":"BEARER_TOKEN","password":"tok"}}}\n',
    );
  });

  test('rows 1-3: the response echoes each request version and the kubelet accepts it only for that version', () => {
    for (const apiVersion of API_VERSIONS) {
      const stdout = encodeResponse(buildResponse(options({ apiVersion })));
      for (const configured of API_VERSIONS) {
        expect(validateKubeletResponse(stdout, configured).ok).toBe(configured === apiVersion);
      }
    }
  });

  test('auth keys are sorted, so the output does not depend on insertion order', () => {
    const a = encodeResponse(buildResponse(options({ cacheKeyType: 'Image', auth: { 'b.io': CRED, 'a.io': CRED, 'a.io:5000': CRED } })));
    const b = encodeResponse(buildResponse(options({ cacheKeyType: 'Image', auth: { 'a.io:5000': CRED, 'a.io': CRED, 'b.io': CRED } })));
    expect(a).toBe(b);
    expect(Object.keys((JSON.parse(a) as { auth: object }).auth)).toEqual(['a.io', 'a.io:5000', 'b.io']);
  });

  test('row 18: extra properties on the input never reach stdout', () => {
    const sneaky = {
      ...buildResponse(options()),
      metadata: { name: 'x' },
      serviceAccountTokenCacheType: 'Pod',
      auth: { 'fra.ocir.io': { ...CRED, email: 'a@b.c', auth: 'dXNlcjpwdw==', identitytoken: 'x' } },
    } as CredentialProviderResponse;
    const stdout = encodeResponse(sneaky);
    expect(stdout).not.toContain('metadata');
    expect(stdout).not.toContain('email');
    expect(stdout).not.toContain('identitytoken');
    expect(stdout).not.toContain('serviceAccountTokenCacheType');
    expect(validateKubeletResponse(stdout, V1).ok).toBe(true);
  });

  test('row 17: no BOM, nothing before the object, exactly one trailing newline', () => {
    const stdout = encodeResponse(buildResponse(options()));
    expect(stdout.startsWith('{')).toBe(true);
    expect(stdout.endsWith('}\n')).toBe(true);
    expect(stdout.indexOf('\n')).toBe(stdout.length - 1);
  });

  test('strings the JSON encoder must escape survive the strict decode unchanged', () => {
    const password = 'p"a\\s\ns\u0000w\u2028o\u{1F600}rd</script>';
    const stdout = encodeResponse(buildResponse(options({ auth: { 'fra.ocir.io': { username: 'u"\\', password } } })));
    const verdict = validateKubeletResponse(stdout, V1);
    expect(verdict.ok && verdict.response.auth['fra.ocir.io']).toEqual({ username: 'u"\\', password });
  });

  test('a "__proto__" auth key is an ordinary key on the wire', () => {
    const auth = Object.fromEntries([['__proto__', CRED]]) as Record<string, AuthEntry>;
    const stdout = encodeResponse(buildResponse(options({ cacheKeyType: 'Image', auth })));
    expect(stdout).toContain('"auth":{"__proto__":{"username":"BEARER_TOKEN","password":"tok"}}');
    expect(validateKubeletResponse(stdout, V1).ok).toBe(true);
  });
});

describe('buildResponse', () => {
  test('copies auth, so later changes to the input do not alter the response', () => {
    const auth: Record<string, AuthEntry> = { 'fra.ocir.io': { ...CRED } };
    const response = buildResponse(options({ auth }));
    auth['other.io'] = CRED;
    expect(Object.keys(response.auth)).toEqual(['fra.ocir.io']);
  });

  test('rows 19-20: the duration is a Go duration string, "0s" when unknown or spent', () => {
    expect(buildResponse(options({ cacheDurationMs: 3_540_000 })).cacheDuration).toBe('59m0s');
    expect(buildResponse(options({ cacheDurationMs: 0 })).cacheDuration).toBe('0s');
    expect(buildResponse(options({ cacheDurationMs: -5 })).cacheDuration).toBe('0s');
    expect(buildResponse(options({ cacheDurationMs: Number.NaN })).cacheDuration).toBe('0s');
  });

  test('rows 11-12: keys the kubelet matches against the image (port kept, Docker Hub)', () => {
    const local = buildResponse(options({ auth: { 'registry.local:5000': CRED } }));
    expect(keyringLookup(local.auth, 'registry.local:5000/team/app')).toEqual([CRED]);
    expect(keyringLookup({ 'registry.local': CRED }, 'registry.local:5000/team/app')).toEqual([]);
    for (const key of ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/']) {
      const hub = buildResponse(options({ auth: { [key]: CRED } }));
      expect(keyringLookup(hub.auth, 'docker.io/library/nginx')).toEqual([CRED]);
    }
  });

  test('row 21: a path-scoped key is refused with Registry or Global, allowed with Image', () => {
    for (const cacheKeyType of ['Registry', 'Global'] as const) {
      const error = internalError(() => buildResponse(options({ cacheKeyType, auth: { 'reg.io/team-a': CRED } })));
      expect(error.code).toBe('ERR_INTERNAL');
      expect(error.message).toContain('path-scoped');
    }
    expect(buildResponse(options({ cacheKeyType: 'Image', auth: { 'reg.io/team-a': CRED } })).cacheKeyType).toBe('Image');
    // Keys the kubelet stores without a path (keyring.go Add) are fine with Registry.
    for (const key of ['reg.io/', 'https://reg.io/', 'http://reg.io/v1/', 'reg.io/v2/', 'reg.io?x/y', 'reg.io#/a']) {
      expect(Object.keys(buildResponse(options({ auth: { [key]: CRED } })).auth)).toEqual([key]);
    }
    // "/v2" without its trailing slash stays a path.
    expect(internalError(() => buildResponse(options({ auth: { 'reg.io/v2': CRED } }))).message).toContain('path-scoped');
  });

  test('refuses, as a bug, anything the kubelet would reject or misread', () => {
    const bad: ReadonlyArray<readonly [string, () => unknown]> = [
      ['unsupported apiVersion', () => buildResponse(options({ apiVersion: 'credentialprovider.kubelet.k8s.io/v2' as ApiVersion }))],
      ['invalid cacheKeyType', () => buildResponse(options({ cacheKeyType: 'image' as 'Image' }))],
      ['auth key', () => buildResponse(options({ auth: { '': CRED } }))],
      ['auth key', () => buildResponse(options({ auth: { 'fra ocir.io': CRED } }))],
      ['auth key', () => buildResponse(options({ auth: { 'fra.ocir.io\n': CRED } }))],
      ['string username and password', () => buildResponse(options({ auth: { 'fra.ocir.io': { username: 'u', password: 5 as unknown as string } } }))],
      ['not valid Unicode', () => buildResponse(options({ auth: { 'fra.ocir.io': { username: 'u', password: 'a\uD800b' } } }))],
      ['cacheDuration', () => encodeResponse({ ...buildResponse(options()), cacheDuration: '1d' })],
      ['cacheDuration', () => encodeResponse({ ...buildResponse(options()), cacheDuration: 300 as unknown as string })],
      ['cacheDuration', () => encodeResponse({ ...buildResponse(options()), cacheDuration: '' })],
    ];
    for (const [message, run] of bad) {
      const error = internalError(run);
      expect(error.code).toBe('ERR_INTERNAL');
      expect(error.message).toContain(message);
      expect(error.message).not.toContain('tok');
    }
  });
});

describe('noCredentialsResponse', () => {
  test('row 14: no auth and "0s", accepted by the kubelet for every version', () => {
    for (const apiVersion of API_VERSIONS) {
      const response = noCredentialsResponse(apiVersion);
      expect(response).toEqual({ apiVersion, cacheKeyType: 'Image', cacheDuration: '0s', auth: {} });
      const verdict = validateKubeletResponse(encodeResponse(response), apiVersion);
      expect(verdict.ok && verdict.response.cacheDurationNs).toBe(0);
    }
  });
});
