import { createHash, createPublicKey } from 'node:crypto';
import { describe, expect, test } from 'bun:test';
import { apiKeyFingerprint } from './certificates.ts';
import type { ReceivedRequest } from './signature.ts';
import { checkClockSkew, parseAuthorization, rebuildSigningString, verifySignature } from './signature.ts';
import { ORACLE_TEST_PRIVATE_KEY as TEST_PRIVATE_KEY } from '../support/oracleTestKey.ts';

/**
 * The verifier against Oracle's published vectors (oracle/oci-go-sdk common/http_signer_test.go,
 * oci-auth.md §10): independent evidence that it accepts what real SDKs send, without relying
 * on this repo's signer.
 */

const PUBLIC_KEY = createPublicKey(TEST_PRIVATE_KEY);
const KEY_ID =
  'ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq/' +
  'ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq/20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34';
const DATE = 'Thu, 05 Jan 2014 21:31:40 GMT';
const HOST = 'iaas.us-phoenix-1.oraclecloud.com';
const GET_TARGET =
  '/20160918/instances?availabilityDomain=Pjwf%3A%20PHX-AD-1&' +
  'compartmentId=ocid1.compartment.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa' +
  '&displayName=TeamXInstances&volumeId=ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q';
const GET_SIGNATURE =
  'GBas7grhyrhSKHP6AVIj/h5/Vp8bd/peM79H9Wv8kjoaCivujVXlpbKLjMPeDUhxkFIWtTtLBj3sUzaFj34XE6YZAHc9r2DmE4pMwOAy/kiITcZxa1oHPOeRheC0jP2dqbTll8fmTZVwKZOKHYPtrLJIJQHJjNvxFWeHQjMaR7M=';
const POST_BODY = `{
    "compartmentId": "ocid1.compartment.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa",
    "instanceId": "ocid1.instance.oc1.phx.abuw4ljrlsfiqw6vzzxb43vyypt4pkodawglp3wqxjqofakrwvou52gb6s5a",
    "volumeId": "ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q"
}`;
const POST_SIGNATURE =
  'Mje8vIDPlwIHmD/cTDwRxE7HaAvBg16JnVcsuqaNRim23fFPgQfLoOOxae6WqKb1uPjYEl0qIdazWaBy/Ml8DRhqlocMwoSXv0fbukP8J5N80LCmzT/FFBvIvTB91XuXI3hYfP9Zt1l7S6ieVadHUfqBedWH0itrtPJBgKmrWso=';

const getRequest: ReceivedRequest = { method: 'GET', target: GET_TARGET, headers: { date: DATE, host: HOST } };

describe('signature verification against the Go SDK vectors', () => {
  test('the API key fingerprint is what `openssl rsa -pubout -outform DER | openssl md5 -c` prints', () => {
    // Not the 20:3b:... of the Go fixture's keyId: that one is a label the Go test never checks.
    expect(apiKeyFingerprint(PUBLIC_KEY)).toBe('73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7');
  });

  test('GET: the Go header parses, the signing string is rebuilt exactly, the signature verifies', () => {
    const header =
      `Signature version="1",headers="date (request-target) host",keyId="${KEY_ID}",` + `algorithm="rsa-sha256",signature="${GET_SIGNATURE}"`;
    const parsed = parseAuthorization(header);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.value.keyId).toBe(KEY_ID);
    expect(rebuildSigningString(parsed.value, getRequest)).toBe(`date: ${DATE}\n(request-target): get ${GET_TARGET}\nhost: ${HOST}`);
    expect(verifySignature(parsed.value, getRequest, PUBLIC_KEY).ok).toBe(true);
  });

  test('header names in the list are read in any case, as the TS SDK writes them (`Content-Type Content-Length`)', () => {
    const header = `Signature version="1",keyId="${KEY_ID}",algorithm="rsa-sha256",headers="Date (Request-Target) HOST",signature="${GET_SIGNATURE}"`;
    const parsed = parseAuthorization(header);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.value.headers).toEqual(['date', '(request-target)', 'host']);
    expect(verifySignature(parsed.value, getRequest, PUBLIC_KEY).ok).toBe(true);
    expect(parseAuthorization(header.replace('HOST', 'host date')).ok).toBe(false);
  });

  test('POST: body headers verify; parameters in the Python order parse the same', () => {
    const body = Buffer.from(POST_BODY);
    expect(body.length).toBe(316);
    const sha256 = createHash('sha256').update(body).digest('base64');
    expect(sha256).toBe('V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=');
    const request: ReceivedRequest = {
      method: 'POST',
      target: '/20160918/volumeAttachments',
      headers: { date: DATE, host: HOST, 'content-length': '316', 'content-type': 'application/json', 'x-content-sha256': sha256 },
    };
    const header =
      `Signature algorithm="rsa-sha256",headers="date (request-target) host content-length content-type x-content-sha256",` +
      `keyId="${KEY_ID}",signature="${POST_SIGNATURE}",version="1"`;
    const parsed = parseAuthorization(header);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(verifySignature(parsed.value, request, PUBLIC_KEY).ok).toBe(true);
  });

  test('any change to a signed part fails verification', () => {
    const parsed = parseAuthorization(
      `Signature version="1",headers="date (request-target) host",keyId="${KEY_ID}",algorithm="rsa-sha256",signature="${GET_SIGNATURE}"`,
    );
    if (!parsed.ok) throw new Error(parsed.message);
    const changed: ReceivedRequest[] = [
      { ...getRequest, method: 'DELETE' },
      { ...getRequest, target: GET_TARGET.replace('TeamX', 'TeamY') },
      { ...getRequest, headers: { ...getRequest.headers, host: `${HOST}:443` } },
      { ...getRequest, headers: { ...getRequest.headers, date: 'Thu, 05 Jan 2014 21:31:41 GMT' } },
    ];
    for (const request of changed) expect(verifySignature(parsed.value, request, PUBLIC_KEY).ok).toBe(false);
  });

  test('malformed Authorization headers are refused with a reason', () => {
    const cases: [string | undefined, string][] = [
      [undefined, 'no Authorization'],
      ['Bearer abc', 'scheme'],
      [`Signature version="1",headers="date",keyId="k",algorithm="rsa-sha256"`, '"signature"'],
      [`Signature version="1",version="1",headers="date",keyId="k",algorithm="rsa-sha256",signature="AA=="`, 'twice'],
      [`Signature version="1",headers="date date",keyId="k",algorithm="rsa-sha256",signature="AA=="`, 'twice'],
      [`Signature version="1",headers="date",keyId="k",algorithm="rsa-sha256",signature="not base64!"`, 'base64'],
      [`Signature version=1,headers="date",keyId="k",algorithm="rsa-sha256",signature="AA=="`, 'parse'],
    ];
    for (const [header, reason] of cases) {
      const parsed = parseAuthorization(header);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain(reason);
    }
  });

  test('dates must be IMF-fixdate and within 5 minutes', () => {
    const parsed = parseAuthorization(`Signature version="1",headers="date",keyId="k",algorithm="rsa-sha256",signature="AA=="`);
    if (!parsed.ok) throw new Error(parsed.message);
    const at = Date.parse(DATE);
    const withDate = (date: string): ReceivedRequest => ({ ...getRequest, headers: { date } });
    expect(checkClockSkew(parsed.value, withDate(DATE), at + 5 * 60_000).ok).toBe(true);
    expect(checkClockSkew(parsed.value, withDate(DATE), at + 5 * 60_000 + 1000).ok).toBe(false);
    expect(checkClockSkew(parsed.value, withDate('2014-01-05T21:31:40Z'), at).ok).toBe(false);
  });
});
