import { Buffer } from 'node:buffer';
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { certificateFingerprint } from './certificates.ts';
import { applyFault, statusResponder } from './faults.ts';
import type { Exchange, Handler } from './http.ts';
import { readBody, sendJson, sendOciError } from './http.ts';
import type { ReceivedRequest, SignatureParameters, Verdict } from './signature.ts';
import { checkClockSkew, checkSignedHeaders, headerValue, parseAuthorization, verifySignature } from './signature.ts';
import type { EmulatorState } from './state.ts';
import { issueSessionToken } from './tokens.ts';

/**
 * The auth service's instance-principal federation, `POST /v1/x509` (oci-auth.md §3, §9.2).
 * The request is signed with the IMDS leaf key and carries the leaf, its intermediate and a
 * session public key; the answer is a session token bound to that public key.
 */

export const FEDERATION_PATH = '/v1/x509';

/** Go and Python sign no `host` here ("host is not needed for the federation endpoint"); TS and Java do. */
const REQUIRED_SIGNED_HEADERS = [['date', 'x-date'], ['(request-target)'], ['content-length'], ['content-type'], ['x-content-sha256']];
const KEY_ID = /^(ocid1\.tenancy\.[^/]+)\/(fed-x509|fed-x509-sha256)\/([0-9A-Fa-f:]+)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIN_SESSION_KEY_BITS = 2048;
const respondToFault = statusResponder('oci');

/** A failure as the auth service reports it. */
interface Rejection {
  readonly status: 400 | 401;
  readonly code: string;
  readonly message: string;
}

interface FederationBody {
  readonly leaf: X509Certificate;
  readonly intermediates: readonly X509Certificate[];
  readonly sessionKeyBase64: string;
}

export function authHandler(state: EmulatorState): Handler {
  return async (exchange) => {
    if (exchange.path !== FEDERATION_PATH) {
      sendOciError(exchange, 404, 'NotAuthorizedOrNotFound', `no auth service resource at ${exchange.path}`);
      return;
    }
    const fault = state.faults.record('auth.x509');
    if (fault !== undefined && (await applyFault(exchange, fault, respondToFault))) return;
    if (exchange.req.method !== 'POST') {
      sendOciError(exchange, 405, 'MethodNotAllowed', `${FEDERATION_PATH} accepts POST only`, { allow: 'POST' });
      return;
    }
    const body = await readBody(exchange.req);
    const outcome = await federate(state, exchange, body);
    if ('status' in outcome) sendOciError(exchange, outcome.status, outcome.code, outcome.message);
    else sendJson(exchange, 200, outcome);
  };
}

async function federate(state: EmulatorState, exchange: Exchange, body: Buffer): Promise<Rejection | { token: string }> {
  const request: ReceivedRequest = { method: exchange.req.method ?? '', target: exchange.req.url ?? '', headers: exchange.req.headers };
  const nowMs = state.now();

  // Authentication first, as a real service does: an unsigned request learns nothing about its body.
  const parsed = parseAuthorization(request.headers.authorization);
  if (!parsed.ok) return notAuthenticated(parsed.message);
  const params = parsed.value;
  const checked = firstFailure(
    checkSignedHeaders(params, request, REQUIRED_SIGNED_HEADERS),
    checkClockSkew(params, request, nowMs),
    checkBodyHeaders(request, body),
  );
  if (checked !== undefined) return notAuthenticated(checked);

  const contentType = headerValue(request.headers, 'content-type') ?? '';
  if (contentType.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    return { status: 400, code: 'InvalidParameter', message: `the content type must be application/json, not "${contentType}"` };
  }
  const decoded = decodeBody(body);
  if ('status' in decoded) return decoded;

  const leafCheck = checkLeaf(state, params, decoded, nowMs);
  if (!leafCheck.ok) return notAuthenticated(leafCheck.message);
  const signature = verifySignature(params, request, decoded.leaf.publicKey);
  if (!signature.ok) return notAuthenticated(signature.message);

  const sessionKey = parseSessionKey(decoded.sessionKeyBase64);
  if (!sessionKey.ok) return { status: 400, code: 'InvalidParameter', message: sessionKey.message };
  const subject = subjectAttributes(decoded.leaf);
  const token = await issueSessionToken(state.authSigner, {
    instanceId: subject.get('opc-instance') ?? '',
    compartmentId: subject.get('opc-compartment') ?? '',
    tenancyId: leafCheck.value,
    sessionKey: sessionKey.value,
    nowMs,
    lifetimeSeconds: state.sessionTokenLifetimeSeconds,
  });
  return { token };
}

/** `x-content-sha256` and `content-length` must describe the bytes that actually arrived. */
function checkBodyHeaders(request: ReceivedRequest, body: Buffer): Verdict<void> {
  const declaredLength = headerValue(request.headers, 'content-length');
  if (declaredLength !== String(body.length)) {
    return { ok: false, message: `content-length "${declaredLength ?? ''}" is not the body's ${body.length} bytes` };
  }
  const hash = createHash('sha256').update(body).digest('base64');
  if (headerValue(request.headers, 'x-content-sha256') !== hash) {
    return { ok: false, message: 'x-content-sha256 is not the base64 SHA-256 of the body' };
  }
  return { ok: true, value: undefined };
}

function decodeBody(body: Buffer): Rejection | FederationBody {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, code: 'CannotParseRequest', message: 'the body is not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { status: 400, code: 'CannotParseRequest', message: 'the body is not a JSON object' };
  }
  const fields = json as Record<string, unknown>;
  for (const name of ['certificate', 'publicKey'] as const) {
    if (typeof fields[name] !== 'string' || fields[name] === '') {
      return { status: 400, code: 'MissingParameter', message: `the body has no ${name} (base64 DER)` };
    }
  }
  const intermediates = fields['intermediateCertificates'] ?? [];
  if (!Array.isArray(intermediates) || intermediates.some((value) => typeof value !== 'string')) {
    return invalid('intermediateCertificates must be an array of base64 DER strings');
  }
  const algorithm = fields['fingerprintAlgorithm'];
  if (algorithm !== undefined && algorithm !== 'SHA256' && algorithm !== 'SHA1') {
    return invalid(`unknown fingerprintAlgorithm ${JSON.stringify(algorithm)}`);
  }
  const purpose = fields['purpose'];
  if (purpose !== undefined && purpose !== 'DEFAULT') return invalid(`purpose ${JSON.stringify(purpose)} is not allowed here`);

  const leaf = parseCertificate(fields['certificate'] as string);
  if (leaf === undefined) return invalid('certificate is not base64 of a DER X.509 certificate');
  const chain: X509Certificate[] = [];
  for (const value of intermediates as string[]) {
    const certificate = parseCertificate(value);
    if (certificate === undefined) return invalid('an intermediate certificate is not base64 of a DER X.509 certificate');
    chain.push(certificate);
  }
  return { leaf, intermediates: chain, sessionKeyBase64: fields['publicKey'] as string };
}

/** keyId ↔ certificate fingerprint, tenancy, chain to the root, validity. Yields the tenancy. */
function checkLeaf(state: EmulatorState, params: SignatureParameters, body: FederationBody, nowMs: number): Verdict<string> {
  const keyId = KEY_ID.exec(params.keyId);
  if (keyId === null) {
    return { ok: false, message: 'the keyId is not "<tenancy OCID>/fed-x509-sha256/<fingerprint>" or ".../fed-x509/<fingerprint>"' };
  }
  const [, tenancyId, variant, fingerprint] = keyId as unknown as [string, string, string, string];
  const algorithm = variant === 'fed-x509-sha256' ? 'sha256' : 'sha1';
  // Go and TS send lowercase hex, Java and Python uppercase.
  if (fingerprint.toLowerCase() !== certificateFingerprint(body.leaf, algorithm)) {
    return { ok: false, message: `the keyId's ${algorithm.toUpperCase()} fingerprint is not that of the certificate in the body` };
  }
  const subject = subjectAttributes(body.leaf);
  if (subject.get('opc-certtype') !== 'instance') return { ok: false, message: 'the certificate is not an instance certificate' };
  const certTenancy = subject.get('opc-tenant');
  if (certTenancy !== tenancyId) {
    return { ok: false, message: `the keyId tenancy ${tenancyId} is not the certificate's tenancy ${certTenancy ?? '(none)'}` };
  }
  const root = state.identityRoot.certificate;
  const intermediate = body.intermediates.find((candidate) => issuedBy(body.leaf, candidate));
  if (intermediate === undefined) {
    return { ok: false, message: 'the certificate was not issued by any of the intermediateCertificates' };
  }
  if (!intermediate.ca || !issuedBy(intermediate, root)) {
    return { ok: false, message: 'the intermediate certificate does not chain to the instance identity root' };
  }
  for (const [what, certificate] of [['certificate', body.leaf], ['intermediate certificate', intermediate], ['root', root]] as const) {
    const from = Date.parse(certificate.validFrom);
    const to = Date.parse(certificate.validTo);
    if (nowMs < from || nowMs > to) {
      return {
        ok: false,
        message: `the ${what} is not valid at ${new Date(nowMs).toISOString()} (valid ${new Date(from).toISOString()} to ${new Date(to).toISOString()})`,
      };
    }
  }
  return { ok: true, value: tenancyId };
}

function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
}

/**
 * `opc-*` values from the subject, wherever they sit (OU, or O for `opc-identity:`): the SDKs
 * look at every attribute, not at a fixed position.
 */
function subjectAttributes(certificate: X509Certificate): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of certificate.subject.split('\n')) {
    const value = line.slice(line.indexOf('=') + 1);
    const colon = value.indexOf(':');
    if (value.startsWith('opc-') && colon > 0 && !values.has(value.slice(0, colon))) {
      values.set(value.slice(0, colon), value.slice(colon + 1));
    }
  }
  return values;
}

function parseCertificate(base64: string): X509Certificate | undefined {
  if (!BASE64.test(base64)) return undefined;
  try {
    return new X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    return undefined;
  }
}

/** The session key must be an RSA SubjectPublicKeyInfo of at least 2048 bits (oci-auth.md §3.4). */
function parseSessionKey(base64: string): Verdict<KeyObject> {
  if (!BASE64.test(base64)) return { ok: false, message: 'publicKey is not base64' };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
  } catch {
    return { ok: false, message: 'publicKey is not a DER SubjectPublicKeyInfo' };
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_SESSION_KEY_BITS) {
    return { ok: false, message: `publicKey must be RSA of at least ${MIN_SESSION_KEY_BITS} bits` };
  }
  return { ok: true, value: key };
}

function firstFailure(...verdicts: Verdict<void>[]): string | undefined {
  for (const verdict of verdicts) if (!verdict.ok) return verdict.message;
  return undefined;
}

function notAuthenticated(message: string): Rejection {
  return { status: 401, code: 'NotAuthenticated', message };
}

function invalid(message: string): Rejection {
  return { status: 400, code: 'InvalidParameter', message };
}
