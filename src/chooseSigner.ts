import type { ServiceAccountFallback } from './config/settings.ts';
import { ProviderError } from './errors.ts';
import type { CredentialProviderRequest } from './kubelet/request.ts';
import { readServiceAccountToken, wantsWorkloadIdentity, WORKLOAD_IDENTITY_ANNOTATION, type ServiceAccountRef } from './kubelet/serviceAccount.ts';
import type { Logger } from './log.ts';
import type { Signer } from './oci/identity.ts';
import type { Clock } from './runtime.ts';

/**
 * Who signs for one request. A pod whose service account opted in (the annotation) pulls with its
 * own OKE Workload Identity, from the token the kubelet sent; every other pod, and every request
 * without a token (static pods, `requireServiceAccount: false`, v1beta1/v1alpha1, no
 * `tokenAttributes`), gets the fallback: the provider's own identity, or nothing.
 */
export interface ChooseSignerInit {
  readonly fallback: ServiceAccountFallback;
  readonly clock: Clock;
  readonly log: Logger;
  /** The provider's own identity (`ocirAuthMethod`); built only when chosen. */
  readonly node: () => Signer;
  /** The workload's identity for the account the token names. */
  readonly workload: (account: ServiceAccountRef, token: string) => Signer;
}

/**
 * The signer, or undefined when this pod gets no credentials (fallback `none`). The token is
 * checked (claims, expiry) here, before anything is called with it. Throws
 * `ERR_SERVICE_ACCOUNT_TOKEN` or `ERR_WORKLOAD_IDENTITY`.
 */
export function chooseSigner(request: CredentialProviderRequest, init: ChooseSignerInit): Signer | undefined {
  if (wantsWorkloadIdentity(request.serviceAccountAnnotations)) {
    const token = request.serviceAccountToken;
    if (token === undefined) {
      // The kubelet sends annotations only together with a token; seeing one alone means a config we do not understand.
      throw new ProviderError('ERR_WORKLOAD_IDENTITY', `the service account opted in with ${WORKLOAD_IDENTITY_ANNOTATION}, but the kubelet sent no service account token`, {
        hint: 'set tokenAttributes (serviceAccountTokenAudience) for this provider in the kubelet credential provider config, apiVersion credentialprovider.kubelet.k8s.io/v1',
      });
    }
    const account = readServiceAccountToken(token, init.clock.now());
    init.log.debug('signing with the workload identity of the service account', { namespace: account.namespace, serviceAccount: account.name });
    return init.workload(account, token);
  }
  if (init.fallback === 'none') {
    init.log.debug('no credentials: the pod did not opt in to workload identity and serviceAccountFallback is none', {
      withToken: request.serviceAccountToken !== undefined,
    });
    return undefined;
  }
  return init.node();
}
