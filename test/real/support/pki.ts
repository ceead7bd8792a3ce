import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateRsaKeyPair, issueCertificate, type DistinguishedName } from '../../emulator/certificates.ts';

/**
 * The TLS PKI of the real-component tests: a throwaway CA and one server certificate for
 * 127.0.0.1 and localhost, made with the emulator's certificate builder (no openssl on the test
 * path). Go clients (skopeo, containerd, the registry's own TLS) ignore the CN and require a
 * subjectAltName and the serverAuth EKU, which `issueCertificate`'s `server` option adds.
 */
export interface TestPki {
  /** PEM of the CA every client is told to trust. */
  readonly caPem: string;
  readonly serverCertificatePem: string;
  /** PKCS#8 PEM of the server key. */
  readonly serverKeyPem: string;
  /** `<dir>/certs/ca.crt`: the file name containers/image's `--cert-dir` loads as a CA. */
  readonly caFile: string;
  readonly serverCertificateFile: string;
  readonly serverKeyFile: string;
  /** A directory holding only `ca.crt`, for skopeo/podman `--cert-dir`. */
  readonly certDir: string;
}

/** Backdated so that a verifier whose clock is a little behind still accepts the certificates. */
const BACKDATE_MS = 5 * 60 * 1000;
const VALIDITY_MS = 24 * 60 * 60 * 1000;

/** Creates the CA and a server certificate for 127.0.0.1/localhost, and writes them under `dir`. */
export async function createTestPki(dir: string): Promise<TestPki> {
  const [caKeys, serverKeys] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
  const now = Date.now();
  const validity = { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + VALIDITY_MS) };
  const caName: DistinguishedName = [['CN', 'credential-provider-oke real-test CA']];
  const ca = issueCertificate({ subject: caName, subjectKey: caKeys.publicKey, selfSigningKey: caKeys.privateKey, isCa: true, ...validity });
  const server = issueCertificate({
    subject: [['CN', '127.0.0.1']],
    subjectKey: serverKeys.publicKey,
    issuer: { name: caName, keys: caKeys },
    isCa: false,
    server: { ips: ['127.0.0.1'], dnsNames: ['localhost'] },
    ...validity,
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
