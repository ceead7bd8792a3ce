/**
 * The `credentialprovider.kubelet.k8s.io` versions the provider speaks. The kubelet sends the
 * version configured for the provider (`providers[].apiVersion`) and accepts only a response with
 * exactly that version (`pkg/credentialprovider/plugin/plugin.go`, `ExecPlugin`), so the provider
 * supports all three and echoes the request's version instead of picking one.
 */
export const API_VERSIONS = [
  'credentialprovider.kubelet.k8s.io/v1',
  'credentialprovider.kubelet.k8s.io/v1beta1',
  'credentialprovider.kubelet.k8s.io/v1alpha1',
] as const;

/** One of {@link API_VERSIONS}. */
export type ApiVersion = (typeof API_VERSIONS)[number];

/** The only version whose request may carry service-account fields (KEP-4412, kubelet 1.33+). */
export const SERVICE_ACCOUNT_API_VERSION: ApiVersion = 'credentialprovider.kubelet.k8s.io/v1';

/** True when `value` is exactly (case-sensitively) one of {@link API_VERSIONS}. */
export function isApiVersion(value: unknown): value is ApiVersion {
  return typeof value === 'string' && (API_VERSIONS as readonly string[]).includes(value);
}
