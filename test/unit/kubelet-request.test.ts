import { describe, expect, test } from 'bun:test';
import type { ProviderError } from '../../src/errors.ts';
import { formatErrorLine } from '../../src/errors.ts';
import { API_VERSIONS, isApiVersion } from '../../src/kubelet/apiVersion.ts';
import type { ApiVersion } from '../../src/kubelet/apiVersion.ts';
import { decodeRequest } from '../../src/kubelet/request.ts';
import { kubeletEncodedRequest, MAX_REQUEST_BYTES } from '../../src/kubelet/requestBytes.ts';
import { caught } from '../support/caught.ts';

const V1: ApiVersion = 'credentialprovider.kubelet.k8s.io/v1';
const V1BETA1: ApiVersion = 'credentialprovider.kubelet.k8s.io/v1beta1';
const V1ALPHA1: ApiVersion = 'credentialprovider.kubelet.k8s.io/v1alpha1';
const IMAGE = 'registry.example.com/team/app';
/** §6 row 1, byte for byte as the kubelet's json.Encoder writes it. */
const ROW1 = `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"${IMAGE}"}\n`;
/** Shaped like a (short) service-account JWT; real ones are several hundred characters. */
const SECRET = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXNlY3JldA';


const request = (fields: Record<string, unknown>): string =>
  JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1, image: IMAGE, ...fields });

const refusal = (input: string | Uint8Array): ProviderError => caught(() => decodeRequest(input));

describe('apiVersion', () => {
  test('exactly the three versions, case-sensitively', () => {
    expect([...API_VERSIONS]).toEqual([V1, V1BETA1, V1ALPHA1]);
    for (const v of API_VERSIONS) expect(isApiVersion(v)).toBe(true);
    for (const v of ['credentialprovider.kubelet.k8s.io/v2', 'Credentialprovider.kubelet.k8s.io/v1', 'v1', '', ` ${V1}`, 1, null, undefined]) {
      expect(isApiVersion(v)).toBe(false);
    }
  });
});

describe('decodeRequest accepts what a kubelet sends', () => {
  test('row 1: the compact v1 request with a trailing newline', () => {
    expect(decodeRequest(ROW1)).toEqual({ apiVersion: V1, image: IMAGE });
  });

  test('rows 2 and 3: v1beta1 and v1alpha1 keep their version', () => {
    for (const apiVersion of [V1BETA1, V1ALPHA1]) {
      expect(decodeRequest(request({ apiVersion }))).toEqual({ apiVersion, image: IMAGE });
    }
  });

  test('row 4: keys reordered, pretty-printed, no trailing newline', () => {
    const pretty = `{\r\n\t"image" : "${IMAGE}",\n  "apiVersion":\t"${V1}" ,\n  "kind": "CredentialProviderRequest"\n}`;
    expect(decodeRequest(pretty)).toEqual({ apiVersion: V1, image: IMAGE });
  });

  test('row 5: unknown fields are ignored and empty annotations mean none', () => {
    const input = request({ futureField: { a: 1, nested: [1, { b: null }] }, serviceAccountAnnotations: {} });
    expect(decodeRequest(input)).toEqual({ apiVersion: V1, image: IMAGE });
  });

  test('bytes decode like the same text', () => {
    expect(decodeRequest(new TextEncoder().encode(ROW1))).toEqual(decodeRequest(ROW1));
  });

  test('row 25: a 16 KiB token and 100 annotations fit and come through intact', () => {
    const token = 'x'.repeat(16 * 1024);
    const annotations = Object.fromEntries(Array.from({ length: 100 }, (_, n) => [`example.com/key-${n}`, 'v'.repeat(200)]));
    const input = request({ serviceAccountToken: token, serviceAccountAnnotations: annotations });
    const decoded = decodeRequest(new TextEncoder().encode(input));
    expect(decoded.serviceAccountToken).toBe(token);
    expect(decoded.serviceAccountAnnotations).toEqual(annotations);
  });

  test('service-account fields on v1', () => {
    const decoded = decodeRequest(request({ serviceAccountToken: SECRET, serviceAccountAnnotations: { 'example.com/role': 'puller' } }));
    expect(decoded).toEqual({
      apiVersion: V1,
      image: IMAGE,
      serviceAccountToken: SECRET,
      serviceAccountAnnotations: { 'example.com/role': 'puller' },
    });
  });

  test('an empty or null token and null annotations mean absent, as for Go', () => {
    expect(decodeRequest(request({ serviceAccountToken: '' }))).toEqual({ apiVersion: V1, image: IMAGE });
    expect(decodeRequest(request({ serviceAccountToken: null, serviceAccountAnnotations: null }))).toEqual({ apiVersion: V1, image: IMAGE });
  });

  test('service-account fields on v1alpha1/v1beta1 are unknown fields there: ignored and dropped, whatever their type', () => {
    for (const apiVersion of [V1ALPHA1, V1BETA1]) {
      const valid = decodeRequest(request({ apiVersion, serviceAccountToken: SECRET, serviceAccountAnnotations: { a: 'b' } }));
      expect(valid).toEqual({ apiVersion, image: IMAGE });
      expect('serviceAccountToken' in valid).toBe(false);
      const wrongTypes = decodeRequest(request({ apiVersion, serviceAccountToken: 42, serviceAccountAnnotations: [1] }));
      expect(wrongTypes).toEqual({ apiVersion, image: IMAGE });
    }
  });

  test('keys are case-sensitive: "Image" is an unknown field, not the image', () => {
    const input = `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","Image":"x/y","image":"${IMAGE}"}`;
    expect(decodeRequest(input).image).toBe(IMAGE);
  });

  test('duplicate keys inside ignored fields do not matter', () => {
    const input = `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"${IMAGE}","future":{"a":1,"a":2},"other":1,"other":2}`;
    expect(decodeRequest(input)).toEqual({ apiVersion: V1, image: IMAGE });
  });

  test('"__proto__" as an annotation key is plain data', () => {
    const input = `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"${IMAGE}","serviceAccountAnnotations":{"__proto__":"x"}}`;
    const annotations = decodeRequest(input).serviceAccountAnnotations ?? {};
    expect(Object.keys(annotations)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(annotations)).toBe(Object.prototype);
  });

  test('escaped text decodes (keys and values)', () => {
    const input = `{"\\u006bind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io\\/v1","image":"${IMAGE}"}`;
    expect(decodeRequest(input)).toEqual({ apiVersion: V1, image: IMAGE });
  });

  test('exactly MAX_REQUEST_BYTES is accepted, one more byte is not', () => {
    const base = request({ pad: '' });
    const exact = request({ pad: 'p'.repeat(MAX_REQUEST_BYTES - base.length) });
    expect(new TextEncoder().encode(exact).length).toBe(MAX_REQUEST_BYTES);
    expect(decodeRequest(exact).image).toBe(IMAGE);
    expect(refusal(`${exact} `).message).toContain('over the limit');
  });
});

describe('decodeRequest refuses, naming the problem', () => {
  const cases: ReadonlyArray<readonly [name: string, input: string | Uint8Array, message: string]> = [
    ['row 8: empty stdin', '', 'empty'],
    ['row 8: empty bytes', new Uint8Array(0), 'empty'],
    ['only whitespace', ' \n\t\r\n', 'only whitespace'],
    ['row 9: not json', 'not json', 'not valid JSON: unexpected character at character 1'],
    ['row 9: not json, from its first character', 'x', 'not valid JSON: unexpected character at character 0'],
    ['row 9: truncated', ROW1.slice(0, 40), 'truncated'],
    ['truncated inside a literal', '{"kind":tru', 'truncated'],
    ['row 9: a JSON array', '[]', 'an array, not a JSON object'],
    ['row 9: null', 'null', 'null, not a JSON object'],
    ['a string', '"CredentialProviderRequest"', 'a string, not a JSON object'],
    ['a number', '42', 'a number, not a JSON object'],
    ['a boolean', 'true', 'a boolean, not a JSON object'],
    ['a trailing comma', `{"kind":"CredentialProviderRequest","image":"${IMAGE}",}`, 'unexpected character'],
    ['a raw control character in a string', `{"kind":"Credential\u0001ProviderRequest"}`, 'unexpected character'],
    ['a bad escape', '{"kind":"\\x41"}', 'unexpected character'],
    ['a lone surrogate escape', '{"kind":"\\ud800"}', 'half of a UTF-16 surrogate pair'],
    ['a lone surrogate in the text', `{"kind":"\uD800"}`, 'not valid UTF-8'],
    ['invalid UTF-8 bytes', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), 'not valid UTF-8'],
    ['trailing garbage', `${ROW1}garbage`, `data after the JSON object, at character ${ROW1.length}`],
    ['a second object', `${ROW1}${ROW1}`, 'data after the JSON object'],
    ['a log line after the object', `${ROW1.trim()} done`, 'data after the JSON object'],
    ['a UTF-8 BOM (text)', `\uFEFF${ROW1}`, 'byte order mark'],
    ['a UTF-8 BOM (bytes)', new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(ROW1)]), 'byte order mark'],
    ['huge input (text)', `{"pad":"${'a'.repeat(MAX_REQUEST_BYTES)}"}`, `over the limit of ${MAX_REQUEST_BYTES} bytes`],
    ['huge input (bytes)', new Uint8Array(MAX_REQUEST_BYTES + 1).fill(0x20), 'over the limit'],
    ['deep nesting', `{"future":${'['.repeat(600)}${']'.repeat(600)}}`, 'nests deeper than 512 levels'],
    ['row 7: the wrong kind', request({ kind: 'CredentialProviderResponse' }), '"kind" is "CredentialProviderResponse", expected "CredentialProviderRequest"'],
    ['kind in the wrong case', request({ kind: 'credentialproviderrequest' }), 'expected "CredentialProviderRequest"'],
    ['kind missing', `{"apiVersion":"${V1}","image":"${IMAGE}"}`, 'has no "kind"'],
    ['kind not a string', request({ kind: 7 }), '"kind" is a number'],
    ['row 6: apiVersion v2', request({ apiVersion: 'credentialprovider.kubelet.k8s.io/v2' }), `is not supported; supported: ${V1}, ${V1BETA1}, ${V1ALPHA1}`],
    ['apiVersion missing', `{"kind":"CredentialProviderRequest","image":"${IMAGE}"}`, `has no "apiVersion"; supported: ${V1}`],
    ['apiVersion null', request({ apiVersion: null }), '"apiVersion" null is not supported'],
    ['apiVersion in another case', request({ apiVersion: V1.toUpperCase() }), 'is not supported'],
    ['image missing', `{"kind":"CredentialProviderRequest","apiVersion":"${V1}"}`, 'has no "image"'],
    ['image not a string', request({ image: 5 }), '"image" is a number, expected a non-empty string'],
    ['image null', request({ image: null }), '"image" is null'],
    ['row 10: image empty', request({ image: '' }), '"image" is empty'],
    ['serviceAccountToken a number', request({ serviceAccountToken: 5 }), '"serviceAccountToken" is a number, expected a string'],
    ['serviceAccountToken an object', request({ serviceAccountToken: { value: SECRET } }), '"serviceAccountToken" is an object'],
    ['annotations an array', request({ serviceAccountAnnotations: ['a'] }), '"serviceAccountAnnotations" is an array, expected an object of strings'],
    ['annotations a string', request({ serviceAccountAnnotations: 'a=b' }), '"serviceAccountAnnotations" is a string'],
    ['an annotation a number', request({ serviceAccountAnnotations: { 'example.com/n': 1 } }), 'a number under "example.com/n"'],
    ['an annotation null', request({ serviceAccountAnnotations: { 'example.com/n': null } }), 'null under "example.com/n"'],
    ['duplicate image', `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"a.io/x","image":"b.io/y"}`, 'the key "image" more than once'],
    ['duplicate kind', `{"kind":"CredentialProviderRequest","kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"${IMAGE}"}`, 'the key "kind" more than once'],
    ['duplicate token', `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"${IMAGE}","serviceAccountToken":"a","serviceAccountToken":"b"}`, 'the key "serviceAccountToken" more than once'],
    [
      'duplicate annotation key',
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"${IMAGE}","serviceAccountAnnotations":{"r":"a","r":"b"}}`,
      '"serviceAccountAnnotations" has the key "r" more than once',
    ],
  ];

  for (const [name, input, message] of cases) {
    test(name, () => {
      const error = refusal(input);
      expect(error.code).toBe('ERR_REQUEST_INVALID');
      expect(error.message).toContain(message);
      expect(error.hint).toBeDefined();
    });
  }

  test('messages stay short for huge values', () => {
    expect(refusal(request({ apiVersion: 'v'.repeat(100_000) })).message).toContain('"apiVersion" a string of 100000 characters is not supported');
    expect(refusal(request({ kind: 'k'.repeat(100_000) })).message.length).toBeLessThan(300);
    expect(refusal(request({ serviceAccountAnnotations: { ['k'.repeat(100_000)]: 1 } })).message.length).toBeLessThan(300);
  });

  test('the service-account token never appears in a message, a hint or a cause', () => {
    const withToken = request({ serviceAccountToken: SECRET });
    const inputs = [
      withToken.slice(0, -1), // truncated
      `${withToken}${SECRET}`, // trailing data
      `${withToken.slice(0, -1)},"x":${SECRET}}`, // syntax error right at the token
      withToken.replace('"image"', `"${SECRET}":1,"image"`).replace(`"${IMAGE}"`, '7'), // token as a key
      request({ serviceAccountToken: [SECRET] }),
      request({ serviceAccountToken: SECRET, serviceAccountAnnotations: { k: [SECRET] } }),
      request({ serviceAccountToken: SECRET, kind: 'CredentialProviderResponse' }),
      request({ serviceAccountToken: SECRET, apiVersion: 'credentialprovider.kubelet.k8s.io/v2' }),
      request({ serviceAccountToken: SECRET, kind: SECRET }), // a token pasted into the wrong field
      request({ serviceAccountToken: SECRET, apiVersion: SECRET.slice(0, 20) }),
      request({ apiVersion: `${SECRET}.${SECRET}` }),
      request({ kind: `${SECRET} ` }),
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"${IMAGE}","serviceAccountToken":"${SECRET}","serviceAccountToken":"${SECRET}"}`,
    ];
    for (const input of inputs) {
      const error = refusal(input);
      expect(formatErrorLine(error)).not.toContain(SECRET);
      expect(error.cause).toBeUndefined();
    }
  });
});

describe('kubeletEncodedRequest, the quick decoding of what the kubelet writes, agrees with the full reader', () => {
  const canonical = `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"fra.ocir.io/ns/repo"}`;
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  test("the kubelet's own encoding, with or without its newline, takes the quick path", () => {
    for (const text of [canonical, `${canonical}\n`]) {
      expect(kubeletEncodedRequest(bytes(text))).toEqual({ apiVersion: V1, image: 'fra.ocir.io/ns/repo' });
    }
  });

  test('anything else is left to the full reader: duplicates, escapes, whitespace, other keys, a token, a BOM, other kinds', () => {
    const others = [
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"a.io/x","image":"b.io/y"}`,
      `{"kind":"CredentialProviderRequest","kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"a.io/x"}`,
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"a.io/\\u0078"}`,
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"a.io/\\ud800"}`,
      `{ "kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"a.io/x"}`,
      `{"apiVersion":"${V1}","kind":"CredentialProviderRequest","image":"a.io/x"}`,
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"a.io/x","serviceAccountToken":"t"}`,
      `{"kind":"CredentialProviderRequest","apiVersion":"${V1}","image":""}`,
      `{"kind":"CredentialProviderRequest","apiVersion":"v9","image":"a.io/x"}`,
      `{"kind":"Other","apiVersion":"${V1}","image":"a.io/x"}`,
      `\uFEFF${canonical}`,
      `${canonical}\n\n`,
      `${canonical} `,
      `[${canonical}]`,
      'null',
      '',
    ];
    for (const text of others) expect(kubeletEncodedRequest(bytes(text))).toBeUndefined();
  });

  test('on 20,000 mutations of a real request, whatever the quick path accepts the full reader decodes the same', () => {
    const pieces = ['"', ',', ':', '{', '}', '\\', ' ', 'a', 'image', 'kind', '"x"', '\n', '\u00e9', '\u0000'];
    let state = 7;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    let accepted = 0;
    for (let round = 0; round < 20_000; round++) {
      let text = canonical;
      for (let edits = next(3); edits > 0; edits--) {
        const at = next(text.length + 1);
        text = next(2) === 0 ? text.slice(0, at) + (pieces[next(pieces.length)] ?? '') + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      }
      const quick = kubeletEncodedRequest(bytes(text));
      if (quick === undefined) continue;
      accepted++;
      // A string goes through the full reader only.
      expect(decodeRequest(text)).toEqual(quick);
    }
    expect(accepted).toBeGreaterThan(1_000);
  });
});
