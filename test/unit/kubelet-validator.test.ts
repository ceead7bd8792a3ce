import { describe, expect, test } from 'bun:test';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';

/**
 * The kubelet emulator's own guard (§6 rows 30 and 31): if it accepted something the kubelet
 * rejects (or the reverse), every e2e verdict built on it would be worthless.
 */

const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const V1BETA1 = 'credentialprovider.kubelet.k8s.io/v1beta1';
const KIND = '"kind":"CredentialProviderResponse"';
const API = `"apiVersion":"${V1}"`;
const AUTH = '"auth":{"fra.ocir.io":{"username":"u","password":"p"}}';
const VALID = `{${KIND},${API},"cacheKeyType":"Registry","cacheDuration":"55m0s",${AUTH}}`;

const rejects = (stdout: string, reason: string | RegExp, apiVersion = V1): void => {
  const verdict = validateKubeletResponse(stdout, apiVersion);
  if (verdict.ok) throw new Error(`accepted ${JSON.stringify(stdout).slice(0, 200)}`);
  if (typeof reason === 'string') expect(verdict.reason).toContain(reason);
  else expect(verdict.reason).toMatch(reason);
};

describe('validateKubeletResponse: the §6 row 30 negative set', () => {
  const cases: ReadonlyArray<readonly [name: string, stdout: string, reason: string | RegExp]> = [
    ['empty stdout', '', 'unexpected end of JSON input'],
    ['"null"', 'null', 'did not match expected apiVersion'],
    ['a log line, then the JSON', `starting provider\n${VALID}\n`, 'error reading GVK'],
    ['the JSON, then a log line', `${VALID}\ndone\n`, "invalid character \"d\" after top-level value"],
    ['apiVersion mismatch (v1beta1 for a v1 provider)', VALID.replace(API, `"apiVersion":"${V1BETA1}"`), `actual apiVersion:${V1BETA1}`],
    ['no kind', VALID.replace(`${KIND},`, ''), "'Kind' is missing"],
    ['an unknown top-level field', VALID.replace('{', '{"metadata":{},'), 'unknown field "metadata"'],
    ['a duplicate cacheKeyType', VALID.replace('"cacheKeyType":"Registry"', '"cacheKeyType":"Registry","cacheKeyType":"Image"'), 'duplicate field "cacheKeyType"'],
    ['CacheKeyType (wrong case)', VALID.replace('"cacheKeyType"', '"CacheKeyType"'), 'unknown field "CacheKeyType"'],
    ['cacheDuration: 300', VALID.replace('"55m0s"', '300'), 'cannot unmarshal number'],
    ['cacheDuration: ""', VALID.replace('"55m0s"', '""'), 'invalid duration ""'],
    ['cacheDuration: "1d"', VALID.replace('"55m0s"', '"1d"'), 'invalid duration "1d"'],
    ['cacheKeyType: "image"', VALID.replace('"Registry"', '"image"'), 'did not return a valid cacheKeyType: "image"'],
    ['an auth entry with email', VALID.replace('"password":"p"', '"password":"p","email":"a@b.c"'), 'unknown field "auth.fra.ocir.io.email"'],
    ['auth: []', VALID.replace(AUTH, '"auth":[]'), 'cannot unmarshal array'],
  ];
  for (const [name, stdout, reason] of cases) test(name, () => rejects(stdout, reason));
});

describe('validateKubeletResponse: more the kubelet refuses', () => {
  const cases: ReadonlyArray<readonly [name: string, stdout: string, reason: string | RegExp]> = [
    ['only whitespace', ' \n', 'unexpected end of JSON input'],
    ['a UTF-8 BOM', `\uFEFF${VALID}`, 'invalid character'],
    ['a NUL byte after the object', `${VALID}\u0000`, 'after top-level value'],
    ['two objects', `${VALID}\n${VALID}\n`, 'after top-level value'],
    ['truncated', VALID.slice(0, -1), 'unexpected end of JSON input'],
    ['a JSON array', `[${VALID}]`, 'cannot unmarshal array'],
    ['a JSON string', '"CredentialProviderResponse"', 'cannot unmarshal string'],
    ['a number', '1', 'cannot unmarshal number'],
    ['nesting past Go\'s 10000 levels', `{${KIND},${API},"x":${'['.repeat(10_001)}${']'.repeat(10_001)}}`, 'exceeded max depth'],
    ['kind not a string', VALID.replace(KIND, '"kind":1'), 'cannot unmarshal number'],
    ['apiVersion with two slashes', VALID.replace(API, '"apiVersion":"a/b/c"'), 'unexpected GroupVersion string'],
    ['apiVersion missing', VALID.replace(`${API},`, ''), /actual apiVersion:$/],
    ['apiVersion in another case', VALID.replace(API, `"apiVersion":"${V1.toUpperCase()}"`), 'did not match'],
    ['the echoed request kind', VALID.replace('CredentialProviderResponse', 'CredentialProviderRequest'), 'echoes the request'],
    ['an unregistered kind', VALID.replace('CredentialProviderResponse', 'CredentialProviderConfig'), 'no kind "CredentialProviderConfig"'],
    ['kind in another case', VALID.replace('CredentialProviderResponse', 'credentialproviderresponse'), 'no kind'],
    ['a "Kind" key (found by the lenient sniff, refused by the strict decode)', VALID.replace('"kind"', '"Kind"'), 'unknown field "Kind"'],
    ['a Kelvin-sign "Kind" key', VALID.replace('"kind"', '"\u212Aind"'), 'unknown field'],
    ['duplicate kind', VALID.replace(KIND, `${KIND},${KIND}`), 'duplicate field "kind"'],
    ['duplicate auth', VALID.replace(AUTH, `${AUTH},${AUTH}`), 'duplicate field "auth"'],
    ['duplicate auth key', VALID.replace(AUTH, '"auth":{"a.io":null,"a.io":null}'), 'duplicate field "auth.a.io"'],
    ['duplicate username', VALID.replace('"username":"u"', '"username":"u","username":"v"'), 'duplicate field "auth.fra.ocir.io.username"'],
    ['serviceAccountTokenCacheType (never released)', VALID.replace('{', '{"serviceAccountTokenCacheType":"Pod",'), 'unknown field'],
    ['auth entry "auth"', VALID.replace('"password":"p"', '"password":"p","auth":"dTpw"'), 'unknown field'],
    ['auth entry identitytoken', VALID.replace('"password":"p"', '"identitytoken":"x"'), 'unknown field'],
    ['Username (wrong case)', VALID.replace('"username"', '"Username"'), 'unknown field'],
    ['username a number', VALID.replace('"u"', '1'), 'cannot unmarshal number'],
    ['password a boolean', VALID.replace('"p"', 'true'), 'cannot unmarshal bool'],
    ['an auth entry that is a string', VALID.replace(AUTH, '"auth":{"fra.ocir.io":"u:p"}'), 'cannot unmarshal string'],
    ['auth a string', VALID.replace(AUTH, '"auth":"x"'), 'cannot unmarshal string'],
    ['cacheKeyType missing', VALID.replace('"cacheKeyType":"Registry",', ''), 'valid cacheKeyType: ""'],
    ['cacheKeyType null', VALID.replace('"Registry"', 'null'), 'valid cacheKeyType: ""'],
    ['cacheKeyType empty', VALID.replace('"Registry"', '""'), 'valid cacheKeyType: ""'],
    ['cacheKeyType a number', VALID.replace('"Registry"', '1'), 'cannot unmarshal number'],
    ['cacheDuration "1H"', VALID.replace('"55m0s"', '"1H"'), 'invalid duration'],
    ['cacheDuration " 1h"', VALID.replace('"55m0s"', '" 1h"'), 'invalid duration'],
    ['cacheDuration "1"', VALID.replace('"55m0s"', '"1"'), 'invalid duration'],
    ['cacheDuration true', VALID.replace('"55m0s"', 'true'), 'cannot unmarshal bool'],
    ['cacheDuration past int64', VALID.replace('"55m0s"', '"2562048h"'), 'invalid duration'],
    ['cacheDuration an object', VALID.replace('"55m0s"', '{"Duration":1}'), 'cannot unmarshal object'],
    ['a trailing comma', VALID.replace('}}}', '}},}'), 'invalid character'],
    ['a single-quoted string', VALID.replace('"55m0s"', "'55m0s'"), 'invalid character'],
    ['a raw newline inside a string', VALID.replace('"p"', '"p\nq"'), 'in string literal'],
  ];
  for (const [name, stdout, reason] of cases) test(name, () => rejects(stdout, reason));
});

describe('validateKubeletResponse: the §6 row 31 positive set', () => {
  const accepts = (stdout: string, apiVersion = V1) => {
    const verdict = validateKubeletResponse(stdout, apiVersion);
    if (!verdict.ok) throw new Error(`rejected: ${verdict.reason}`);
    return verdict.response;
  };

  test('the reference response', () => {
    expect(accepts(VALID)).toEqual({
      kind: 'CredentialProviderResponse',
      apiVersion: V1,
      cacheKeyType: 'Registry',
      cacheDuration: '55m0s',
      cacheDurationNs: 3300e9,
      auth: { 'fra.ocir.io': { username: 'u', password: 'p' } },
    });
  });

  test('surrounding whitespace and newlines', () => {
    expect(accepts(` \r\n\t${VALID}\n\n \t\r\n`).cacheKeyType).toBe('Registry');
    expect(accepts(JSON.stringify(JSON.parse(VALID), null, 2)).cacheKeyType).toBe('Registry');
  });

  test('auth: null, and auth absent', () => {
    expect(accepts(VALID.replace(AUTH, '"auth":null')).auth).toEqual({});
    expect(accepts(VALID.replace(`,${AUTH}`, '')).auth).toEqual({});
  });

  test('cacheDuration: null, and absent (use defaultCacheDuration)', () => {
    for (const stdout of [VALID.replace('"55m0s"', 'null'), VALID.replace('"cacheDuration":"55m0s",', '')]) {
      const response = accepts(stdout);
      expect(response.cacheDuration).toBeNull();
      expect(response.cacheDurationNs).toBeNull();
    }
  });

  test('cacheDuration: "-1s" (accepted, stored already expired), "0", "1.5h", "300ms"', () => {
    expect(accepts(VALID.replace('"55m0s"', '"-1s"')).cacheDurationNs).toBe(-1e9);
    expect(accepts(VALID.replace('"55m0s"', '"0"')).cacheDurationNs).toBe(0);
    expect(accepts(VALID.replace('"55m0s"', '"1.5h"')).cacheDurationNs).toBe(5.4e12);
    expect(accepts(VALID.replace('"55m0s"', '"300ms"')).cacheDurationNs).toBe(3e8);
  });

  test('auth: {"x": null}, an empty entry, and a partial entry', () => {
    expect(accepts(VALID.replace(AUTH, '"auth":{"x":null}')).auth).toEqual({ x: null });
    expect(accepts(VALID.replace(AUTH, '"auth":{"x":{}}')).auth).toEqual({ x: { username: '', password: '' } });
    expect(accepts(VALID.replace(AUTH, '"auth":{"x":{"password":"p","username":null}}')).auth).toEqual({ x: { username: '', password: 'p' } });
  });

  test('every cache key type, any key order, escaped keys', () => {
    for (const type of ['Image', 'Registry', 'Global'] as const) {
      expect(accepts(`{"auth":{},"cacheKeyType":"${type}",${API},${KIND}}`).cacheKeyType).toBe(type);
    }
    expect(accepts(VALID.replace('"kind"', '"\\u006bind"').replace('"auth"', '"au\\u0074h"')).auth).toEqual({ 'fra.ocir.io': { username: 'u', password: 'p' } });
  });

  test('the other versions, each against itself', () => {
    for (const version of [V1BETA1, 'credentialprovider.kubelet.k8s.io/v1alpha1']) {
      expect(accepts(VALID.replace(API, `"apiVersion":"${version}"`), version).apiVersion).toBe(version);
    }
  });

  test('a lone surrogate escape decodes to U+FFFD, as in Go', () => {
    expect(accepts(VALID.replace('"p"', '"a\\ud800b"')).auth['fra.ocir.io']?.password).toBe('a\uFFFDb');
  });
});

describe('validateKubeletResponse: the echoed-token rule (service-account mode)', () => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.payload.signature';
  const echo = VALID.replace('"password":"p"', `"password":"${token}"`);

  test('a password equal to the token is refused unless cacheType is Token', () => {
    expect(validateKubeletResponse(echo, V1, { serviceAccountToken: token }).ok).toBe(false);
    expect(validateKubeletResponse(echo, V1, { serviceAccountToken: token, cacheType: 'ServiceAccount' }).ok).toBe(false);
    expect(validateKubeletResponse(echo, V1, { serviceAccountToken: token, cacheType: 'Token' }).ok).toBe(true);
    expect(validateKubeletResponse(echo, V1).ok).toBe(true);
  });

  test('a different password passes', () => {
    expect(validateKubeletResponse(VALID, V1, { serviceAccountToken: token }).ok).toBe(true);
  });
});
