import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { authHandler } from './auth.ts';
import { apiKeyFingerprint } from './certificates.ts';
import { startLoopbackServer } from './http.ts';
import { IMDS_PREFIX, imdsHandler } from './imds.ts';
import { ocirHandler } from './ocir.ts';
import { ocid } from './ids.ts';
import { proxymuxHandler, workloadOcid } from './proxymux.ts';
import { issueServiceAccountJwt } from './service-accounts.ts';
import { createState, rotateLeaf, rotateTenancy } from './state.ts';
import { REGISTRY_ISSUER, issueDockerToken, issueResourcePrincipalToken, issueUserSessionToken } from './tokens.ts';
import type { Emulator, EmulatorOptions } from './types.ts';

/**
 * A strict local OCI for tests, the demo and benchmarks: IMDS v2, the auth service's X.509
 * federation, OCIR (token endpoint and `/v2`) and the OKE proxymux (HTTPS), each on its own
 * 127.0.0.1 port. It verifies
 * signatures, fingerprints, certificate chains, clock skew and JWTs the way OCI does, so a client
 * that passes here signs correctly. The API is documented on the types in types.ts.
 */

export type {
  Emulator,
  EmulatorOptions,
  EndpointGroup,
  EndpointName,
  Fault,
  FaultTarget,
  PrincipalInfo,
  PullPolicy,
  RegionInfo,
  ResourcePrincipalTokenOptions,
  ServiceAccountTokenRequest,
  SessionTokenOptions,
} from './types.ts';

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const state = await createState(options);
  const servers = await Promise.all([
    startLoopbackServer(imdsHandler(state)),
    startLoopbackServer(authHandler(state)),
    startLoopbackServer(ocirHandler(state)),
    startLoopbackServer(proxymuxHandler(state), state.proxymuxTls),
  ]);
  const [imds, auth, ocir, proxymux] = servers;
  state.registryHost = ocir.host;
  state.registryService = options.registryService ?? ocir.host;
  const imdsBaseUrl = `http://${imds.host}${IMDS_PREFIX}`;
  const authUrl = `http://${auth.host}`;
  const realm = state.regionInfo.realmKey.toLowerCase();
  const publicKeyOf = (key: KeyObject | string): KeyObject =>
    typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  let stopped: Promise<void> | undefined;

  return {
    imdsBaseUrl,
    authUrl,
    registryHost: ocir.host,
    get tenancyId() {
      return state.tenancyId;
    },
    get compartmentId() {
      return state.compartmentId;
    },
    instanceId: state.instanceId,
    namespace: state.namespace,
    registryTokenCaPem: state.registryCa.certificate.toString(),
    registryTokenIssuer: REGISTRY_ISSUER,
    registryService: state.registryService,
    identityRootCaPem: state.identityRoot.certificate.toString(),
    env: () => ({
      OCI_METADATA_BASE_URL: imdsBaseUrl,
      OCI_SDK_AUTH_CLIENT_REGION_URL: authUrl,
      REGISTRY_PROTOCOL: 'http',
      REGISTRY_HOSTS: ocir.host,
    }),
    calls: (endpoint) => state.faults.calls(endpoint),
    whenCalls: (count, endpoint) => state.faults.whenCalls(count, endpoint),
    resetCalls: () => state.faults.resetCalls(),
    inject: (endpoint, fault, times = 1) => state.faults.inject(endpoint, fault, times),
    clearFaults: () => state.faults.clear(),
    rotateCertificate: () => rotateLeaf(state),
    rotateTenancy: () => rotateTenancy(state),
    serveMismatchOnce: () => {
      state.staleKeyLeaf = state.leaf;
      rotateLeaf(state);
    },
    setPolicy: (policy) => {
      state.policy = policy;
    },
    denyAll: () => {
      state.policy = () => false;
    },
    allowAll: () => {
      state.policy = () => true;
    },
    registerApiKey: (userId: string, publicKey: KeyObject | string, tenancyId = state.tenancyId) => {
      const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
      const fingerprint = apiKeyFingerprint(key);
      state.apiKeys.set(`${tenancyId}/${userId}/${fingerprint}`, { principal: { type: 'user', id: userId, tenancyId }, publicKey: key });
      return fingerprint;
    },
    revokeDockerTokens: () => {
      for (const jti of state.issuedDockerTokens) state.revokedDockerTokens.add(jti);
    },
    issuePushToken: async (repositories) => {
      const realm = state.regionInfo.realmKey.toLowerCase();
      const { token } = await issueDockerToken(state.registrySigner, {
        principal: { type: 'user', id: ocid('user', realm), tenancyId: state.tenancyId },
        audience: state.registryService,
        access: repositories.map((name) => ({ type: 'repository', name, actions: ['pull', 'push'] })),
        scoped: true,
        nowMs: state.now(),
        lifetimeSeconds: state.dockerTokenLifetimeSeconds,
      });
      return token;
    },
    get lastDockerToken() {
      return state.lastDockerToken;
    },
    dockerTokenPrincipal: (token) => state.dockerTokenPrincipals.get(token),
    issueSessionToken: (publicKey, options = {}) =>
      issueUserSessionToken(state.authSigner, {
        userId: options.userId ?? ocid('user', realm),
        tenancyId: options.tenancyId ?? state.tenancyId,
        sessionKey: publicKeyOf(publicKey),
        nowMs: options.issuedAtMs ?? state.now(),
        lifetimeSeconds: options.lifetimeSeconds ?? state.sessionTokenLifetimeSeconds,
      }),
    issueResourcePrincipalToken: (publicKey, options = {}) =>
      issueResourcePrincipalToken(state.authSigner, {
        ptype: 'resource',
        resourceId: options.resourceId ?? ocid('fnfunc', realm, state.regionInfo.regionIdentifier),
        resourceType: 'fnfunc',
        tenancyId: options.tenancyId ?? state.tenancyId,
        compartmentId: options.compartmentId ?? state.compartmentId,
        sessionKey: publicKeyOf(publicKey),
        nowMs: options.issuedAtMs ?? state.now(),
        lifetimeSeconds: options.lifetimeSeconds ?? state.sessionTokenLifetimeSeconds,
      }),
    proxymuxUrl: `https://${proxymux.host}`,
    proxymuxCaPem: state.clusterCa.certificate.toString(),
    clusterId: state.clusterId,
    serviceAccountAudience: state.serviceAccountAudience,
    issueServiceAccountToken: (request) =>
      issueServiceAccountJwt(state.k8sSigner, {
        namespace: request.namespace,
        name: request.name,
        uid: request.uid,
        podName: request.podName ?? `${request.name}-pod`,
        audience: request.audience ?? state.serviceAccountAudience,
        nowMs: state.now(),
        expiresInSeconds: request.expiresInSeconds ?? 3600,
      }),
    workloadId: (namespace, serviceAccount) => workloadOcid(state, namespace, serviceAccount),
    setClusterEnhanced: (enhanced) => {
      state.clusterEnhanced = enhanced;
    },
    stop: () => {
      stopped ??= Promise.all(servers.map((server) => server.stop())).then(() => undefined);
      return stopped;
    },
  };
}
