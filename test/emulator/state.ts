import { randomBytes } from 'node:crypto';
import type { ServerTls } from './http.ts';
import type { KeyObject } from 'node:crypto';
import type { CertificateAuthority, InstanceLeaf } from './certificates.ts';
import { createIntermediateCa, createRootCa, generateRsaKeyPair, issueCertificate, issueInstanceLeaf } from './certificates.ts';
import { FaultBoard } from './faults.ts';
import { newTokenId, ocid } from './ids.ts';
import type { TokenSigner } from './tokens.ts';
import { createAuthSigner, createRegistrySigner } from './tokens.ts';
import type { EmulatorOptions, PrincipalInfo, PullPolicy, RegionInfo } from './types.ts';

/**
 * What the three emulated services share: the instance identity and its PKI, the token keys,
 * the registry contents and policy, counters and faults. The servers read it on every request,
 * so the test-facing controls (rotate, policy, revoke) take effect immediately.
 */

export interface RegisteredApiKey {
  readonly principal: PrincipalInfo;
  readonly publicKey: KeyObject;
}

export interface EmulatorState {
  readonly now: () => number;
  readonly region: string;
  readonly regionInfo: RegionInfo;
  readonly instanceId: string;
  readonly namespace: string;
  tenancyId: string;
  compartmentId: string;
  /** Every tenancy a leaf was issued for: their principals keep their default pull rights. */
  readonly tenancies: Set<string>;
  readonly identityRoot: CertificateAuthority;
  readonly identityIntermediate: CertificateAuthority;
  /** The leaf IMDS serves. A promise, because a rotation generates a key while requests keep arriving. */
  leaf: Promise<InstanceLeaf>;
  /** Set by `serveMismatchOnce()`: the next `key.pem` serves this (old) leaf's key instead. */
  staleKeyLeaf: Promise<InstanceLeaf> | undefined;
  readonly authSigner: TokenSigner;
  readonly registryCa: CertificateAuthority;
  readonly registrySigner: TokenSigner;
  /** Set once the OCIR server listens. */
  registryHost: string;
  /** The docker token's `aud` and the token endpoint's `service`: the option, else `registryHost`. */
  registryService: string;
  readonly sessionTokenLifetimeSeconds: number;
  readonly dockerTokenLifetimeSeconds: number;
  /** `"<namespace>/<repo>"` → existing tags. */
  readonly repositories: ReadonlyMap<string, ReadonlySet<string>>;
  policy: PullPolicy;
  /** Keyed by `<tenancy>/<user>/<lowercase fingerprint>`, the keyId a client sends. */
  readonly apiKeys: Map<string, RegisteredApiKey>;
  readonly issuedDockerTokens: Set<string>;
  readonly revokedDockerTokens: Set<string>;
  lastDockerToken: string | undefined;
  /** Every docker token the token endpoint issued, and to whom (tests check no token went to the wrong workload). */
  readonly dockerTokenPrincipals: Map<string, PrincipalInfo>;
  readonly faults: FaultBoard;
  /** The "k8s" key that signs service-account tokens; the proxymux trusts only it. */
  readonly k8sSigner: TokenSigner;
  /** The cluster CA and the proxymux's TLS certificate for 127.0.0.1 issued by it. */
  readonly clusterCa: CertificateAuthority;
  readonly proxymuxTls: ServerTls;
  readonly clusterId: string;
  /** The `aud` the proxymux requires in service-account tokens. */
  readonly serviceAccountAudience: string;
  /** False: the proxymux answers 403, as for a cluster that is not an enhanced cluster. */
  clusterEnhanced: boolean;
}

export const NAMESPACE = 'emulatorns';
const DEFAULT_REGION_INFO: RegionInfo = {
  realmKey: 'oc1',
  realmDomainComponent: 'oraclecloud.com',
  regionKey: 'FRA',
  regionIdentifier: 'eu-frankfurt-1',
};
const DEFAULT_REPOSITORIES: Readonly<Record<string, string[]>> = {
  [`${NAMESPACE}/app`]: ['1.0', 'latest'],
  [`${NAMESPACE}/team/tool`]: ['v2'],
};
const DEFAULT_LIFETIME_SECONDS = 3600;
const DEFAULT_SERVICE_ACCOUNT_AUDIENCE = 'oke-workload-identity';
const PROXYMUX_CERT_VALIDITY_MS = 24 * 60 * 60 * 1000;

export async function createState(options: EmulatorOptions): Promise<EmulatorState> {
  const now = options.now ?? Date.now;
  const regionInfo = options.regionInfo ?? DEFAULT_REGION_INFO;
  const realm = regionInfo.realmKey.toLowerCase();
  const tenancyId = ocid('tenancy', realm);
  const compartmentId = ocid('compartment', realm);
  const instanceId = ocid('instance', realm, regionInfo.regionKey.toLowerCase());
  const startMs = now();

  // RSA key generation is the slow part: all nine keys at once, then the certificates.
  const [rootKeys, intermediateKeys, leafKeys, registryCaKeys, registrySignerKeys, authKeys, k8sKeys, clusterCaKeys, proxymuxKeys] = await Promise.all(
    Array.from({ length: 9 }, () => generateRsaKeyPair()),
  );
  const identityRoot = await createRootCa([['CN', 'PKISVC Identity Root r2']], startMs, rootKeys);
  const identityIntermediate = await createIntermediateCa(
    [
      ['CN', 'PKISVC Identity Intermediate r2'],
      ['OU', `opc-device:${randomBytes(16).toString('hex')}`],
    ],
    identityRoot,
    startMs,
    intermediateKeys,
  );
  const leaf = issueInstanceLeaf(identityIntermediate, { instanceId, compartmentId, tenancyId }, startMs, leafKeys);
  await leaf;
  const registryCa = await createRootCa([['CN', 'Emulator OCIR Token CA']], startMs, registryCaKeys);
  const registrySigner = await createRegistrySigner(registryCa, startMs, registrySignerKeys);
  const authSigner = await createAuthSigner(authKeys);
  const clusterCa = await createRootCa([['CN', 'Emulator OKE cluster CA']], startMs, clusterCaKeys);
  const proxymuxCertificate = issueCertificate({
    subject: [['CN', 'proxymux']],
    subjectKey: proxymuxKeys!.publicKey,
    issuer: clusterCa,
    notBefore: new Date(startMs - 60_000),
    notAfter: new Date(startMs + PROXYMUX_CERT_VALIDITY_MS),
    isCa: false,
    server: { ips: ['127.0.0.1'], dnsNames: ['localhost'] },
  });

  const tenancies = new Set([tenancyId]);
  const repositories = new Map(
    Object.entries(options.repositories ?? DEFAULT_REPOSITORIES).map(([name, tags]) => [name, new Set(tags)] as const),
  );
  return {
    now,
    region: options.region ?? 'fra',
    regionInfo,
    instanceId,
    namespace: NAMESPACE,
    tenancyId,
    compartmentId,
    tenancies,
    identityRoot,
    identityIntermediate,
    leaf,
    staleKeyLeaf: undefined,
    authSigner,
    registryCa,
    registrySigner,
    registryHost: '',
    registryService: '',
    sessionTokenLifetimeSeconds: options.sessionTokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS,
    dockerTokenLifetimeSeconds: options.dockerTokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS,
    repositories,
    policy: defaultPolicy(tenancies),
    apiKeys: new Map(),
    issuedDockerTokens: new Set(),
    revokedDockerTokens: new Set(),
    lastDockerToken: undefined,
    dockerTokenPrincipals: new Map(),
    faults: new FaultBoard(),
    k8sSigner: { kid: `k8s-${newTokenId()}`, keys: k8sKeys! },
    clusterCa,
    proxymuxTls: {
      certificatePem: proxymuxCertificate.toString(),
      privateKeyPem: proxymuxKeys!.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
    clusterId: ocid('cluster', realm, regionInfo.regionIdentifier),
    serviceAccountAudience: options.serviceAccountAudience ?? DEFAULT_SERVICE_ACCOUNT_AUDIENCE,
    clusterEnhanced: true,
  };
}

/** Repositories in the emulator's namespace, for principals of the emulator's tenancies. */
export function defaultPolicy(tenancies: ReadonlySet<string>): PullPolicy {
  return (principal, repository) => tenancies.has(principal.tenancyId) && repository.startsWith(`${NAMESPACE}/`);
}

/** Replaces the leaf (new key and certificate) for the current tenancy. */
export function rotateLeaf(state: EmulatorState): void {
  const leaf = issueInstanceLeaf(
    state.identityIntermediate,
    { instanceId: state.instanceId, compartmentId: state.compartmentId, tenancyId: state.tenancyId },
    state.now(),
  );
  // Handlers await it; this branch only keeps a (fatal anyway) failure from being reported as unhandled.
  leaf.catch(() => undefined);
  state.leaf = leaf;
}

/** Moves the instance to a new tenancy and compartment, then rotates the leaf. */
export function rotateTenancy(state: EmulatorState): void {
  const realm = state.regionInfo.realmKey.toLowerCase();
  state.tenancyId = ocid('tenancy', realm);
  state.compartmentId = ocid('compartment', realm);
  state.tenancies.add(state.tenancyId);
  rotateLeaf(state);
}
