import { describe, expect, test } from 'bun:test';
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { ProviderError } from '../../src/errors.ts';
import {
  BODY_HEADERS,
  EMPTY_BODY_SHA256,
  FEDERATION_HEADERS,
  GENERIC_HEADERS,
  authorizationHeader,
  buildSigningString,
  contentSha256,
  signRequest,
} from '../../src/oci/signer.ts';
import { ORACLE_TEST_PRIVATE_KEY as GO_TEST_PRIVATE_KEY } from '../support/oracleTestKey.ts';

// Published test data from oracle/oci-go-sdk common/http_signer_test.go.
const GO_TEST_BODY = `{
    "compartmentId": "ocid1.compartment.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa",
    "instanceId": "ocid1.instance.oc1.phx.abuw4ljrlsfiqw6vzzxb43vyypt4pkodawglp3wqxjqofakrwvou52gb6s5a",
    "volumeId": "ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q"
}`;

const GO_KEY_ID =
  'ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq/' +
  'ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq/' +
  '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34';

const GO_GET_URL =
  'https://iaas.us-phoenix-1.oraclecloud.com/20160918/instances' +
  '?availabilityDomain=Pjwf%3A%20PHX-AD-1&' +
  'compartmentId=ocid1.compartment.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa' +
  '&displayName=TeamXInstances&volumeId=ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q';

const GO_DATE_HEADER = 'Thu, 05 Jan 2014 21:31:40 GMT';
const GO_INSTANT = new Date(Date.UTC(2014, 0, 5, 21, 31, 40));

const goIdentity = { keyId: GO_KEY_ID, privateKey: createPrivateKey(GO_TEST_PRIVATE_KEY) };

interface Vector {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly signingString: string;
  readonly signedHeaders: string;
  readonly signature: string;
  readonly sentHeaders: Record<string, string>;
}

const GO_VECTORS: readonly Vector[] = [
  {
    name: 'Go TestOCIRequestSigner_Sign (GET with escaped query)',
    method: 'GET',
    url: GO_GET_URL,
    signingString:
      'date: Thu, 05 Jan 2014 21:31:40 GMT\n' +
      '(request-target): get /20160918/instances?availabilityDomain=Pjwf%3A%20PH' +
      'X-AD-1&compartmentId=ocid1.compartment.oc1..aaaaaaaam3we6vgnherjq5q2i' +
      'dnccdflvjsnog7mlr6rtdb25gilchfeyjxa&displayName=TeamXInstances&' +
      'volumeId=ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q\n' +
      'host: iaas.us-phoenix-1.oraclecloud.com',
    signedHeaders: 'date (request-target) host',
    signature:
      'GBas7grhyrhSKHP6AVIj/h5/Vp8bd/peM79H9Wv8kjoaCivujVXlpbKLjMPe' +
      'DUhxkFIWtTtLBj3sUzaFj34XE6YZAHc9r2DmE4pMwOAy/kiITcZxa1oHPOeRheC0jP2dqbTll' +
      '8fmTZVwKZOKHYPtrLJIJQHJjNvxFWeHQjMaR7M=',
    sentHeaders: { date: GO_DATE_HEADER },
  },
  {
    name: 'Go TestOCIRequestSigner_Sign2 (POST with the 316-byte body)',
    method: 'POST',
    url: 'https://iaas.us-phoenix-1.oraclecloud.com/20160918/volumeAttachments',
    headers: { 'Content-Type': 'application/json' },
    body: GO_TEST_BODY,
    signingString: `date: Thu, 05 Jan 2014 21:31:40 GMT
(request-target): post /20160918/volumeAttachments
host: iaas.us-phoenix-1.oraclecloud.com
content-length: 316
content-type: application/json
x-content-sha256: V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=`,
    signedHeaders: 'date (request-target) host content-length content-type x-content-sha256',
    signature:
      'Mje8vIDPlwIHmD/cTDwRxE7HaAvBg16JnVcsuqaNRim23fFPgQfLoOOxae6WqKb1uPjYEl0qIdazWaBy/Ml8DRhqlocMwoSXv0fbukP8J5N80LCmzT/FFBvIvTB91XuXI3hYfP9Zt1l7S6ieVadHUfqBedWH0itrtPJBgKmrWso=',
    sentHeaders: {
      date: GO_DATE_HEADER,
      'content-type': 'application/json',
      'content-length': '316',
      'x-content-sha256': 'V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=',
    },
  },
];

describe('signRequest: Go SDK vectors, byte for byte', () => {
  for (const v of GO_VECTORS) {
    const names = v.signedHeaders.split(' ');
    const expectedAuthorization =
      `Signature version="1",headers="${v.signedHeaders}",keyId="${GO_KEY_ID}",` +
      `algorithm="rsa-sha256",signature="${v.signature}"`;

    test(`${v.name}: signing string and full Authorization header`, () => {
      expect(buildSigningString(v.method, new URL(v.url), v.sentHeaders, names)).toBe(v.signingString);
      expect(authorizationHeader(v.signingString, names, goIdentity)).toBe(expectedAuthorization);
    });

    // The Go tests set the Date header as a raw string, "Thu, 05 Jan 2014", but 5 January 2014
    // was a Sunday, so no Date formats to it. signRequest at that instant must differ from the
    // vector in the weekday only: same headers, same signing string, same construction.
    test(`${v.name}: signRequest at the vector's instant`, () => {
      const request = { method: v.method, url: v.url, headers: v.headers, body: v.body };
      const sent = signRequest(request, goIdentity, { date: GO_INSTANT });
      const { authorization, ...rest } = sent;
      const dateHeader = 'Sun, 05 Jan 2014 21:31:40 GMT';
      expect(rest).toEqual({ ...v.sentHeaders, date: dateHeader });
      const signingString = v.signingString.replace(GO_DATE_HEADER, dateHeader);
      expect(buildSigningString(v.method, new URL(v.url), sent, names)).toBe(signingString);
      expect(authorization).toBe(authorizationHeader(signingString, names, goIdentity));
      expect(authorization).toStartWith(expectedAuthorization.slice(0, expectedAuthorization.indexOf('signature=')));
    });
  }

  test('the Go POST body is the published 316 bytes', () => {
    expect(Buffer.byteLength(GO_TEST_BODY)).toBe(316);
    expect(contentSha256(GO_TEST_BODY)).toBe('V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=');
  });

  test('a URL object signs the same as its string', () => {
    const fromString = signRequest({ method: 'GET', url: GO_GET_URL }, goIdentity, { date: GO_INSTANT });
    const fromUrl = signRequest({ method: 'get', url: new URL(GO_GET_URL) }, goIdentity, { date: GO_INSTANT });
    expect(fromUrl).toEqual(fromString);
  });
});

describe('signRequest: headers per method', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const identity = { keyId: 'ST$token', privateKey };
  const date = new Date(Date.UTC(2026, 1, 3, 4, 5, 6));

  /** Checks the signature against the signing string rebuilt from what is sent. */
  function verifies(method: string, url: string, sent: Record<string, string>): boolean {
    const auth = sent['authorization'] ?? '';
    const params = Object.fromEntries([...auth.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const signingString = buildSigningString(method, new URL(url), sent, (params['headers'] ?? '').split(' '));
    return verify('sha256', Buffer.from(signingString), publicKey, Buffer.from(params['signature'] ?? '', 'base64'));
  }

  const rows: readonly {
    name: string;
    method: string;
    body?: string | Uint8Array;
    headers?: Record<string, string>;
    expected: Record<string, string>;
    signed: string;
  }[] = [
    { name: 'GET', method: 'GET', expected: {}, signed: 'date (request-target) host' },
    { name: 'HEAD', method: 'HEAD', expected: {}, signed: 'date (request-target) host' },
    { name: 'DELETE', method: 'DELETE', body: '', expected: {}, signed: 'date (request-target) host' },
    {
      name: 'POST without a body',
      method: 'POST',
      expected: { 'content-length': '0', 'content-type': 'application/json', 'x-content-sha256': EMPTY_BODY_SHA256 },
      signed: BODY_HEADERS.join(' '),
    },
    {
      name: 'PUT with a UTF-8 body counts bytes, not characters',
      method: 'PUT',
      body: '{"name":"é€"}',
      expected: {
        'content-length': '16',
        'content-type': 'application/json',
        'x-content-sha256': contentSha256(Buffer.from('{"name":"é€"}')),
      },
      signed: BODY_HEADERS.join(' '),
    },
    {
      name: 'PATCH with bytes and a caller content type',
      method: 'patch',
      body: new Uint8Array([1, 2, 3]),
      headers: { 'Content-Type': 'application/octet-stream', 'X-Extra': 'kept' },
      expected: {
        'content-length': '3',
        'content-type': 'application/octet-stream',
        'x-content-sha256': contentSha256(new Uint8Array([1, 2, 3])),
        'x-extra': 'kept',
      },
      signed: BODY_HEADERS.join(' '),
    },
  ];

  for (const row of rows) {
    test(row.name, () => {
      const url = 'https://auth.eu-frankfurt-1.oraclecloud.com/v1/x509';
      const sent = signRequest({ method: row.method, url, headers: row.headers, body: row.body }, identity, { date });
      const { authorization, ...rest } = sent;
      expect(rest).toEqual({ date: 'Tue, 03 Feb 2026 04:05:06 GMT', ...row.expected });
      expect(authorization).toStartWith(`Signature version="1",headers="${row.signed}",keyId="ST$token",`);
      expect(verifies(row.method, url, sent)).toBe(true);
    });
  }

  test('the federation set signs no host', () => {
    const url = 'https://auth.eu-frankfurt-1.oraclecloud.com/v1/x509';
    const sent = signRequest({ method: 'POST', url, body: '{}' }, identity, {
      date,
      headersToSign: FEDERATION_HEADERS,
    });
    expect(sent['authorization']).toContain(
      'headers="date (request-target) content-length content-type x-content-sha256"',
    );
    expect(buildSigningString('POST', new URL(url), sent, FEDERATION_HEADERS)).toBe(
      [
        'date: Tue, 03 Feb 2026 04:05:06 GMT',
        '(request-target): post /v1/x509',
        'content-length: 2',
        'content-type: application/json',
        `x-content-sha256: ${contentSha256('{}')}`,
      ].join('\n'),
    );
    expect(verifies('POST', url, sent)).toBe(true);
  });

  test('host carries a non-default port and drops the default one', () => {
    expect(buildSigningString('GET', new URL('http://localhost:7000/a?b=c'), {}, ['(request-target)', 'host'])).toBe(
      '(request-target): get /a?b=c\nhost: localhost:7000',
    );
    expect(buildSigningString('GET', new URL('https://x.example:443/'), {}, ['host'])).toBe('host: x.example');
  });

  test('the request target is the path and query as fetch sends them, without the fragment', () => {
    const url = new URL('https://fra.ocir.io/20180419/docker/token?scope=repository:ns/app:pull&x=a b#frag');
    expect(buildSigningString('GET', url, {}, ['(request-target)'])).toBe(
      '(request-target): get /20180419/docker/token?scope=repository:ns/app:pull&x=a%20b',
    );
  });

  test('extra signed headers are signed in the order given', () => {
    const url = 'https://iaas.example/x';
    const sent = signRequest({ method: 'GET', url, headers: { 'opc-obo-token': 'obo' } }, identity, {
      date,
      headersToSign: [...GENERIC_HEADERS, 'opc-obo-token'],
    });
    expect(sent['authorization']).toContain('headers="date (request-target) host opc-obo-token"');
    expect(verifies('GET', url, sent)).toBe(true);
  });

  test('re-signing the output of an earlier call gives the same headers', () => {
    const request = { method: 'POST', url: 'https://iaas.example/x', body: '{"a":1}' };
    const first = signRequest(request, identity, { date });
    const again = signRequest({ ...request, headers: first }, identity, { date });
    expect(again).toEqual(first);
  });

  test('a header named __proto__ stays data', () => {
    const sent = signRequest({ method: 'GET', url: 'https://x.example/', headers: { ['__proto__']: 'v' } }, identity, {
      date,
    });
    expect(Object.getPrototypeOf(sent)).toBe(Object.prototype);
    expect(Object.keys(sent)).toContain('__proto__');
  });

  test('the constants are the SDK sets', () => {
    expect(GENERIC_HEADERS).toEqual(['date', '(request-target)', 'host']);
    expect(BODY_HEADERS).toEqual([...GENERIC_HEADERS, 'content-length', 'content-type', 'x-content-sha256']);
    expect(FEDERATION_HEADERS).toEqual([
      'date',
      '(request-target)',
      'content-length',
      'content-type',
      'x-content-sha256',
    ]);
    expect(contentSha256(undefined)).toBe(EMPTY_BODY_SHA256);
    expect(contentSha256('')).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const bad: readonly { name: string; run: () => unknown; message: RegExp }[] = [
    {
      name: 'a body on GET',
      run: () => signRequest({ method: 'GET', url: 'https://x.example/', body: 'x' }, identity, { date }),
      message: /GET request body would not be signed/,
    },
    {
      name: 'a header to sign that is missing',
      run: () =>
        signRequest({ method: 'GET', url: 'https://x.example/' }, identity, {
          date,
          headersToSign: [...GENERIC_HEADERS, 'opc-obo-token'],
        }),
      message: /opc-obo-token is to be signed/,
    },
    {
      name: 'body headers on GET',
      run: () =>
        signRequest({ method: 'GET', url: 'https://x.example/' }, identity, { date, headersToSign: BODY_HEADERS }),
      message: /content-length is to be signed/,
    },
    {
      name: 'a header given twice in different case',
      run: () =>
        signRequest({ method: 'GET', url: 'https://x.example/', headers: { 'X-A': '1', 'x-a': '2' } }, identity, {
          date,
        }),
      message: /x-a is given twice/,
    },
    {
      name: 'a line break in a value',
      run: () =>
        signRequest({ method: 'GET', url: 'https://x.example/', headers: { 'x-a': '1\nhost: evil' } }, identity, {
          date,
        }),
      message: /line break/,
    },
    {
      name: 'an invalid header name',
      run: () => signRequest({ method: 'GET', url: 'https://x.example/', headers: { 'x a': '1' } }, identity, { date }),
      message: /not an HTTP token/,
    },
    {
      name: 'a host header that differs from the URL',
      run: () =>
        signRequest({ method: 'GET', url: 'https://x.example/', headers: { Host: 'y.example' } }, identity, { date }),
      message: /host header does not match/,
    },
    {
      name: 'a header listed twice to sign',
      run: () =>
        signRequest({ method: 'GET', url: 'https://x.example/' }, identity, { date, headersToSign: ['date', 'Date'] }),
      message: /listed twice/,
    },
    {
      name: 'an empty list to sign',
      run: () => signRequest({ method: 'GET', url: 'https://x.example/' }, identity, { date, headersToSign: [] }),
      message: /no headers to sign/,
    },
    {
      name: 'an invalid date',
      run: () => signRequest({ method: 'GET', url: 'https://x.example/' }, identity, { date: new Date(NaN) }),
      message: /date is invalid/,
    },
    {
      name: 'a URL that does not parse (not echoed)',
      run: () => signRequest({ method: 'GET', url: '/relative?token=secret' }, identity, { date }),
      message: /^cannot sign a request: its URL does not parse$/,
    },
    {
      name: 'a non-RSA key',
      run: () => signRequest({ method: 'GET', url: 'https://x.example/' }, { keyId: 'k', privateKey: ecKey }, { date }),
      message: /not an RSA private key/,
    },
    {
      name: 'a public key',
      run: () =>
        signRequest(
          { method: 'GET', url: 'https://x.example/' },
          { keyId: 'k', privateKey: createPublicKey(privateKey) },
          { date },
        ),
      message: /not an RSA private key/,
    },
  ];
  for (const row of bad) {
    test(`refuses ${row.name}`, () => {
      let caught: unknown;
      try {
        row.run();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ProviderError);
      expect((caught as ProviderError).code).toBe('ERR_INTERNAL');
      expect((caught as ProviderError).message).toMatch(row.message);
    });
  }
});
