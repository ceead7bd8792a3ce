import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Exchange, Headers } from './http.ts';
import { send, sendJson, sendRegistryError } from './http.ts';
import type { EmulatorState } from './state.ts';
import { BEARER_TOKEN_USER, TOKEN_PATH, acceptDockerToken } from './token-endpoint.ts';
import type { VerifiedDockerToken } from './tokens.ts';

/**
 * The registry's Docker v2 API as far as credentials matter (oci-auth.md §7.4, §9.3): `/v2/`
 * and manifest GET/HEAD, answering 401 with a token challenge, 403 when policy denies, 404 for
 * unknown repositories or references. Besides `Bearer <token>`, `Basic BEARER_TOKEN:<token>` is
 * accepted, as OCIR does for `docker login -u BEARER_TOKEN`.
 */

const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;
const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export async function handleBase(state: EmulatorState, exchange: Exchange): Promise<void> {
  if (!allowReadMethod(exchange)) return;
  const token = await authenticate(state, exchange, '');
  if (token === undefined) return;
  sendJson(exchange, 200, {}, API_VERSION_HEADER);
}

export async function handleManifest(state: EmulatorState, exchange: Exchange, repository: string, reference: string): Promise<void> {
  if (!allowReadMethod(exchange)) return;
  const scope = `repository:${repository}:pull`;
  const token = await authenticate(state, exchange, scope);
  if (token === undefined) return;

  // Authorization comes before existence, so a denied principal cannot probe which repositories exist.
  if (token.scoped && !token.access.some((a) => a.type === 'repository' && a.name === repository && a.actions.includes('pull'))) {
    return denied(exchange, `the token does not grant ${scope}`);
  }
  if (!state.policy(token.principal, repository)) {
    return denied(exchange, `${token.principal.type} ${token.principal.id} may not pull ${repository} (policy)`);
  }
  const tags = state.repositories.get(repository);
  if (tags === undefined) {
    return sendRegistryError(exchange, 404, 'NAME_UNKNOWN', `repository ${repository} not known to registry`, API_VERSION_HEADER, { name: repository });
  }
  const manifest = [...tags].map((tag) => manifestFor(repository, tag)).find((m) => m.tag === reference || m.digest === reference);
  if (manifest === undefined) {
    const detail = DIGEST.test(reference) ? { digest: reference } : { tag: reference };
    return sendRegistryError(exchange, 404, 'MANIFEST_UNKNOWN', `manifest ${reference} unknown in ${repository}`, API_VERSION_HEADER, detail);
  }
  send(exchange, 200, manifest.body, {
    ...API_VERSION_HEADER,
    'content-type': MANIFEST_MEDIA_TYPE,
    'docker-content-digest': manifest.digest,
    etag: `"${manifest.digest}"`,
  });
}

/** Answers 401 with a challenge (and returns undefined) unless a valid docker token is presented. */
async function authenticate(state: EmulatorState, exchange: Exchange, scope: string): Promise<VerifiedDockerToken | undefined> {
  const presented = presentedToken(exchange.req.headers.authorization);
  const challenge = (error?: string): Headers => ({
    ...API_VERSION_HEADER,
    'www-authenticate':
      `Bearer realm="http://${state.registryHost}${TOKEN_PATH}",service="${state.registryService}",scope="${scope}"` +
      (error === undefined ? '' : `,error="${error}"`),
  });
  if (presented === undefined) {
    sendRegistryError(exchange, 401, 'UNAUTHORIZED', 'authentication required', challenge());
    return undefined;
  }
  const verified = await acceptDockerToken(state, presented);
  if (!verified.ok) {
    sendRegistryError(exchange, 401, 'UNAUTHORIZED', verified.message, challenge('invalid_token'));
    return undefined;
  }
  return verified.value;
}

/** The docker token from `Bearer <token>` or `Basic base64(BEARER_TOKEN:<token>)`. */
function presentedToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer !== null) return bearer[1];
  const basic = /^Basic\s+(\S+)$/i.exec(authorization);
  if (basic === null) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const prefix = `${BEARER_TOKEN_USER}:`;
  return decoded.startsWith(prefix) ? decoded.slice(prefix.length) : undefined;
}

function allowReadMethod(exchange: Exchange): boolean {
  const method = exchange.req.method;
  if (method === 'GET' || method === 'HEAD') return true;
  sendRegistryError(exchange, 405, 'UNSUPPORTED', `${method ?? '?'} is not supported by the emulator`, {
    ...API_VERSION_HEADER,
    allow: 'GET, HEAD',
  });
  return false;
}

function denied(exchange: Exchange, message: string): void {
  sendRegistryError(exchange, 403, 'DENIED', message, API_VERSION_HEADER);
}

interface Manifest {
  readonly tag: string;
  readonly digest: string;
  readonly body: Buffer;
}

/** A small, deterministic OCI image manifest per repository and tag, so digests are stable. */
export function manifestFor(repository: string, tag: string): Manifest {
  const config = Buffer.from('{}');
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
        size: config.length,
      },
      layers: [],
      annotations: { 'org.opencontainers.image.ref.name': tag, 'org.opencontainers.image.title': repository },
    }),
  );
  return { tag, digest: `sha256:${createHash('sha256').update(body).digest('hex')}`, body };
}
