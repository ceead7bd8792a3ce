import { describe, expect, test } from 'bun:test';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  generateSessionKeyPair,
  keyMatchesCertificate,
  loadPrivateKey,
  PrivateKeyUnusable,
  md5Fingerprint,
  publicKeySpkiBase64,
  sha256CertFingerprint,
  spkiDer,
} from '../../src/oci/keys.ts';
import { withCode } from '../../src/errors.ts';
import { ORACLE_TEST_PRIVATE_KEY as GO_TEST_PRIVATE_KEY } from '../support/oracleTestKey.ts';
import { caught } from '../support/caught.ts';


// Throwaway self-signed certificate and key (openssl req -x509 -newkey rsa:1024 -subj /CN=test), test data only.
const SELF_SIGNED_CERT = `-----BEGIN CERTIFICATE-----
MIIB/DCCAWWgAwIBAgIUeXM6gpEiJsgwNsjBfq/dlKO88XwwDQYJKoZIhvcNAQEL
BQAwDzENMAsGA1UEAwwEdGVzdDAgFw0yNjExMjYxNDQzNTRaGA8yMTI2MTEwMjE0
NDM1NFowDzENMAsGA1UEAwwEdGVzdDCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkC
gYEAryXt/z8eWzkXdEiCZlOHq0gYDmYPNuXICIm9UU7lYHqVzjVS/8teXrr0XKj8
QQCoyURAL+kYHx9EJ3msOZYDMeieTcBlrZfxrCeeWXz3zCq73xkVas2vlzjLgdYJ
ihwXvX9wPZwghiyASknBnN0rR9E0PCeVDsrKppeF2d/HO8kCAwEAAaNTMFEwHQYD
VR0OBBYEFL7pzVF05VPUUs7o7gM0koxyYhHjMB8GA1UdIwQYMBaAFL7pzVF05VPU
Us7o7gM0koxyYhHjMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADgYEA
Hahqu4ef+Yu+mnEo3ovf88M1DCYxBQqIhruurgoxyTLe3uzVi+w2fArf40uYKnd5
iBcborjTFaB9gEZqEmBFFHAFWuoGDYe5NJZCdbHExZGU5tMBHG/koJ5cvN+cUEHZ
cWr7laEkFVEXYlus9yiywexJKYe+zdlwKSHIro5UL48=
-----END CERTIFICATE-----`;

const SELF_SIGNED_KEY = `-----BEGIN PRIVATE KEY-----
MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAK8l7f8/Hls5F3RI
gmZTh6tIGA5mDzblyAiJvVFO5WB6lc41Uv/LXl669Fyo/EEAqMlEQC/pGB8fRCd5
rDmWAzHonk3AZa2X8awnnll898wqu98ZFWrNr5c4y4HWCYocF71/cD2cIIYsgEpJ
wZzdK0fRNDwnlQ7KyqaXhdnfxzvJAgMBAAECgYABCXRzQmhnmdrtsVA0UuJGvVKH
I0uLw6h/hHE+ff0VqSQh6GbpZMbWQL0Zn1Z+/AYDywemQPcHmCPLKAlA/gZezsK8
kxw4zc7dQ8+nDxqTVQxIWsUVXO/ZW74goW0BgBj07VbOU98v+f1gVS3jKmLTiOcd
5PEohdQMElaAOfooQQJBAODR+RPyBHHXwilsxh1R5PoZpEedNVcsQmXdN9cieudT
k5gFF0iHdH/rs0jyhlYwq0ufIuU08evDWNzraWbcEu0CQQDHcGXt59dQjAKek/h7
mb02KoqeYF5bUk/QoYG2kKzUIn97Y3O8KlLgeKpuMIKNlQ4vYRvcEpw4YmvTTDYY
VeTNAkBLF5c8hD/bzpc5wu1BadMzflES4n2oik37PDKklw26Kn5H7ptiTGwrNg0C
No+MRmFQtuyu5kpP10XdNHxWMPfZAkB378wcijQeKFTa8LmZ+xaioGrEW8fiu1ls
afQLym1lFWn81g4ftoQooeg8Y8ffRShGreuHKVnxPp8Bbu+JKv5xAkBHe7+GjM0i
Ygsq+lku4EIS1vnrJ4+4J3z/GSB9VwY+ZO6CPyJBn2Pxz+z2tD+eKtSJ37WSPVpX
Kp4mgH6gdTBK
-----END PRIVATE KEY-----`;

// Generated once per file: RSA generation is the slow part of these tests.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const PASSPHRASE = 'correct horse';
const pem = {
  pkcs1: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  encryptedPkcs8: privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }) as string,
  encryptedPkcs1: privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: PASSPHRASE }) as string,
  publicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string,
  ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
};

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return spkiDer(a).equals(spkiDer(b));
}


describe('loadPrivateKey: accepted forms', () => {
  const rows: readonly { name: string; text: string; passphrase?: string }[] = [
    { name: 'PKCS#1', text: pem.pkcs1 },
    { name: 'PKCS#8', text: pem.pkcs8 },
    { name: 'encrypted PKCS#8', text: pem.encryptedPkcs8, passphrase: PASSPHRASE },
    { name: 'legacy encrypted PKCS#1 (Proc-Type: 4,ENCRYPTED)', text: pem.encryptedPkcs1, passphrase: PASSPHRASE },
    { name: 'PKCS#1 with a passphrase it does not need (Python retries without)', text: pem.pkcs1, passphrase: 'x' },
    { name: 'PKCS#8 with the console trailer line', text: `${pem.pkcs8}OCI_API_KEY\n` },
    { name: 'CRLF line ends', text: pem.pkcs1.replace(/\n/g, '\r\n') },
    { name: 'public key before the private key', text: pem.publicKey + pem.pkcs8 },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const key = loadPrivateKey(row.text, { passphrase: row.passphrase, source: '/keys/k.pem' });
      expect(key.type).toBe('private');
      expect(sameKey(key, privateKey)).toBe(true);
    });
  }

  test('the legacy encrypted PKCS#1 fixture really is the legacy form', () => {
    expect(pem.encryptedPkcs1).toContain('Proc-Type: 4,ENCRYPTED');
    expect(pem.encryptedPkcs8).toContain('BEGIN ENCRYPTED PRIVATE KEY');
  });
});

describe('loadPrivateKey: refusals name the source, never the key', () => {
  const rows: readonly { name: string; text: string; passphrase?: string; message: RegExp }[] = [
    { name: 'empty text', text: '', message: /^\/keys\/k\.pem is not a PEM RSA private key: it has no PEM block$/ },
    { name: 'a public key', text: pem.publicKey, message: /is not a PEM RSA private key: it holds a PUBLIC KEY$/ },
    {
      name: 'a certificate and a public key',
      text: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' + pem.publicKey,
      message: /it holds a CERTIFICATE, a PUBLIC KEY$/,
    },
    { name: 'encrypted PKCS#8 without passphrase', text: pem.encryptedPkcs8, message: /is an encrypted private key and no passphrase was given/ },
    { name: 'encrypted PKCS#1 with an empty passphrase', text: pem.encryptedPkcs1, passphrase: '', message: /no passphrase was given/ },
    { name: 'encrypted PKCS#8, wrong passphrase', text: pem.encryptedPkcs8, passphrase: 'wrong', message: /cannot decrypt the private key \/keys\/k\.pem: wrong passphrase/ },
    { name: 'encrypted PKCS#1, wrong passphrase', text: pem.encryptedPkcs1, passphrase: 'wrong', message: /wrong passphrase/ },
    {
      name: 'a damaged body',
      text: '-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n',
      message: /is not a valid PEM private key: its content does not decode/,
    },
    { name: 'an EC key', text: pem.ec, message: /is a ec key; OCI signs with RSA keys only/ },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const error = caught(() => withCode('ERR_OCI_CONFIG', () => loadPrivateKey(row.text, { passphrase: row.passphrase, source: '/keys/k.pem' }), { key: '/keys/k.pem' }));
      expect(error.code).toBe('ERR_OCI_CONFIG');
      expect(error.cause).toBeInstanceOf(PrivateKeyUnusable);
      expect(error.message).toMatch(row.message);
      expect(error.details.key).toBe('/keys/k.pem');
      expect(error.message).not.toContain('MII');
      expect(error.hint ?? '').not.toBe('');
    });
  }
});

describe('fingerprints', () => {
  // Expected values from `openssl rsa -in k.pem -pubout -outform DER | openssl md5 -c`. The
  // fingerprint inside the Go vectors' keyId (20:3b:97:...) is an arbitrary string, not this key's.
  const rows = [
    { name: 'the Go SDK test key (PKCS#1)', pem: GO_TEST_PRIVATE_KEY, md5: '73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7' },
    { name: 'an openssl PKCS#8 key', pem: SELF_SIGNED_KEY, md5: '5e:07:82:34:5a:3b:5c:fe:92:5c:0e:f5:30:a2:c6:72' },
  ];
  for (const row of rows) {
    test(`MD5 fingerprint of ${row.name} matches openssl md5 -c`, () => {
      const key = loadPrivateKey(row.pem, { source: 'k.pem' });
      expect(md5Fingerprint(key)).toBe(row.md5);
      expect(md5Fingerprint(createPublicKey(key))).toBe(row.md5);
    });
  }

  test('MD5 fingerprint has the shape Python validates', () => {
    expect(md5Fingerprint(privateKey)).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(md5Fingerprint(privateKey)).not.toBe(md5Fingerprint(other));
  });

  test('SHA-256 certificate fingerprint is lowercase colon hex of the DER digest', () => {
    const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
    const hex = createHash('sha256').update(der).digest('hex');
    expect(sha256CertFingerprint(der)).toBe(hex.match(/../g)!.join(':'));
    expect(sha256CertFingerprint(der)).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
  });

  test('publicKeySpkiBase64 is the PUBLIC KEY PEM without armour, from either half', () => {
    const body = pem.publicKey.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
    expect(publicKeySpkiBase64(privateKey)).toBe(body);
    expect(publicKeySpkiBase64(createPublicKey(privateKey))).toBe(body);
  });
});

describe('keyMatchesCertificate', () => {
  test('compares the certificate key with the private key', () => {
    const cert = new X509Certificate(SELF_SIGNED_CERT);
    const key = createPrivateKey(SELF_SIGNED_KEY);
    expect(keyMatchesCertificate(key, cert)).toBe(true);
    expect(keyMatchesCertificate(privateKey, cert)).toBe(false);
    expect(sha256CertFingerprint(cert.raw)).toBe(cert.fingerprint256.toLowerCase());
  });
});

describe('generateSessionKeyPair', () => {
  test('is a fresh RSA-2048 pair with e = 65537', async () => {
    const a = await generateSessionKeyPair();
    const b = await generateSessionKeyPair();
    expect(a.privateKey.type).toBe('private');
    expect(a.publicKey.type).toBe('public');
    expect(a.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(a.privateKey.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    expect(sameKey(a.privateKey, a.publicKey)).toBe(true);
    expect(sameKey(a.privateKey, b.privateKey)).toBe(false);
  });
});

