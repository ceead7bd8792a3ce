import { Buffer } from 'node:buffer';
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { applyFault, statusResponder } from './faults.ts';
import type { Exchange, Handler } from './http.ts';
import { readBody, send, sendOciError } from './http.ts';
import { derivedOcid } from './ids.ts';
import { verifyServiceAccountJwt } from './service-accounts.ts';
import type { EmulatorState } from './state.ts';
import { issueResourcePrincipalToken } from './tokens.ts';

/**
 * The OKE proxymux (oci-auth.md §6.2, §9.4): HTTPS with the cluster CA, `POST
 * /resourcePrincipalSessionTokens` with a pod's service-account token as Bearer and the pod's
 * session public key as `podKey`; the answer is a JSON string literal holding base64 of
 * `{"token":"ST$<RPST>"}`, the RPST being a workload principal bound to that key.
 */

export const PROXYMUX_PATH = '/resourcePrincipalSessionTokens';
const MIN_POD_KEY_BITS = 2048;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const respondToFault = statusResponder('oci');

export function proxymuxHandler(state: EmulatorState): Handler {
  return async (exchange) => {
    if (exchange.path !== PROXYMUX_PATH) {
      sendOciError(exchange, 404, 'NotAuthorizedOrNotFound', `no proxymux resource at ${exchange.path}`);
      return;
    }
    const fault = state.faults.record('proxymux.token');
    if (fault !== undefined && (await applyFault(exchange, fault, respondToFault))) return;
    if (exchange.req.method !== 'POST') {
      sendOciError(exchange, 405, 'MethodNotAllowed', `${PROXYMUX_PATH} accepts POST only`, { allow: 'POST' });
      return;
    }
    // Every SDK maps a 403 here to "Please ensure the cluster type is enhanced".
    if (!state.clusterEnhanced) {
      sendOciError(exchange, 403, 'NotAuthorized', 'workload identity requires an enhanced cluster');
      return;
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(exchange.req.headers.authorization ?? '')?.[1];
    if (bearer === undefined) {
      sendOciError(exchange, 401, 'NotAuthenticated', 'the request carries no Bearer service account token');
      return;
    }
    const account = await verifyServiceAccountJwt(state.k8sSigner, bearer, state.serviceAccountAudience, state.now());
    if (!account.ok) {
      sendOciError(exchange, 401, 'NotAuthenticated', account.message);
      return;
    }
    const podKey = readPodKey((await readBody(exchange.req)).toString('utf8'));
    if (typeof podKey === 'string') {
      sendOciError(exchange, 400, 'InvalidParameter', podKey);
      return;
    }
    const { namespace, name } = account.value;
    const rpst = await issueResourcePrincipalToken(state.authSigner, {
      ptype: 'workload',
      resourceId: workloadOcid(state, namespace, name),
      resourceType: 'workload',
      tenancyId: state.tenancyId,
      compartmentId: state.compartmentId,
      sessionKey: podKey,
      nowMs: state.now(),
      lifetimeSeconds: state.sessionTokenLifetimeSeconds,
      workload: { namespace, serviceAccount: name, clusterId: state.clusterId },
    });
    sendProxymuxAnswer(exchange, rpst);
  };
}

/** The workload's OCID: one per cluster, namespace and service account, as IAM identifies workloads. */
export function workloadOcid(state: EmulatorState, namespace: string, serviceAccount: string): string {
  const realm = state.regionInfo.realmKey.toLowerCase();
  return derivedOcid('workload', realm, state.regionInfo.regionIdentifier, `${state.clusterId}/${namespace}/${serviceAccount}`);
}

/** What Go's test fixture writes (`%q` of the base64), with a lowercase `token` key. */
function sendProxymuxAnswer(exchange: Exchange, rpst: string): void {
  const encoded = Buffer.from(JSON.stringify({ token: `ST$${rpst}` }), 'utf8').toString('base64');
  send(exchange, 200, `"${encoded}"`, { 'content-type': 'application/json' });
}

/** The pod's session key: the full PEM (Go) or bare base64 SPKI (Python, TS); a string says what is wrong. */
function readPodKey(body: string): KeyObject | string {
  let podKey: unknown;
  try {
    podKey = (JSON.parse(body) as { podKey?: unknown } | null)?.podKey;
  } catch {
    return 'the body is not JSON';
  }
  if (typeof podKey !== 'string' || podKey === '') return 'the body has no podKey';
  let key: KeyObject;
  try {
    if (podKey.includes('-----BEGIN PUBLIC KEY-----')) key = createPublicKey(podKey);
    else if (BASE64.test(podKey)) key = createPublicKey({ key: Buffer.from(podKey, 'base64'), format: 'der', type: 'spki' });
    else return 'podKey is neither a PEM public key nor base64 SPKI';
  } catch {
    return 'podKey does not decode as a public key';
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_POD_KEY_BITS) return `podKey must be RSA of at least ${MIN_POD_KEY_BITS} bits`;
  return key;
}
