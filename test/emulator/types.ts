import type { KeyObject } from 'node:crypto';

/** The public types of the emulator; index.ts re-exports them. */

export interface RegionInfo {
  readonly realmKey: string;
  readonly realmDomainComponent: string;
  readonly regionKey: string;
  readonly regionIdentifier: string;
}

export interface EmulatorOptions {
  /** What IMDS `/instance/region` answers: a short key (default `'fra'`) or an identifier. */
  region?: string;
  /** What IMDS `/instance/regionInfo` answers (default fra in oc1); `canonicalRegionName` is its identifier. */
  regionInfo?: RegionInfo;
  /** Lifetime of the auth service's session token (JWT `exp - iat`), and of the proxymux's RPSTs, default 3600. */
  sessionTokenLifetimeSeconds?: number;
  /** OCIR docker token `expires_in` and JWT lifetime, default 3600. */
  dockerTokenLifetimeSeconds?: number;
  /** The emulator's clock in ms since the epoch (default `Date.now`). Tests shift it to simulate skew. */
  now?: () => number;
  /**
   * Repositories that exist, `"<namespace>/<repo>"` → tags whose manifests answer 200.
   * Default `{"emulatorns/app": ["1.0","latest"], "emulatorns/team/tool": ["v2"]}`.
   */
  repositories?: Record<string, string[]>;
  /**
   * The registry's name in docker tokens (`aud`, a string) and the `service` the token endpoint
   * expects, default `registryHost`. OCIR's service is its own public host; set this when a
   * separate registry trusts the emulator's tokens behind one front host (test/real/).
   */
  registryService?: string;
  /** The audience the proxymux requires in service-account tokens (`aud`), default `oke-workload-identity`. */
  serviceAccountAudience?: string;
}

export type EndpointName =
  | 'imds.region'
  | 'imds.canonicalRegionName'
  | 'imds.regionInfo'
  | 'imds.id'
  | 'imds.cert'
  | 'imds.key'
  | 'imds.intermediate'
  | 'auth.x509'
  | 'ocir.token'
  | 'ocir.v2'
  | 'ocir.manifest'
  | 'proxymux.token';

/** A group of endpoints: a fault injected for a group hits the next calls to any endpoint in it. */
export type EndpointGroup = 'imds' | 'auth' | 'ocir' | 'proxymux';

export type FaultTarget = EndpointName | EndpointGroup;

export type StatusFault = { status: number; retryAfterSeconds?: number; body?: unknown };

/**
 * What an injected fault does instead of normal handling:
 * - `status`: answer with that status and an error body (OCI shape; Docker v2 shape on `/v2`), or
 *   `body` verbatim (a string is sent as text, anything else as JSON), with `Retry-After` when given;
 * - `hang`: never answer (the socket stays open until the client gives up or the emulator stops);
 * - `latencyMs`: wait, then handle normally;
 * - `until`: wait until the promise settles, then handle normally (a test holds a client at a call, and lets it go);
 * - `reset`: destroy the socket without answering.
 */
export type Fault = StatusFault | { hang: true } | { latencyMs: number } | { until: Promise<unknown> } | { reset: true };

export interface PrincipalInfo {
  /** `workload`: an OKE Workload Identity (a pod's service account), from an RPST the proxymux issued. */
  type: 'instance' | 'user' | 'resource' | 'workload';
  id: string;
  tenancyId: string;
  /** Workloads only, as IAM policies name them: `request.principal.namespace`. */
  namespace?: string;
  /** Workloads only: `request.principal.service_account`. */
  serviceAccount?: string;
  /** Workloads only: `request.principal.cluster_id`. */
  clusterId?: string;
}

/** A Kubernetes service-account token as the kubelet would request it for a pod (`issueServiceAccountToken`). */
export interface ServiceAccountTokenRequest {
  namespace: string;
  name: string;
  uid: string;
  /** From now; negative for an already expired token. Default 3600. */
  expiresInSeconds?: number;
  /** `aud`; default the emulator's `serviceAccountAudience`. */
  audience?: string | string[];
  /** Bound pod name (`kubernetes.io.pod.name`), default `<name>-pod`. */
  podName?: string;
}

/** A session token as `oci session authenticate` writes it (`issueSessionToken`). */
export interface SessionTokenOptions {
  /** `sub`, default a fresh user OCID. */
  userId?: string;
  /** Default the current tenancy. */
  tenancyId?: string;
  /** Default `sessionTokenLifetimeSeconds`. */
  lifetimeSeconds?: number;
  /** `iat`, default now: an hour ago with a 3600 s lifetime gives an expired token. */
  issuedAtMs?: number;
}

/** A resource principal session token for the RP v2.2 environment (`issueResourcePrincipalToken`). */
export interface ResourcePrincipalTokenOptions {
  /** `sub` and `res_id`, default a fresh function OCID. */
  resourceId?: string;
  /** Default the current tenancy. */
  tenancyId?: string;
  /** Default the current compartment. */
  compartmentId?: string;
  lifetimeSeconds?: number;
  issuedAtMs?: number;
}

/** Decides whether `principal` may pull `repository` (`"<namespace>/<repo...>"`). */
export type PullPolicy = (principal: PrincipalInfo, repository: string) => boolean;

export interface Emulator {
  /** `http://127.0.0.1:<port>/opc/v2`, the value for `OCI_METADATA_BASE_URL`. */
  readonly imdsBaseUrl: string;
  /** `http://127.0.0.1:<port>`, the value for `OCI_SDK_AUTH_CLIENT_REGION_URL`; clients POST `<authUrl>/v1/x509`. */
  readonly authUrl: string;
  /** `127.0.0.1:<port>`: OCIR over plain HTTP (token endpoint and `/v2`). */
  readonly registryHost: string;
  /** The tenancy of the current leaf certificate (changes after `rotateTenancy()`). */
  readonly tenancyId: string;
  /** The compartment of the current leaf certificate (changes after `rotateTenancy()`). */
  readonly compartmentId: string;
  readonly instanceId: string;
  /** The object storage namespace of the tenancy, `emulatorns`. */
  readonly namespace: string;
  /** PEM of the CA whose key certified the docker-token signing key (the `x5c` chain ends at it). */
  readonly registryTokenCaPem: string;
  /** The docker tokens' `iss`: a registry that trusts them must be configured with this issuer. */
  readonly registryTokenIssuer: string;
  /** The docker tokens' `aud` and the accepted `service` (`registryService` option, else `registryHost`). */
  readonly registryService: string;
  /** PEM of the root of the instance-identity PKI (the auth service trusts only this root). */
  readonly identityRootCaPem: string;
  /** Env vars that point the provider at this emulator. */
  env(): Record<string, string>;
  /** Calls per endpoint, rejected and faulted ones included; without an argument, the total over all endpoints. */
  calls(endpoint?: EndpointName): number;
  /** Resolves once `calls(endpoint)` reaches `count`: the event of requests having arrived, without polling. */
  whenCalls(count: number, endpoint?: EndpointName): Promise<void>;
  resetCalls(): void;
  /** The next `times` (default 1) calls to `endpoint`, or to any endpoint of a group, get `fault` instead. */
  inject(endpoint: FaultTarget, fault: Fault, times?: number): void;
  clearFaults(): void;
  /** New leaf certificate and key, same tenancy. */
  rotateCertificate(): void;
  /** New leaf certificate and key for a different tenancy (and compartment): clients must fail hard. */
  rotateTenancy(): void;
  /** Rotates, but the next `key.pem` served is still the old key, once (a rotation race between the two GETs). */
  serveMismatchOnce(): void;
  /**
   * Who may pull what, checked on every `/v2` manifest request and when scoping tokens.
   * Default: repositories under `namespace` for principals of this emulator's tenancies, nothing else.
   */
  setPolicy(policy: PullPolicy): void;
  denyAll(): void;
  allowAll(): void;
  /**
   * Registers a user API key; requests signed with keyId `<tenancy>/<userId>/<fingerprint>` are then
   * accepted. `publicKey` may be a KeyObject or a PEM (public or private). `tenancyId` defaults to the
   * current tenancy. Returns the MD5 fingerprint (lowercase colon hex).
   */
  registerApiKey(userId: string, publicKey: KeyObject | string, tenancyId?: string): string;
  /** Every docker token issued so far becomes invalid (tokens issued later are fine). */
  revokeDockerTokens(): void;
  /**
   * Test-only: a docker token granting pull and push on `repositories`, for seeding a real
   * registry that trusts this emulator. The token endpoint never grants push (OCIR would only for
   * a user with `manage repos`, which is not emulated); this token is not counted as issued there.
   */
  issuePushToken(repositories: readonly string[]): Promise<string>;
  /** The last docker token the token endpoint issued. */
  readonly lastDockerToken?: string;
  /** The principal a docker token from the token endpoint was issued to, or undefined for a token it never issued. */
  dockerTokenPrincipal(token: string): PrincipalInfo | undefined;
  /**
   * A session token for `publicKey` as `oci session authenticate` gives one (ptype `user`), RS256
   * by the auth key, for a `security_token_file` profile. OCIR accepts it as `ST$<token>` from
   * requests signed with the private half.
   */
  issueSessionToken(publicKey: KeyObject | string, options?: SessionTokenOptions): Promise<string>;
  /** An RPST for `publicKey` (ptype `resource`, ttype `res`, `res_*` claims), for the RP v2.2 environment. */
  issueResourcePrincipalToken(publicKey: KeyObject | string, options?: ResourcePrincipalTokenOptions): Promise<string>;
  /** `https://127.0.0.1:<port>`: the OKE proxymux (`POST /resourcePrincipalSessionTokens`), over TLS with its own CA. */
  readonly proxymuxUrl: string;
  /** PEM of the CA that signed the proxymux's certificate (the cluster CA, for `WORKLOAD_IDENTITY_CA_FILE`). */
  readonly proxymuxCaPem: string;
  /** The cluster's OCID, in workload RPSTs and their principals. */
  readonly clusterId: string;
  /** The audience the proxymux requires in service-account tokens. */
  readonly serviceAccountAudience: string;
  /** A service-account token signed by the emulator's "k8s" key, as the kubelet passes one to the provider. */
  issueServiceAccountToken(request: ServiceAccountTokenRequest): Promise<string>;
  /** The workload OCID the proxymux puts in RPSTs (`sub`, `res_id`) for a service account. */
  workloadId(namespace: string, serviceAccount: string): string;
  /** False: the proxymux answers 403 to every exchange, as for a cluster that is not an enhanced cluster. Default true. */
  setClusterEnhanced(enhanced: boolean): void;
  stop(): Promise<void>;
}
