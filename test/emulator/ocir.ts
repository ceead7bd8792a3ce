import { applyFault, statusResponder } from './faults.ts';
import type { Handler } from './http.ts';
import { sendOciError, sendRegistryError } from './http.ts';
import { handleBase, handleManifest } from './registry.ts';
import type { EmulatorState } from './state.ts';
import { TOKEN_PATH, handleTokenRequest } from './token-endpoint.ts';

/**
 * The OCIR server: routes the token endpoint and the `/v2` API, counting calls and playing
 * injected faults in each part's own error shape before normal handling.
 */

const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
/** distribution's repository name grammar: lowercase path components joined by `.`, `_`, `__` or dashes. */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const ociFault = statusResponder('oci');
const registryFault = statusResponder('registry');

export function ocirHandler(state: EmulatorState): Handler {
  return async (exchange) => {
    const { path } = exchange;
    if (path === TOKEN_PATH) {
      const fault = state.faults.record('ocir.token');
      if (fault !== undefined && (await applyFault(exchange, fault, ociFault))) return;
      return handleTokenRequest(state, exchange);
    }
    if (path === '/v2/' || path === '/v2') {
      const fault = state.faults.record('ocir.v2');
      if (fault !== undefined && (await applyFault(exchange, fault, registryFault))) return;
      return handleBase(state, exchange);
    }
    const manifest = MANIFEST_PATH.exec(path);
    if (manifest !== null) {
      const fault = state.faults.record('ocir.manifest');
      if (fault !== undefined && (await applyFault(exchange, fault, registryFault))) return;
      const repository = manifest[1]!;
      const reference = safeDecode(manifest[2]!);
      if (!REPOSITORY_NAME.test(repository)) {
        return sendRegistryError(exchange, 400, 'NAME_INVALID', `invalid repository name ${repository}`);
      }
      if (reference === undefined || !(TAG.test(reference) || DIGEST.test(reference))) {
        return sendRegistryError(exchange, 400, 'MANIFEST_INVALID', 'invalid tag or digest');
      }
      return handleManifest(state, exchange, repository, reference);
    }
    if (path.startsWith('/v2/')) {
      return sendRegistryError(exchange, 404, 'UNSUPPORTED', `the emulator does not serve ${path}`);
    }
    sendOciError(exchange, 404, 'NotAuthorizedOrNotFound', `no OCIR resource at ${path}`);
  };
}

/** A digest may arrive with its colon percent-encoded. */
function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
