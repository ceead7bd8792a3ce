import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthenticationDetailsProvider } from 'oci-common';
import { InstancePrincipalsAuthenticationDetailsProviderBuilder, SessionAuthDetailProvider, SimpleAuthenticationDetailsProvider } from 'oci-common';
import { getRequestTargetFromUri } from 'oci-common/lib/signer.js';
import { requestTarget, signRequest } from '../../src/oci/signer.ts';
import type { Emulator } from '../emulator/index.ts';
import { startEmulator } from '../emulator/index.ts';
import { rsaKeyPair, sdkSign, signatureParameters } from './support/sdk.ts';

/**
 * Our signer (src/oci/signer.ts) against Oracle's own: the same request, key and clock signed by
 * the SDK's `DefaultRequestSigner` (what every TS SDK service call uses; it signs `x-date`) and by
 * the SDK's federation signer (instance principals; it signs `date`, captured off the wire), and by
 * ours. RSASSA-PKCS1-v1_5 is deterministic, so equal signatures mean equal signing strings.
 */

const TENANCY = 'ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq';
const USER = 'ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq';
const FINGERPRINT = '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34';
/** A fixed instant, so the SDK's `x-date` and ours are the same clock reading. */
const CLOCK = new Date(Date.UTC(2026, 10, 26, 8, 15, 7));
const PASSPHRASE = 'correct horse battery staple';
/** What the SDK signs for GET/HEAD/DELETE and for POST/PUT/PATCH (`DefaultRequestSigner.headersToSign` + body headers). */
const SDK_GENERIC = ['x-date', '(request-target)', 'host'];
const SDK_BODY = [...SDK_GENERIC, 'content-type', 'content-length', 'x-content-sha256'];

interface Signer {
  readonly name: string;
  /** The SDK's provider for this key. */
  readonly provider: () => AuthenticationDetailsProvider;
  readonly keyId: string;
  readonly privateKeyPem: string;
  readonly passphrase?: string;
}

interface RequestCase {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: string;
  readonly body?: string;
  readonly contentType?: string;
}

const REQUESTS: readonly RequestCase[] = [
  { name: 'GET, no query', method: 'GET', url: 'https://fra.ocir.io/20180419/docker/token' },
  {
    name: 'GET with a query of escaped characters (Go vector URL)',
    method: 'GET',
    url:
      'https://iaas.us-phoenix-1.oraclecloud.com/20160918/instances?availabilityDomain=Pjwf%3A%20PHX-AD-1' +
      '&compartmentId=ocid1.compartment.oc1..aaaa&displayName=Team%20X%2FInstances',
  },
  {
    name: 'GET with a port, a space, non-ASCII and %2F in the path, and an unescaped query',
    method: 'GET',
    url: 'https://127.0.0.1:8443/v2/ns/a b/ü%2Fx/manifests/1.0?scope=repository:ns/app:pull&q=a b',
  },
  {
    name: 'POST with a JSON body',
    method: 'POST',
    url: 'https://auth.eu-frankfurt-1.oraclecloud.com/v1/x509',
    body: '{"certificate":"MIIB","publicKey":"MIIC","intermediateCertificates":["MIID"],"purpose":"DEFAULT"}',
  },
  { name: 'POST with an empty body', method: 'POST', url: 'https://auth.us-ashburn-1.oraclecloud.com/v1/authentication/refresh', body: '' },
  {
    name: 'PUT with a non-ASCII body and its own content type',
    method: 'PUT',
    url: 'https://objectstorage.eu-frankfurt-1.oraclecloud.com/n/ns/b/bucket?x=1',
    body: '{"name":"Zürich – 東京 🚀"}',
    contentType: 'application/json; charset=utf-8',
  },
];

let dir: string;
let signers: Signer[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpo-sdk-signer-'));
  const plain = rsaKeyPair();
  const pkcs1 = rsaKeyPair({ passphrase: PASSPHRASE, encoding: 'pkcs1' });
  const pkcs8 = rsaKeyPair({ passphrase: PASSPHRASE, encoding: 'pkcs8' });
  const session = rsaKeyPair();
  const sessionToken = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvY2lkMS51c2VyLm9jMS4uYWFhYSJ9.c2lnbmF0dXJl';
  writeFileSync(join(dir, 'session_key.pem'), session.privateKeyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'token'), sessionToken);
  writeFileSync(
    join(dir, 'config'),
    [
      '[DEFAULT]',
      `tenancy=${TENANCY}`,
      `fingerprint=${FINGERPRINT}`,
      'region=eu-frankfurt-1',
      `key_file=${join(dir, 'session_key.pem')}`,
      `security_token_file=${join(dir, 'token')}`,
      '',
    ].join('\n'),
  );
  const apiKey = (name: string, pair: { privateKeyPem: string }, passphrase?: string): Signer => ({
    name,
    provider: () => new SimpleAuthenticationDetailsProvider(TENANCY, USER, FINGERPRINT, pair.privateKeyPem, passphrase ?? null),
    keyId: `${TENANCY}/${USER}/${FINGERPRINT}`,
    privateKeyPem: pair.privateKeyPem,
    ...(passphrase === undefined ? {} : { passphrase }),
  });
  signers = [
    apiKey('an API key', plain),
    apiKey('an API key encrypted with a passphrase (PKCS#1, Proc-Type)', pkcs1, PASSPHRASE),
    apiKey('an API key encrypted with a passphrase (PKCS#8)', pkcs8, PASSPHRASE),
    {
      name: 'a session key (ST$ keyId, security_token_file profile)',
      provider: () => new SessionAuthDetailProvider(join(dir, 'config'), 'DEFAULT'),
      keyId: `ST$${sessionToken}`,
      privateKeyPem: session.privateKeyPem,
    },
  ];
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("DefaultRequestSigner (x-date) and ours sign byte for byte alike", () => {
  for (const request of REQUESTS) {
    test(request.name, async () => {
      for (const signer of signers) {
        const given: Record<string, string> = { 'x-date': CLOCK.toUTCString() };
        if (request.contentType !== undefined) given['content-type'] = request.contentType;
        const sdk = await sdkSign(signer.provider(), {
          uri: request.url,
          method: request.method,
          headers: new Headers(given),
          ...(request.body === undefined ? {} : { body: request.body }),
        });
        const sdkParams = signatureParameters(sdk.get('authorization'));
        const sdkSigned = (sdkParams.get('headers') ?? '').split(' ');
        // The SDK writes two names in the case it spells them (`Content-Type Content-Length`); the
        // signing string uses them lowercased (draft-cavage §2.3), so that is the list to sign.
        const names = sdkSigned.map((name) => name.toLowerCase());
        expect(names, signer.name).toEqual(request.method === 'GET' ? SDK_GENERIC : SDK_BODY);

        const privateKey = createPrivateKey({ key: signer.privateKeyPem, ...(signer.passphrase === undefined ? {} : { passphrase: signer.passphrase }) });
        const ours = signRequest(
          { method: request.method, url: request.url, headers: given, ...(request.body === undefined ? {} : { body: request.body }) },
          { keyId: signer.keyId, privateKey },
          { date: CLOCK, headersToSign: names },
        );
        const ourParams = signatureParameters(ours['authorization']);

        expect(ourParams.get('signature'), `${signer.name}: signature`).toBe(sdkParams.get('signature'));
        expect(ourParams.get('keyId'), signer.name).toBe(sdkParams.get('keyId'));
        expect(ourParams.get('algorithm')).toBe(sdkParams.get('algorithm'));
        expect(ourParams.get('version')).toBe(sdkParams.get('version'));
        expect(ourParams.get('headers')).toBe(names.join(' '));
        // Every signed header travels with the same value (host is derived from the URL by fetch for ours).
        for (const name of names) {
          if (name === '(request-target)') {
            expect(requestTarget(request.method, new URL(request.url))).toBe(`${request.method.toLowerCase()} ${getRequestTargetFromUri(request.url)}`);
          } else if (name === 'host') {
            expect(new URL(request.url).host).toBe(sdk.get('host')!);
          } else {
            expect(ours[name], `${signer.name}: ${name}`).toBe(sdk.get(name)!);
          }
        }
        // The whole header is the same but for two cosmetic choices of the SDK: its parameter order
        // (version,keyId,algorithm,headers,signature; ours is Go's) and the case of those two names.
        const reordered = `Signature version="1",headers="${sdkSigned.join(' ').toLowerCase()}",keyId="${sdkParams.get('keyId')!}",algorithm="rsa-sha256",signature="${sdkParams.get('signature')!}"`;
        expect(ours['authorization']).toBe(reordered);
      }
    });
  }
});

/** One request as it arrived, before anything parsed it. */
interface Captured {
  readonly method: string;
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

describe("the SDK's federation signer (date, host with a port, body) and ours sign byte for byte alike", () => {
  let emulator: Emulator;
  let capture: Server;
  const captured: Captured[] = [];

  beforeAll(async () => {
    emulator = await startEmulator();
    // Plays the auth service: records the SDK's POST as it arrived and refuses it, so the SDK stops there.
    capture = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        captured.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"NotAuthenticated","message":"captured"}');
      });
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => capture.close(() => resolve()));
    await emulator.stop();
  });

  test('POST /v1/x509 signed with the IMDS leaf key', async () => {
    const { port } = capture.address() as AddressInfo;
    const builder = new InstancePrincipalsAuthenticationDetailsProviderBuilder();
    builder.metadataBaseUrl = emulator.imdsBaseUrl;
    builder.federationEndpoint = `http://127.0.0.1:${port}`;
    const provider = await builder.build();
    // The capture refused it, so the SDK reports a failed federation; what it sent is what matters.
    expect(await provider.getKeyId().then(() => 'accepted', () => 'refused')).toBe('refused');
    expect(captured).toHaveLength(1);
    const request = captured[0]!;
    const sdkParams = signatureParameters(request.headers.authorization);
    const names = (sdkParams.get('headers') ?? '').split(' ');
    expect(names).toEqual(['date', '(request-target)', 'host', 'content-type', 'content-length', 'x-content-sha256']);

    const leafKey = await (await fetch(`${emulator.imdsBaseUrl}/identity/key.pem`, { headers: { authorization: 'Bearer Oracle' } })).text();
    const url = `http://127.0.0.1:${port}${request.target}`;
    const ours = signRequest(
      { method: request.method, url, headers: { 'content-type': String(request.headers['content-type']) }, body: request.body },
      { keyId: sdkParams.get('keyId')!, privateKey: createPrivateKey(leafKey) },
      { date: new Date(String(request.headers.date)), headersToSign: names },
    );
    expect(signatureParameters(ours['authorization']).get('signature')).toBe(sdkParams.get('signature'));
    for (const name of ['date', 'content-type', 'content-length', 'x-content-sha256']) expect(ours[name], name).toBe(String(request.headers[name]));
    expect(request.headers.host).toBe(new URL(url).host);
  });
});
