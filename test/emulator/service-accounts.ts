import { SignJWT } from 'jose';
import { newTokenId } from './ids.ts';
import type { Verdict } from './signature.ts';
import type { TokenSigner } from './tokens.ts';
import { verifyJwt } from './tokens.ts';

/**
 * The cluster side of OKE Workload Identity: Kubernetes service-account tokens as the kubelet
 * requests them for a pod (TokenRequest, bound to the pod), signed by the emulator's "k8s" key.
 * The proxymux accepts only these: signature, `exp`, issuer and audience are checked.
 */

/** The emulated API server's issuer (`--service-account-issuer`). */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ServiceAccountTokenClaims {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly podName: string;
  readonly audience: string | readonly string[];
  readonly nowMs: number;
  /** From `nowMs`; negative for a token that has already expired. */
  readonly expiresInSeconds: number;
}

/** The claims a bound token carries (`sub`, `kubernetes.io` with namespace, pod and service account). */
export function issueServiceAccountJwt(signer: TokenSigner, claims: ServiceAccountTokenClaims): Promise<string> {
  const iat = Math.floor(claims.nowMs / 1000);
  const exp = iat + claims.expiresInSeconds;
  return new SignJWT({
    'kubernetes.io': {
      namespace: claims.namespace,
      pod: { name: claims.podName, uid: newUid() },
      serviceaccount: { name: claims.name, uid: claims.uid },
    },
  })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'JWT' })
    .setIssuer(SERVICE_ACCOUNT_ISSUER)
    .setAudience(typeof claims.audience === 'string' ? claims.audience : [...claims.audience])
    .setSubject(`system:serviceaccount:${claims.namespace}:${claims.name}`)
    .setIssuedAt(Math.min(iat, exp - 1))
    .setNotBefore(Math.min(iat, exp - 1))
    .setExpirationTime(exp)
    .setJti(newTokenId())
    .sign(signer.keys.privateKey);
}

export interface VerifiedServiceAccount {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** Signature by the k8s key, issuer, audience, `exp`; then the account from `kubernetes.io`, which must agree with `sub`. */
export async function verifyServiceAccountJwt(signer: TokenSigner, jwt: string, audience: string, nowMs: number): Promise<Verdict<VerifiedServiceAccount>> {
  const verified = await verifyJwt('service account token', signer, jwt, { issuer: SERVICE_ACCOUNT_ISSUER, audience, nowMs });
  if (!verified.ok) return verified;
  const k8s = verified.value['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } } | undefined;
  const namespace = k8s?.namespace;
  const name = k8s?.serviceaccount?.name;
  const uid = k8s?.serviceaccount?.uid;
  if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string') {
    return { ok: false, message: 'the service account token has no kubernetes.io service account' };
  }
  if (verified.value.sub !== `system:serviceaccount:${namespace}:${name}`) {
    return { ok: false, message: 'the service account token sub does not match its kubernetes.io claim' };
  }
  return { ok: true, value: { namespace, name, uid } };
}

function newUid(): string {
  const hex = newTokenId();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
