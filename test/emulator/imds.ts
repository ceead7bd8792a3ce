import { applyFault, statusResponder } from './faults.ts';
import type { Exchange, Handler } from './http.ts';
import { sendJson, sendOciError, sendText } from './http.ts';
import type { EmulatorState } from './state.ts';
import type { EndpointName } from './types.ts';

/**
 * The Instance Metadata Service v2 (oci-auth.md §2, §9.1) with IMDSv1 disabled, as on a
 * hardened OKE node: GET only, `Authorization: Bearer Oracle` required, proxy headers refused.
 */

export const IMDS_PREFIX = '/opc/v2';

const ROUTES: Readonly<Record<string, EndpointName>> = {
  '/instance/region': 'imds.region',
  '/instance/canonicalRegionName': 'imds.canonicalRegionName',
  '/instance/regionInfo': 'imds.regionInfo',
  '/instance/id': 'imds.id',
  '/identity/cert.pem': 'imds.cert',
  '/identity/key.pem': 'imds.key',
  '/identity/intermediate.pem': 'imds.intermediate',
};

/** The docs say requests carrying any of these are rejected (a guard against SSRF through proxies). */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host'] as const;
const PEM = 'application/x-pem-file';
const respondToFault = statusResponder('oci');

export function imdsHandler(state: EmulatorState): Handler {
  return async (exchange) => {
    const endpoint = route(exchange.path);
    if (endpoint === undefined) {
      // Includes /opc/v1/* and /openstack/*: v1 is disabled, so they do not exist.
      sendOciError(exchange, 404, 'NotFound', `no IMDS v2 resource at ${exchange.path}`);
      return;
    }
    const fault = state.faults.record(endpoint);
    if (fault !== undefined && (await applyFault(exchange, fault, respondToFault))) return;

    const { req } = exchange;
    if (req.method !== 'GET') {
      sendOciError(exchange, 405, 'MethodNotAllowed', `IMDS answers GET only, not ${req.method ?? '?'}`, { allow: 'GET' });
      return;
    }
    const forwarded = FORWARDING_HEADERS.find((name) => req.headers[name] !== undefined);
    if (forwarded !== undefined) {
      sendOciError(exchange, 400, 'InvalidParameter', `IMDS v2 refuses requests carrying a ${forwarded} header`);
      return;
    }
    if (req.headers.authorization !== 'Bearer Oracle') {
      sendOciError(exchange, 401, 'NotAuthenticated', 'IMDS v2 requires the header "Authorization: Bearer Oracle"');
      return;
    }
    await answer(state, exchange, endpoint);
  };
}

/** Maps a path to its endpoint; a single trailing slash is tolerated (the TS SDK asks for `regionInfo/`). */
function route(path: string): EndpointName | undefined {
  if (!path.startsWith(`${IMDS_PREFIX}/`)) return undefined;
  const rest = path.slice(IMDS_PREFIX.length);
  const trimmed = rest.length > 1 && rest.endsWith('/') ? rest.slice(0, -1) : rest;
  return Object.hasOwn(ROUTES, trimmed) ? ROUTES[trimmed] : undefined;
}

async function answer(state: EmulatorState, exchange: Exchange, endpoint: EndpointName): Promise<void> {
  switch (endpoint) {
    case 'imds.region':
      return sendText(exchange, 200, state.region);
    case 'imds.canonicalRegionName':
      return sendText(exchange, 200, state.regionInfo.regionIdentifier);
    case 'imds.regionInfo':
      return sendJson(exchange, 200, state.regionInfo);
    case 'imds.id':
      return sendText(exchange, 200, state.instanceId);
    case 'imds.cert':
      return sendText(exchange, 200, (await state.leaf).certificatePem, { 'content-type': PEM });
    case 'imds.key': {
      // Taken before the await, so two concurrent key.pem requests cannot both get the stale key.
      const stale = state.staleKeyLeaf;
      state.staleKeyLeaf = undefined;
      return sendText(exchange, 200, (await (stale ?? state.leaf)).privateKeyPem, { 'content-type': PEM });
    }
    case 'imds.intermediate':
      return sendText(exchange, 200, state.identityIntermediate.certificate.toString(), { 'content-type': PEM });
    default:
      throw new Error(`IMDS has no answer for ${endpoint}`);
  }
}
