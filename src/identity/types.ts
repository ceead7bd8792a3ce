import type { KeyObject } from 'node:crypto';

/**
 * Who signs a request: the keyId OCI checks and the private key that matches it. A session
 * token and its key always travel together in one value, so a request is never signed with
 * the key of token A and the keyId of token B.
 */
export interface Identity {
  /** `ST$<jwt>` for token principals, `<tenancy>/<user>/<fingerprint>` for API keys. Secret when it holds a token. */
  readonly keyId: string;
  readonly privateKey: KeyObject;
  /** Non-secret name of the principal for logs and cache keys, e.g. `instance:<ocid>` or `user:<ocid>`. */
  readonly principal: string;
  /** Tenancy OCID, when known. */
  readonly tenancyId?: string;
  /** When the keyId stops being accepted (ms since epoch); undefined for API keys. */
  readonly expiresAtMs?: number;
}

export interface IdentityRequest {
  /** Ignore any cached identity (after OCI answered 401 to a request signed with it). */
  readonly forceRefresh?: boolean;
  /** The identity OCI just refused; a shared cache uses it to tell whether another process already replaced it. */
  readonly rejected?: Identity;
}

/** A principal is a function: it returns an identity that is valid now. */
export type IdentityProvider = (request?: IdentityRequest) => Promise<Identity>;

/**
 * Who signs for one request, and the non-secret name of who that is, which every cached credential
 * of theirs is bound to. The name is derived from the identity itself, not from where it was
 * configured, and is known before the identity is loaded, so a cached docker token is found without
 * touching IMDS, keys or the proxymux; two identities never share an entry.
 */
export interface Signer {
  readonly identity: IdentityProvider;
  /**
   * `instance:<instance OCID>@<tenancy>`, `user:<tenancy>/<user>/<fingerprint>`, `session:<tenancy>/<subject>`,
   * `resource:<tenancy>/<resource>`, `workload:<proxymux>:<namespace>/<name>/<uid>`.
   */
  readonly principalKey: string;
}

/** A session token and its key, with when it was issued: what the shared cache keeps for a federated identity. */
export interface FederatedSession extends Identity {
  readonly tenancyId: string;
  readonly expiresAtMs: number;
  readonly issuedAtMs: number;
}
