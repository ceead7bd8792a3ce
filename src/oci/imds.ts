import type { KeyObject, X509Certificate } from 'node:crypto';
import { nodeCrypto } from '../nodeCrypto.ts';
import { ProviderError, withCode } from '../errors.ts';
import type { HttpClient } from '../net/http.ts';
import { IMDS_RETRY } from '../net/retryPolicy.ts';
import { readOciError } from '../net/ociError.ts';
import type { Env } from '../runtime.ts';
import { keyMatchesCertificate, loadPrivateKey } from './keys.ts';

/** The instance metadata service, v2 only: the SDKs removed the v1 fallback (oracle/oci-python-sdk#725). */
export const DEFAULT_IMDS_BASE_URL = 'http://169.254.169.254/opc/v2';
export const IMDS_BASE_URL_ENV = 'OCI_METADATA_BASE_URL';
/** IMDS is link-local: an answer takes milliseconds, so a few seconds means it is not there. */
export const IMDS_TIMEOUT_MS = 3_000;
/** A rotation between the cert.pem and key.pem reads gives a mismatched pair; read both again this often. */
const MAX_CERTIFICATE_READS = 3;

/** What IMDS serves for instance-principal federation, checked for consistency. */
export interface InstanceCertificates {
  readonly leaf: X509Certificate;
  readonly leafKey: KeyObject;
  readonly intermediate: X509Certificate;
  readonly tenancyId: string;
  /** The instance OCID from the certificate subject (`opc-instance:`), when present. */
  readonly instanceId?: string;
}

export interface ImdsClient {
  readonly baseUrl: string;
  /** `/instance/region`: a short key (`fra`) or an identifier (`eu-frankfurt-1`). */
  region(): Promise<string>;
  /** `/instance/regionInfo` as raw JSON text, for regions this build does not know. */
  regionInfo(): Promise<string>;
  /** Leaf certificate, its key and the intermediate, re-read until key and certificate match. */
  certificates(): Promise<InstanceCertificates>;
}

export interface ImdsInit {
  readonly http: HttpClient;
  readonly env: Env;
}

/** The base URL: `OCI_METADATA_BASE_URL` when set to something other than blanks (as the Python SDK), else the link-local default. */
export function imdsBaseUrl(env: Env): string {
  const override = env[IMDS_BASE_URL_ENV]?.trim();
  return (override === undefined || override === '' ? DEFAULT_IMDS_BASE_URL : override).replace(/\/+$/, '');
}

export function createImdsClient(init: ImdsInit): ImdsClient {
  const baseUrl = imdsBaseUrl(init.env);
  const get = async (path: string): Promise<string> => {
    const url = new URL(`${baseUrl}${path}`);
    const name = `IMDS GET ${url.pathname}`;
    let response;
    try {
      response = await init.http({
        name,
        timeoutMs: IMDS_TIMEOUT_MS,
        retry: IMDS_RETRY,
        request: () => ({ method: 'GET', url, headers: { authorization: 'Bearer Oracle' }, direct: true }),
      });
    } catch (error) {
      if (error instanceof ProviderError && error.code === 'ERR_NETWORK') {
        throw new ProviderError('ERR_IMDS', `${error.message}`, {
          ...error.details,
          hint: `the instance metadata service must be reachable from the node at ${baseUrl} (not through a proxy); set ${IMDS_BASE_URL_ENV} only for tests`,
          cause: error,
        });
      }
      throw error;
    }
    if (response.status !== 200) {
      const info = readOciError(response);
      throw new ProviderError('ERR_IMDS', `${name} answered ${response.status}`, {
        host: url.host,
        status: response.status,
        ociCode: info.ociCode,
        opcRequestId: info.opcRequestId,
        hint: 'IMDS v2 must be enabled on the instance and reachable at 169.254.169.254',
      });
    }
    return response.body;
  };

  const readCertificatesOnce = async (): Promise<InstanceCertificates | 'mismatch'> => {
    // Certificate and key are read as one unit, as the Python SDK does, so a retry never pairs a new certificate with an old key.
    const certPem = await get('/identity/cert.pem');
    const keyPem = await get('/identity/key.pem');
    const intermediatePem = await get('/identity/intermediate.pem');
    const leaf = parseCertificate(certPem, 'cert.pem');
    const intermediate = parseCertificate(intermediatePem, 'intermediate.pem');
    const leafKey = loadImdsKey(keyPem);
    if (!keyMatchesCertificate(leafKey, leaf)) return 'mismatch';
    const tenancyId = tenancyFromSubject(leaf.subject);
    if (tenancyId === undefined) {
      throw new ProviderError('ERR_INSTANCE_CERTIFICATE', 'the instance certificate from IMDS names no tenancy (no opc-tenant: or opc-identity: in its subject)', {
        hint: 'this is not an OCI instance certificate; check OCI_METADATA_BASE_URL',
      });
    }
    return { leaf, leafKey, intermediate, tenancyId, instanceId: subjectValue(leaf.subject, 'opc-instance:') };
  };

  return {
    baseUrl,
    region: async () => (await get('/instance/region')).trim().toLowerCase(),
    regionInfo: () => get('/instance/regionInfo'),
    certificates: async () => {
      for (let read = 1; read <= MAX_CERTIFICATE_READS; read++) {
        const result = await readCertificatesOnce();
        if (result !== 'mismatch') return result;
      }
      throw new ProviderError('ERR_INSTANCE_CERTIFICATE', `IMDS served a key.pem that does not match cert.pem ${MAX_CERTIFICATE_READS} times in a row`, {
        hint: 'the instance certificate is rotating continuously; retry later, and report it to Oracle support if it persists',
      });
    },
  };
}

function parseCertificate(pem: string, file: string): X509Certificate {
  try {
    return new (nodeCrypto().X509Certificate)(pem);
  } catch (cause) {
    throw new ProviderError('ERR_INSTANCE_CERTIFICATE', `IMDS ${file} is not a PEM certificate`, { cause });
  }
}

function loadImdsKey(pem: string): KeyObject {
  return withCode('ERR_INSTANCE_CERTIFICATE', () => loadPrivateKey(pem, { source: 'IMDS key.pem' }), {
    hint: 'IMDS served a damaged key; if it persists, check OCI_METADATA_BASE_URL and the instance',
  });
}

/** The tenancy from the leaf subject: `OU=opc-tenant:<ocid>`, else `O=opc-identity:<ocid>` (service principals), as Python, TS and Java do. */
export function tenancyFromSubject(subject: string): string | undefined {
  return subjectValue(subject, 'opc-tenant:') ?? subjectValue(subject, 'opc-identity:');
}

function subjectValue(subject: string, prefix: string): string | undefined {
  // Node renders a multi-valued RDN as `OU=a\nOU=b` lines, or `OU=a+OU=b`; look at every value.
  for (const line of subject.split(/\n|\+/)) {
    const value = line.slice(line.indexOf('=') + 1).trim();
    if (value.startsWith(prefix)) return value.slice(prefix.length);
  }
  return undefined;
}
