import { ProviderError, withCode } from '../errors.ts';
import { redactOutside } from '../log.ts';
import { decodeJwtClaims, jwtExpiresAtMs, type JwtClaims } from '../oci/jwt.ts';

/**
 * The pod's service account as the kubelet presents it in a v1 request (KEP-4412,
 * kubelet-protocol.md §4.3): a service-account token and the configured annotations of the account.
 * The token is read, never verified: it comes from the kubelet over a pipe, and the proxymux that
 * receives it verifies it. Its claims only say whose it is (for cache keys) and whether it is
 * still worth sending.
 */

/**
 * The annotation by which a service account opts in to pulling with its own OKE Workload Identity.
 * The kubelet passes it only when its config lists it in `tokenAttributes.optionalServiceAccountAnnotationKeys`
 * (or `required...`). Values: `enabled`/`true`, or `disabled`/`false`.
 */
export const WORKLOAD_IDENTITY_ANNOTATION = 'oke.credential-provider.oracle.com/workload-identity';

/** A token that expired this recently is still sent: the node's and the API server's clocks may differ a little. */
export const SERVICE_ACCOUNT_TOKEN_SKEW_MS = 60_000;

/** Whose token it is: the coordinates the kubelet's own cache uses (namespace, name, UID). */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
  /** The account's UID (`kubernetes.io.serviceaccount.uid`); absent from tokens that only carry `sub`. */
  readonly uid: string | undefined;
  readonly expiresAtMs: number;
}

const OPT_IN = new Set(['enabled', 'true']);
const OPT_OUT = new Set(['disabled', 'false']);
const TOKEN_HINT = 'the kubelet requests this token for the pod; check tokenAttributes in the credential provider config and the kubelet log';
/** DNS-1123 label (namespaces) and subdomain (service accounts), as the API server validates them. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const UID = /^[A-Za-z0-9-]{1,64}$/;
const SUBJECT_PREFIX = 'system:serviceaccount:';

/**
 * Whether the service account opted in to workload identity. Throws `ERR_WORKLOAD_IDENTITY` for a
 * value that is neither on nor off: a typo must not silently pull with the node's identity.
 */
export function wantsWorkloadIdentity(annotations: Readonly<Record<string, string>> | undefined): boolean {
  const raw = annotations?.[WORKLOAD_IDENTITY_ANNOTATION];
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (OPT_IN.has(value)) return true;
  if (OPT_OUT.has(value) || value === '') return false;
  const shown = redactOutside(raw, 40);
  throw new ProviderError('ERR_WORKLOAD_IDENTITY', `the service account annotation ${WORKLOAD_IDENTITY_ANNOTATION} is ${JSON.stringify(shown)}, expected enabled or disabled`, {
    key: WORKLOAD_IDENTITY_ANNOTATION,
    hint: `kubectl annotate serviceaccount <name> ${WORKLOAD_IDENTITY_ANNOTATION}=enabled --overwrite`,
  });
}

/**
 * Reads whose token it is and whether it is still valid, before anything is called with it.
 * The account comes from the `kubernetes.io` claim (bound tokens) or the `sub`
 * `system:serviceaccount:<ns>:<name>`; when both are present they must agree. Throws
 * `ERR_SERVICE_ACCOUNT_TOKEN` when the token is not a JWT, names no valid account, has no `exp`,
 * or expired more than {@link SERVICE_ACCOUNT_TOKEN_SKEW_MS} ago. Messages never contain the token.
 */
export function readServiceAccountToken(token: string, nowMs: number): ServiceAccountRef {
  const claims = withCode('ERR_SERVICE_ACCOUNT_TOKEN', () => decodeJwtClaims(token, 'the service account token from the kubelet'), { hint: TOKEN_HINT });
  const account = accountOf(claims);
  const expiresAtMs = jwtExpiresAtMs(claims);
  const who = `${account.namespace}/${account.name}`;
  if (expiresAtMs === undefined) {
    throw new ProviderError('ERR_SERVICE_ACCOUNT_TOKEN', `the service account token of ${who} has no exp claim`, { hint: TOKEN_HINT });
  }
  if (nowMs > expiresAtMs + SERVICE_ACCOUNT_TOKEN_SKEW_MS) {
    throw new ProviderError('ERR_SERVICE_ACCOUNT_TOKEN', `the service account token of ${who} expired at ${new Date(expiresAtMs).toISOString()}`, {
      hint: 'the kubelet renews pod tokens by itself; check the node clock (chrony) and the kubelet log for token request errors',
    });
  }
  return { ...account, expiresAtMs };
}

function accountOf(claims: JwtClaims): Omit<ServiceAccountRef, 'expiresAtMs'> {
  const fail = (why: string): never => {
    throw new ProviderError('ERR_SERVICE_ACCOUNT_TOKEN', `the service account token from the kubelet ${why}`, { hint: TOKEN_HINT });
  };
  const fromSubject = subjectAccount(claims.sub);
  const k8s = claims['kubernetes.io'];
  let account: Omit<ServiceAccountRef, 'expiresAtMs'> | undefined;
  if (k8s !== undefined) {
    const namespace = field(k8s, ['namespace']);
    const name = field(k8s, ['serviceaccount', 'name']);
    const uid = field(k8s, ['serviceaccount', 'uid']);
    if (namespace === undefined || name === undefined) fail('has a kubernetes.io claim without namespace and serviceaccount.name');
    account = { namespace: namespace as string, name: name as string, uid };
    if (fromSubject !== undefined && (fromSubject.namespace !== account.namespace || fromSubject.name !== account.name)) {
      // Two answers to "whose token": refuse rather than pick one for a cache key.
      fail('names one service account in sub and another in its kubernetes.io claim');
    }
  } else {
    account = fromSubject;
  }
  if (account === undefined) return fail('names no service account (neither a kubernetes.io claim nor a system:serviceaccount:<namespace>:<name> subject)');
  if (account.namespace.length > 63 || !LABEL.test(account.namespace)) fail('names a namespace that is not a DNS label');
  if (account.name.length > 253 || !SUBDOMAIN.test(account.name)) fail('names a service account that is not a DNS subdomain');
  if (account.uid !== undefined && !UID.test(account.uid)) fail('has a serviceaccount.uid that is not a UID');
  return account;
}

function subjectAccount(sub: string | undefined): Omit<ServiceAccountRef, 'expiresAtMs'> | undefined {
  if (sub === undefined || !sub.startsWith(SUBJECT_PREFIX)) return undefined;
  const parts = sub.slice(SUBJECT_PREFIX.length).split(':');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return { namespace: parts[0] as string, name: parts[1] as string, uid: undefined };
}

/** A string at `path` inside a JSON value, or undefined. */
function field(value: unknown, path: readonly string[]): string | undefined {
  let at: unknown = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === 'string' && at !== '' ? at : undefined;
}
