import type { Settings } from '../../config/settings.ts';
import type { ProviderEntry } from '../kubeletConfig/validate.ts';
import type { CheckResult } from '../types.ts';

export const NAME = 'workload identity';

/**
 * Who gets no credentials at all although `serviceAccountFallback: node` promises them the node
 * identity. In service-account mode the kubelet runs the provider only after it got a token for the
 * pod's service account (kubelet-protocol.md §4.4), so every pod it skips gets nothing from us:
 * - `requireServiceAccount: true` skips pods without a service account (static pods);
 * - `requiredServiceAccountAnnotationKeys` skips pods whose account lacks any of those keys;
 * - node RBAC that grants the audience only for some accounts (`resourceNames`) makes the token
 *   request fail for every other account. That lives in the API server, which doctor does not
 *   query: it can only say so.
 * Undefined when the config has no `tokenAttributes` (nothing to say).
 */
export function checkWorkloadIdentity(provider: ProviderEntry | undefined, settings: Settings | undefined): CheckResult | undefined {
  const attributes = provider?.tokenAttributes;
  if (attributes === undefined) return undefined;
  const audience = typeof attributes.serviceAccountTokenAudience === 'string' ? attributes.serviceAccountTokenAudience : '<audience>';
  const rbac = `pods that did not opt in get the node identity only if the nodes may request "${audience}" tokens for every service account (RBAC without resourceNames; doctor cannot see RBAC)`;
  if (settings?.serviceAccountFallback !== 'node') {
    return { name: NAME, status: 'pass', detail: `tokenAttributes for audience "${audience}"; serviceAccountFallback is none, so pods that did not opt in get no credentials by design` };
  }
  const skipped: string[] = [];
  if (attributes.requireServiceAccount === true) skipped.push('pods without a service account (requireServiceAccount: true)');
  const required = attributes.requiredServiceAccountAnnotationKeys;
  if (Array.isArray(required) && required.length > 0) skipped.push(`pods whose service account lacks ${required.map(String).join(', ')} (requiredServiceAccountAnnotationKeys)`);
  if (skipped.length > 0) {
    return {
      name: NAME,
      status: 'warn',
      detail: `the kubelet never runs the provider for ${skipped.join(' or for ')}: they get no credentials, not the node identity serviceAccountFallback: node promises; also, ${rbac}`,
      fix: 'set requireServiceAccount: false and make the annotation optional (optionalServiceAccountAnnotationKeys), as in docs/workload-identity.md',
    };
  }
  return { name: NAME, status: 'pass', detail: `tokenAttributes for audience "${audience}"; ${rbac}` };
}
