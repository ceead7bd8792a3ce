import type { Memo } from '../cache/memo.ts';
import type { Settings } from '../config/settings.ts';
import { ProviderError } from '../errors.ts';
import type { CredentialProviderRequest } from '../kubelet/request.ts';
import type { Logger } from '../log.ts';
import type { HttpClient } from '../net/http.ts';
import type { RegionInfo } from '../oci/regions.ts';
import type { Clock, Env, FileReader } from '../runtime.ts';
import { readServiceAccountToken, wantsWorkloadIdentity, WORKLOAD_IDENTITY_ANNOTATION } from './serviceAccount.ts';
import { cachedSession, sessionEntry } from './session.ts';
import type { Signer } from './types.ts';

/**
 * The one place that decides who signs: the pod's own workload identity when its service account
 * opted in, else the node's identity (`ocirAuthMethod`) or nothing (`serviceAccountFallback: none`);
 * and the name of who that is, which cached credentials are bound to. `doctor` asks the same
 * question with a memory-only memo. Principal modules (and node:crypto with them) load only when an
 * identity is needed: a docker token served from the cache never loads them.
 */
export interface SignerDeps {
  readonly settings: Settings;
  readonly env: Env;
  readonly files: FileReader;
  readonly homeDir: string | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  readonly http: HttpClient;
  readonly memo: Memo;
  /** Region metadata beyond the built-in table (regions-config.json, OCI_REGION_METADATA). */
  readonly regionMetadata: readonly RegionInfo[];
  /** This boot of this machine (`/proc/sys/kernel/random/boot_id`); undefined without /proc. */
  readonly bootId: () => Promise<string | undefined>;
}

/** What of the kubelet's request decides who signs. */
export type SignerRequest = Pick<CredentialProviderRequest, 'serviceAccountToken' | 'serviceAccountAnnotations'>;

/**
 * The signer for one request, or undefined when this pod gets no credentials. A pod whose service
 * account opted in (the annotation) pulls with its own OKE Workload Identity, from the token the
 * kubelet sent, checked (claims, expiry) before anything is called with it; every other pod, and
 * every request without a token (static pods, v1beta1/v1alpha1, no `tokenAttributes`), gets the
 * fallback. Throws `ERR_SERVICE_ACCOUNT_TOKEN` or `ERR_WORKLOAD_IDENTITY` for an opted-in pod that
 * cannot be served, and the principal's own error when the node identity is misconfigured.
 */
export async function resolveSigner(request: SignerRequest, deps: SignerDeps): Promise<Signer | undefined> {
  if (wantsWorkloadIdentity(request.serviceAccountAnnotations)) {
    const token = request.serviceAccountToken;
    if (token === undefined) {
      // The kubelet sends annotations only together with a token; seeing one alone means a config we do not understand.
      throw new ProviderError('ERR_WORKLOAD_IDENTITY', `the service account opted in with ${WORKLOAD_IDENTITY_ANNOTATION}, but the kubelet sent no service account token`, {
        hint: 'set tokenAttributes (serviceAccountTokenAudience) for this provider in the kubelet credential provider config, apiVersion credentialprovider.kubelet.k8s.io/v1',
      });
    }
    const account = readServiceAccountToken(token, deps.clock.now());
    deps.log.debug('signing with the workload identity of the service account', { namespace: account.namespace, serviceAccount: account.name });
    const { workloadSigner } = await import('./principals/workloadIdentity.ts');
    return workloadSigner(deps, account, token);
  }
  if (deps.settings.serviceAccountFallback === 'none') {
    deps.log.debug('no credentials: the pod did not opt in to workload identity and serviceAccountFallback is none', {
      withToken: request.serviceAccountToken !== undefined,
    });
    return undefined;
  }
  return nodeSigner(deps);
}

/** The provider's own identity, `ocirAuthMethod`. */
export async function nodeSigner(deps: SignerDeps): Promise<Signer> {
  const method = deps.settings.ocirAuthMethod;
  if (method === 'USER_PRINCIPAL') {
    const { apiKeyPrincipalKey, fromApiKeyProfile } = await import('./principals/apiKey.ts');
    const init = { env: deps.env, files: deps.files, homeDir: deps.homeDir, clock: deps.clock };
    return { principalKey: await apiKeyPrincipalKey(init), identity: fromApiKeyProfile(init) };
  }
  if (method === 'RESOURCE_PRINCIPAL') {
    const { fromResourcePrincipalEnv, resourcePrincipalKey } = await import('./principals/resourcePrincipal.ts');
    const init = { env: deps.env, files: deps.files, clock: deps.clock };
    return { principalKey: await resourcePrincipalKey(init), identity: fromResourcePrincipalEnv(init) };
  }
  // Who the instance is: its tenancy and instance OCID, from the session this boot federated (read
  // without loading its key), or from a federation now when there is none. The boot and the IMDS
  // endpoint are part of the session's own key: another boot (a reboot, or a disk image baked from
  // a running node and booted elsewhere) never reads a session of a previous life of the disk.
  // oci/imds.ts is loaded here rather than imported: the other principals never need it.
  const { createImdsClient, imdsBaseUrl } = await import('../oci/imds.ts');
  const imds = imdsBaseUrl(deps.env);
  const sessionKey = ['instance', imds, (await deps.bootId()) ?? 'no-boot-id'];
  const identity = cachedSession(deps.memo, sessionKey, deps.clock, async () => {
    const { federateInstancePrincipal } = await import('./principals/instance.ts');
    return federateInstancePrincipal({
      imds: createImdsClient({ http: deps.http, env: deps.env }),
      http: deps.http,
      clock: deps.clock,
      env: deps.env,
      regionMetadata: deps.regionMetadata,
      log: deps.log,
    });
  });
  const cached = deps.memo.read(sessionEntry(sessionKey));
  // Federated just now to learn who: that session signs this exec's first request as it is (even
  // if a skewed clock makes it look due for renewal already), rather than a second federation.
  const federated = cached === undefined ? await identity() : undefined;
  const who = cached ?? federated!;
  return {
    principalKey: `${who.principal}@${who.tenancyId ?? 'unknown-tenancy'}`,
    identity: (request) => (federated !== undefined && request?.forceRefresh !== true ? Promise.resolve(federated) : identity(request)),
  };
}
