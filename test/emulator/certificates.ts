import { Buffer } from 'node:buffer';
import { X509Certificate, createHash, generateKeyPair, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
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
} from './der.ts';

/**
 * The emulator's PKIs: the instance-identity CA that IMDS leaves chain to (root → intermediate →
 * leaf, as in oci-auth.md §2.1), and the CA behind the OCIR docker-token signing key.
 * Certificates are DER-encoded here (see der.ts for why) and handed back as node:crypto
 * `X509Certificate`s, so parsing is done by the same code a client would use.
 */

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A relative distinguished name per entry, in order; one attribute per RDN, like OCI's certificates. */
export type DistinguishedName = ReadonlyArray<readonly [attribute: NameAttribute, value: string]>;
export type NameAttribute = 'CN' | 'OU' | 'O';

export interface CertificateAuthority {
  readonly name: DistinguishedName;
  readonly keys: KeyPair;
  readonly certificate: X509Certificate;
}

/** A leaf as IMDS serves it, plus the objects the emulator checks against. */
export interface InstanceLeaf {
  readonly certificate: X509Certificate;
  readonly keys: KeyPair;
  /** `/identity/cert.pem`. */
  readonly certificatePem: string;
  /** `/identity/key.pem`: PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`), unencrypted, as real IMDS serves it. */
  readonly privateKeyPem: string;
  readonly tenancyId: string;
}

export interface InstanceNames {
  readonly instanceId: string;
  readonly compartmentId: string;
  readonly tenancyId: string;
}

/** The real leaf in the teleport RFD lives about 2 h; clients must cope with that rotation rate. */
export const LEAF_VALIDITY_MS = 2 * 60 * 60 * 1000;
/** Backdating absorbs small skews between issuer and verifier, as real CAs do. */
const BACKDATE_MS = 60 * 1000;
const CA_VALIDITY_MS = 10 * 365 * 24 * 60 * 60 * 1000;
const RSA_MODULUS_BITS = 2048;

const OID = {
  CN: '2.5.4.3',
  OU: '2.5.4.11',
  O: '2.5.4.10',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;
/** GeneralName tags (RFC 5280 §4.2.1.6): context-specific, primitive, implicit. */
const SAN_DNS_TAG = 0x82;
const SAN_IP_TAG = 0x87;

const generateKeyPairAsync = promisify(generateKeyPair);

/** RSA-2048, e = 65537. Async so that several keys are generated in parallel off the main thread. */
export async function generateRsaKeyPair(): Promise<KeyPair> {
  return generateKeyPairAsync('rsa', { modulusLength: RSA_MODULUS_BITS, publicExponent: 0x10001 });
}

export interface CertificateSpec {
  readonly subject: DistinguishedName;
  readonly subjectKey: KeyObject;
  /** Issuer name and key; omit for a self-signed certificate. */
  readonly issuer?: { readonly name: DistinguishedName; readonly keys: KeyPair };
  /** The key that signs when there is no issuer (self-signed). */
  readonly selfSigningKey?: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  /**
   * For a TLS server certificate (the proxymux): subjectAltName entries and the serverAuth EKU.
   * Clients match an IP host only against IP SANs, never the CN.
   */
  readonly server?: { readonly ips?: readonly string[]; readonly dnsNames?: readonly string[] };
}

/** Builds and signs (sha256WithRSAEncryption) an X.509 v3 certificate. */
export function issueCertificate(spec: CertificateSpec): X509Certificate {
  const signingKey = spec.issuer?.keys.privateKey ?? spec.selfSigningKey;
  if (signingKey === undefined) throw new Error('issueCertificate: no issuer and no self-signing key');
  const issuerName = spec.issuer?.name ?? spec.subject;
  const issuerPublicKey = spec.issuer?.keys.publicKey ?? spec.subjectKey;
  const spki = spec.subjectKey.export({ type: 'spki', format: 'der' });
  const algorithm = sequence(oid(OID.sha256WithRsa), nullValue());

  const extensions = [
    extension(OID.basicConstraints, true, spec.isCa ? sequence(boolean(true)) : sequence()),
    // CA: keyCertSign | cRLSign; leaf: digitalSignature | keyEncipherment.
    extension(OID.keyUsage, true, spec.isCa ? bitString(Buffer.from([0x06]), 1) : bitString(Buffer.from([0xa0]), 5)),
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spec.subjectKey))),
    extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyIdentifier(issuerPublicKey)))),
    ...(spec.server === undefined ? [] : serverExtensions(spec.server)),
  ];

  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive, at most 20 octets (RFC 5280 §4.1.2.2)
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    algorithm,
    encodeName(issuerName),
    sequence(time(spec.notBefore), time(spec.notAfter)),
    encodeName(spec.subject),
    spki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, signingKey);
  return new X509Certificate(sequence(tbs, algorithm, bitString(signature)));
}

/** `keys` lets a caller generate several keys in parallel first (generation is the slow part). */
export async function createRootCa(name: DistinguishedName, nowMs: number, given?: KeyPair): Promise<CertificateAuthority> {
  const keys = given ?? (await generateRsaKeyPair());
  const certificate = issueCertificate({
    subject: name,
    subjectKey: keys.publicKey,
    selfSigningKey: keys.privateKey,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + CA_VALIDITY_MS),
    isCa: true,
  });
  return { name, keys, certificate };
}

export async function createIntermediateCa(
  name: DistinguishedName,
  root: CertificateAuthority,
  nowMs: number,
  given?: KeyPair,
): Promise<CertificateAuthority> {
  const keys = given ?? (await generateRsaKeyPair());
  const certificate = issueCertificate({
    subject: name,
    subjectKey: keys.publicKey,
    issuer: root,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + CA_VALIDITY_MS),
    isCa: true,
  });
  return { name, keys, certificate };
}

/** The subject real instance certificates carry (teleport RFD 0231), in the same order. */
export function instanceSubject(names: InstanceNames): DistinguishedName {
  return [
    ['CN', names.instanceId],
    ['OU', 'opc-certtype:instance'],
    ['OU', `opc-compartment:${names.compartmentId}`],
    ['OU', `opc-instance:${names.instanceId}`],
    ['OU', `opc-tenant:${names.tenancyId}`],
  ];
}

/** A fresh leaf key and certificate for an instance, issued by `intermediate`, valid ~2 h from `nowMs`. */
export async function issueInstanceLeaf(
  intermediate: CertificateAuthority,
  names: InstanceNames,
  nowMs: number,
  given?: KeyPair,
): Promise<InstanceLeaf> {
  const keys = given ?? (await generateRsaKeyPair());
  const certificate = issueCertificate({
    subject: instanceSubject(names),
    subjectKey: keys.publicKey,
    issuer: intermediate,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + LEAF_VALIDITY_MS),
    isCa: false,
  });
  return {
    certificate,
    keys,
    certificatePem: certificate.toString(),
    privateKeyPem: keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    tenancyId: names.tenancyId,
  };
}

/** Colon-separated lowercase hex of a digest: the fingerprint format OCI keyIds carry. */
export function colonHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Fingerprint of a certificate's DER (`fed-x509` uses SHA-1, `fed-x509-sha256` SHA-256). */
export function certificateFingerprint(certificate: X509Certificate, algorithm: 'sha1' | 'sha256'): string {
  return colonHex(createHash(algorithm).update(certificate.raw).digest());
}

/** API-key fingerprint (oci-auth.md §4.4): MD5 of the public key's SPKI DER, lowercase colon hex. */
export function apiKeyFingerprint(publicKey: KeyObject): string {
  return colonHex(createHash('md5').update(publicKey.export({ type: 'spki', format: 'der' })).digest());
}

function serverExtensions(server: NonNullable<CertificateSpec['server']>): Buffer[] {
  const names = [
    ...(server.dnsNames ?? []).map((name) => tlv(SAN_DNS_TAG, Buffer.from(name, 'ascii'))),
    ...(server.ips ?? []).map((ip) => tlv(SAN_IP_TAG, Buffer.from(ip.split('.').map(Number)))),
  ];
  return [extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))), extension(OID.subjectAltName, false, sequence(...names))];
}

function encodeName(name: DistinguishedName): Buffer {
  return sequence(...name.map(([attribute, value]) => set(sequence(oid(OID[attribute]), utf8String(value)))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** RFC 7093 §2 style key identifier: a hash of the whole SPKI (any stable method is allowed). */
function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest();
}
