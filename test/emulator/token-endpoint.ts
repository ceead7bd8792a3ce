import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import type { Exchange } from './http.ts';
import { readBody, sendJson, sendOciError } from './http.ts';
import type { ReceivedRequest, Verdict } from './signature.ts';
import { checkClockSkew, checkSignedHeaders, parseAuthorization, verifySignature } from './signature.ts';
import type { EmulatorState } from './state.ts';
import type { RepositoryAccess, VerifiedDockerToken } from './tokens.ts';
import { issueDockerToken, verifyDockerToken, verifySessionToken } from './tokens.ts';
import type { PrincipalInfo } from './types.ts';

/**
 * OCIR's docker token endpoint (oci-auth.md §7.1, §9.3), in its three uses:
 * - GET signed with an OCI signature (what the provider does): a token whose pulls are decided
 *   by policy at /v2 time;
 * - GET with `Basic BEARER_TOKEN:<docker token>` plus `service`/`scope` (the container runtime's
 *   challenge flow): a token limited to the granted scope;
 * - POST of containerd's OAuth password form, same meaning, answered with `access_token`.
 * Auth tokens (`<namespace>/<user>:<auth token>`) are not emulated.
 */

export const TOKEN_PATH = '/20180419/docker/token';
/** The username that marks the password as a docker token (oci-auth.md §7.4). */
export const BEARER_TOKEN_USER = 'BEARER_TOKEN';
const REQUIRED_SIGNED_HEADERS = [['date', 'x-date'], ['(request-target)'], ['host']];
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

interface Principal {
  readonly principal: PrincipalInfo;
  readonly publicKey: KeyObject;
}

export async function handleTokenRequest(state: EmulatorState, exchange: Exchange): Promise<void> {
  const { req } = exchange;
  if (req.method === 'POST') return handleOAuthForm(state, exchange);
  if (req.method !== 'GET') {
    sendOciError(exchange, 405, 'MethodNotAllowed', `${TOKEN_PATH} accepts GET and POST only`, { allow: 'GET, POST' });
    return;
  }
  const authorization = req.headers.authorization ?? '';
  if (/^Basic\s/i.test(authorization)) return handleBasic(state, exchange, authorization);
  return handleSigned(state, exchange);
}

/** Verifies a docker token presented back to OCIR: signature, audience, lifetime, not revoked. */
export async function acceptDockerToken(state: EmulatorState, token: string): Promise<Verdict<VerifiedDockerToken>> {
  const verified = await verifyDockerToken(state.registrySigner, token, state.registryService, state.now());
  if (verified.ok && state.revokedDockerTokens.has(verified.value.jti)) {
    return { ok: false, message: 'the docker token was revoked' };
  }
  return verified;
}

async function handleSigned(state: EmulatorState, exchange: Exchange): Promise<void> {
  const { req } = exchange;
  const request: ReceivedRequest = { method: req.method ?? '', target: req.url ?? '', headers: req.headers };
  const parsed = parseAuthorization(req.headers.authorization);
  if (!parsed.ok) return notAuthenticated(exchange, parsed.message);
  const params = parsed.value;
  for (const check of [checkSignedHeaders(params, request, REQUIRED_SIGNED_HEADERS), checkClockSkew(params, request, state.now())]) {
    if (!check.ok) return notAuthenticated(exchange, check.message);
  }
  const resolved = await resolveKeyId(state, params.keyId);
  if (!resolved.ok) return notAuthenticated(exchange, resolved.message);
  const signature = verifySignature(params, request, resolved.value.publicKey);
  if (!signature.ok) return notAuthenticated(exchange, signature.message);
  const { token } = await mint(state, resolved.value.principal, [], false);
  sendJson(exchange, 200, { token, access_token: token, scope: '', expires_in: state.dockerTokenLifetimeSeconds });
}

/** keyId → principal and the public key the request must be signed with (oci-auth.md §4.4). */
async function resolveKeyId(state: EmulatorState, keyId: string): Promise<Verdict<Principal>> {
  if (keyId.startsWith('ST$')) {
    const verified = await verifySessionToken(state.authSigner, keyId.slice(3), state.now());
    if (!verified.ok) return verified;
    // The token is only a bearer of rights for whoever holds the private half of its jwk.
    return { ok: true, value: { principal: verified.value.principal, publicKey: verified.value.sessionKey } };
  }
  const parts = keyId.split('/');
  if (parts.length !== 3 || parts.some((part) => part === '')) {
    return { ok: false, message: 'the keyId is neither "ST$<security token>" nor "<tenancy>/<user>/<fingerprint>"' };
  }
  const [tenancyId, userId, fingerprint] = parts as [string, string, string];
  const registered = state.apiKeys.get(`${tenancyId}/${userId}/${fingerprint.toLowerCase()}`);
  if (registered === undefined) {
    return { ok: false, message: `no API key with fingerprint ${fingerprint} is registered for user ${userId} in tenancy ${tenancyId}` };
  }
  return { ok: true, value: registered };
}

async function handleBasic(state: EmulatorState, exchange: Exchange, authorization: string): Promise<void> {
  const decoded = Buffer.from(authorization.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return notAuthenticated(exchange, 'the Basic credentials are not "<username>:<password>"');
  const url = new URL(exchange.req.url ?? '/', 'http://emulator');
  await grantScoped(state, exchange, {
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1),
    service: url.searchParams.get('service'),
    scopes: url.searchParams.getAll('scope'),
    oauth: false,
  });
}

/** containerd's `fetchTokenWithOAuth`: form-encoded `grant_type=password` (oci-auth.md §7.4). */
async function handleOAuthForm(state: EmulatorState, exchange: Exchange): Promise<void> {
  const contentType = (exchange.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== FORM_CONTENT_TYPE) {
    sendOciError(exchange, 400, 'InvalidParameter', `a token POST must be ${FORM_CONTENT_TYPE}`);
    return;
  }
  const form = new URLSearchParams((await readBody(exchange.req)).toString('utf8'));
  if (form.get('grant_type') !== 'password') {
    sendOciError(exchange, 400, 'InvalidParameter', `unsupported grant_type "${form.get('grant_type') ?? ''}" (only password)`);
    return;
  }
  await grantScoped(state, exchange, {
    username: form.get('username') ?? '',
    password: form.get('password') ?? '',
    service: form.get('service'),
    scopes: form.getAll('scope'),
    oauth: true,
  });
}

interface ScopedGrantRequest {
  readonly username: string;
  readonly password: string;
  readonly service: string | null;
  readonly scopes: readonly string[];
  /** Answer in the OAuth shape (`access_token`) rather than the Docker one. */
  readonly oauth: boolean;
}

/** Exchanges a docker token for one scoped to the requested repositories the policy allows. */
async function grantScoped(state: EmulatorState, exchange: Exchange, request: ScopedGrantRequest): Promise<void> {
  if (request.username !== BEARER_TOKEN_USER) {
    return notAuthenticated(exchange, `username "${request.username}" is not ${BEARER_TOKEN_USER} (auth tokens are not emulated)`);
  }
  const presented = await acceptDockerToken(state, request.password);
  if (!presented.ok) return notAuthenticated(exchange, presented.message);
  if (request.service !== null && request.service !== state.registryService) {
    sendOciError(exchange, 400, 'InvalidParameter', `service "${request.service}" is not this registry (${state.registryService})`);
    return;
  }
  const principal = presented.value.principal;
  const access = requestedPulls(request.scopes).filter((name) => state.policy(principal, name));
  const granted: RepositoryAccess[] = access.map((name) => ({ type: 'repository', name, actions: ['pull'] }));
  const { token } = await mint(state, principal, granted, true);
  const scope = access.map((name) => `repository:${name}:pull`).join(' ');
  const lifetime = state.dockerTokenLifetimeSeconds;
  const issuedAt = new Date(state.now()).toISOString();
  if (request.oauth) sendJson(exchange, 200, { access_token: token, scope, expires_in: lifetime, issued_at: issuedAt });
  else sendJson(exchange, 200, { token, access_token: token, scope, expires_in: lifetime, issued_at: issuedAt });
}

/**
 * Repository names whose `pull` is requested: `scope` may repeat and each may hold several
 * space-separated `repository:<name>:<actions>` entries. Push is never granted (pull-only emulator).
 */
export function requestedPulls(scopes: readonly string[]): string[] {
  const names = new Set<string>();
  for (const entry of scopes.flatMap((scope) => scope.split(' ')).filter((s) => s !== '')) {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || last <= first) continue;
    const type = entry.slice(0, first);
    const actions = entry.slice(last + 1).split(',');
    if (type === 'repository' && (actions.includes('pull') || actions.includes('*'))) names.add(entry.slice(first + 1, last));
  }
  return [...names];
}

async function mint(state: EmulatorState, principal: PrincipalInfo, access: RepositoryAccess[], scoped: boolean) {
  const issued = await issueDockerToken(state.registrySigner, {
    principal,
    audience: state.registryService,
    access,
    scoped,
    nowMs: state.now(),
    lifetimeSeconds: state.dockerTokenLifetimeSeconds,
  });
  state.issuedDockerTokens.add(issued.jti);
  state.dockerTokenPrincipals.set(issued.token, principal);
  state.lastDockerToken = issued.token;
  return issued;
}

function notAuthenticated(exchange: Exchange, message: string): void {
  sendOciError(exchange, 401, 'NotAuthenticated', message);
}
