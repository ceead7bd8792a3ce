import { nodeCrypto } from '../nodeCrypto.ts';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { LeafFailure, ProviderError } from '../errors.ts';

/** Key handling shared by the principals: session keys, fingerprints, PEM private keys. */

/** A freshly generated RSA key pair for one session token. */
export interface SessionKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface LoadPrivateKeyOptions {
  /** Passphrase for an encrypted key; ignored for an unencrypted one (see {@link loadPrivateKey}). */
  readonly passphrase?: string;
  /** Where the PEM came from (a file path, a variable name), for error messages. Never the key. */
  readonly source: string;
}

/** Session key size of Go's `newSessionKeySupplier`, Python's `SessionKeySupplier` and the TS SDK. */
const SESSION_KEY_BITS = 2048;
/** e = 65537, the SDKs' (and node:crypto's) public exponent. */
const SESSION_KEY_EXPONENT = 0x10001;

/**
 * A new RSA-2048 (e = 65537) key pair. Every SDK generates one per token refresh, so a session
 * token is never bound to a key that an earlier token used. Asynchronous because generation
 * takes tens of milliseconds, which would otherwise block the event loop.
 */
export function generateSessionKeyPair(): Promise<SessionKeyPair> {
  return new Promise((resolve, reject) => {
    nodeCrypto().generateKeyPair(
      'rsa',
      { modulusLength: SESSION_KEY_BITS, publicExponent: SESSION_KEY_EXPONENT },
      (error, publicKey, privateKey) => {
        if (error !== null) {
          reject(new ProviderError('ERR_INTERNAL', 'cannot generate a session key pair', { cause: error }));
        } else {
          resolve({ privateKey, publicKey });
        }
      },
    );
  });
}

/** SubjectPublicKeyInfo DER of a public key, or of the public half of a private key. */
export function spkiDer(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? nodeCrypto().createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}

/**
 * Base64 of the SPKI DER: the `publicKey` field of the federation body (§3.2), i.e. the
 * `-----BEGIN PUBLIC KEY-----` PEM without armour or line breaks, as every SDK sends it.
 */
export function publicKeySpkiBase64(key: KeyObject): string {
  return spkiDer(key).toString('base64');
}

/**
 * The OCI API key fingerprint: MD5 over the SPKI DER as lowercase colon-separated hex
 * (`20:3b:97:...`), what the console shows and `openssl rsa -pubout -outform DER | openssl md5 -c`
 * prints. Accepts the public key or its private key.
 */
export function md5Fingerprint(key: KeyObject): string {
  return colonHex(nodeCrypto().createHash('md5').update(spkiDer(key)).digest());
}

/**
 * SHA-256 over a certificate's DER as lowercase colon hex: the fingerprint in the
 * `<tenancy>/fed-x509-sha256/<fp>` keyId, in Go's case (`utils.go` `fingerprint`). Node's
 * `X509Certificate.fingerprint256` gives the same digits in uppercase.
 */
export function sha256CertFingerprint(certDer: Uint8Array): string {
  return colonHex(nodeCrypto().createHash('sha256').update(certDer).digest());
}

/**
 * Whether the private key is the one the certificate certifies, by comparing SPKI DER. IMDS
 * serves cert.pem and key.pem separately and rotates them, so a pair read across a rotation can
 * disagree; Python's certificate retriever checks the same thing.
 */
export function keyMatchesCertificate(privateKey: KeyObject, certificate: X509Certificate): boolean {
  return spkiDer(privateKey).equals(spkiDer(certificate.publicKey));
}

/** One PEM block: label, and the whole block from BEGIN to END. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Labels of a private key that OCI can use (RSA), unencrypted or encrypted. */
const PRIVATE_KEY_LABELS: ReadonlySet<string> = new Set(['RSA PRIVATE KEY', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']);

/**
 * Loads an RSA private key from PEM: PKCS#1 (`BEGIN RSA PRIVATE KEY`), PKCS#8, encrypted PKCS#8
 * (`BEGIN ENCRYPTED PRIVATE KEY`) and legacy encrypted PKCS#1 (`Proc-Type: 4,ENCRYPTED`).
 * Text around the block is ignored: keys downloaded from the OCI console end with an
 * `OCI_API_KEY` line.
 *
 * Throws `PrivateKeyUnusable` (the caller maps it to its code) naming `source` when the text holds no PEM private key, when the key
 * is encrypted and no passphrase was given, when the passphrase is wrong, and when the key is
 * not RSA (OCI API keys and signatures are RSA only). A passphrase given for an unencrypted key
 * is ignored, as Python retries without it: with DEFAULT inheritance a `pass_phrase` can reach a
 * profile whose key is not encrypted.
 */
/** A private key that cannot be used, and why; the message names the source, never the key. */
export class PrivateKeyUnusable extends LeafFailure {
  override readonly name = 'PrivateKeyUnusable';
}

export function loadPrivateKey(pem: string, options: LoadPrivateKeyOptions): KeyObject {
  const { source } = options;
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  const block = blocks.find((b) => PRIVATE_KEY_LABELS.has(b[1] ?? ''));
  if (block === undefined) {
    const labels = blocks.map((b) => b[1] ?? '');
    const found = labels.length > 0 ? `it holds ${labels.map((l) => `a ${l}`).join(', ')}` : 'it has no PEM block';
    throw new PrivateKeyUnusable(`${source} is not a PEM RSA private key: ${found}`, {
      hint: 'point it at the private key (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY), not the public key or a certificate',
    });
  }
  const text = block[0];
  const encrypted = block[1] === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,\s*ENCRYPTED\s*$/m.test(text);
  const passphrase = options.passphrase ?? '';

  // Decided from the PEM text rather than from error codes, which differ between OpenSSL
  // (Node) and BoringSSL (Bun).
  if (encrypted && passphrase === '') {
    throw new PrivateKeyUnusable(`${source} is an encrypted private key and no passphrase was given`, {
      hint: 'set pass_phrase in the profile, or use an unencrypted key',
    });
  }

  let key: KeyObject;
  try {
    key = encrypted ? nodeCrypto().createPrivateKey({ key: text, format: 'pem', passphrase }) : nodeCrypto().createPrivateKey({ key: text, format: 'pem' });
  } catch (cause) {
    if (encrypted) {
      throw new PrivateKeyUnusable(`cannot decrypt the private key ${source}: wrong passphrase`, {
        cause,
        hint: 'check pass_phrase in the profile (the key may also be corrupt)',
      });
    }
    throw new PrivateKeyUnusable(`${source} is not a valid PEM private key: its content does not decode`, {
      cause,
      hint: 'the file is damaged; download or generate the API key again',
    });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PrivateKeyUnusable(`${source} is a ${key.asymmetricKeyType ?? 'non-RSA'} key; OCI signs with RSA keys only`, {
      hint: 'use an RSA API key (openssl genrsa 2048)',
    });
  }
  return key;
}

function colonHex(digest: Buffer): string {
  return [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}
