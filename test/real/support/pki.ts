import { Buffer } from 'node:buffer';
import { X509Certificate, createHash, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyPair } from '../../emulator/certificates.ts';
import { generateRsaKeyPair } from '../../emulator/certificates.ts';
import {
  bitString,
  boolean,
  explicit,
  implicit,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  tlv,
  unsignedInteger,
  utf8String,
} from '../../emulator/der.ts';

/**
 * The TLS PKI of the real-component tests: a throwaway CA and one server certificate for
 * 127.0.0.1 and localhost, made with node:crypto (no openssl on the test path). The emulator's
 * certificates.ts cannot issue it: Go clients (skopeo, containerd, the registry's own TLS) ignore
 * the CN and require a subjectAltName, and a TLS server certificate needs the serverAuth EKU.
 */

export interface TestPki {
  /** PEM of the CA every client is told to trust. */
  readonly caPem: string;
  readonly serverCertificatePem: string;
  /** PKCS#8 PEM of the server key. */
  readonly serverKeyPem: string;
  /** `<dir>/ca.crt`: the file name containers/image's `--cert-dir` loads as a CA. */
  readonly caFile: string;
  readonly serverCertificateFile: string;
  readonly serverKeyFile: string;
  /** A directory holding only `ca.crt`, for skopeo/podman `--cert-dir`. */
  readonly certDir: string;
}

const OID = {
  CN: '2.5.4.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** GeneralName tags (RFC 5280 §4.2.1.6), context-specific and implicit. */
const SAN_DNS_TAG = 0x82;
const SAN_IP_TAG = 0x87;
/** Backdated so that a verifier whose clock is a little behind still accepts the certificates. */
const BACKDATE_MS = 5 * 60 * 1000;
const VALIDITY_MS = 24 * 60 * 60 * 1000;

/** Creates the CA and a server certificate for 127.0.0.1/localhost, and writes them under `dir`. */
export async function createTestPki(dir: string): Promise<TestPki> {
  const [caKeys, serverKeys] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
  const now = Date.now();
  const caName = 'credential-provider-oke real-test CA';
  const ca = issue({
    subject: caName,
    issuer: caName,
    subjectKey: caKeys.publicKey,
    issuerKeys: caKeys,
    nowMs: now,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true))),
      extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)), // keyCertSign | cRLSign
    ],
  });
  const server = issue({
    subject: '127.0.0.1',
    issuer: caName,
    subjectKey: serverKeys.publicKey,
    issuerKeys: caKeys,
    nowMs: now,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, bitString(Buffer.from([0xa0]), 5)), // digitalSignature | keyEncipherment
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(tlv(SAN_DNS_TAG, Buffer.from('localhost', 'ascii')), tlv(SAN_IP_TAG, Buffer.from([127, 0, 0, 1])))),
    ],
  });

  mkdirSync(dir, { recursive: true });
  const certDir = join(dir, 'certs');
  mkdirSync(certDir);
  const pki: TestPki = {
    caPem: ca.toString(),
    serverCertificatePem: server.toString(),
    serverKeyPem: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    caFile: join(certDir, 'ca.crt'),
    serverCertificateFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    certDir,
  };
  writeFileSync(pki.caFile, pki.caPem);
  writeFileSync(pki.serverCertificateFile, pki.serverCertificatePem);
  writeFileSync(pki.serverKeyFile, pki.serverKeyPem, { mode: 0o600 });
  return pki;
}

interface IssueSpec {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectKey: KeyObject;
  readonly issuerKeys: KeyPair;
  readonly nowMs: number;
  readonly extensions: readonly Buffer[];
}

function issue(spec: IssueSpec): X509Certificate {
  const algorithm = sequence(oid(OID.sha256WithRsa), nullValue());
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive: Go rejects negative serial numbers
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    algorithm,
    name(spec.issuer),
    sequence(time(new Date(spec.nowMs - BACKDATE_MS)), time(new Date(spec.nowMs + VALIDITY_MS))),
    name(spec.subject),
    spec.subjectKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      sequence(
        ...spec.extensions,
        extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spec.subjectKey))),
        extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyIdentifier(spec.issuerKeys.publicKey)))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, spec.issuerKeys.privateKey);
  return new X509Certificate(sequence(tbs, algorithm, bitString(signature)));
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.CN), utf8String(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest();
}
