import { createHash, randomBytes } from 'node:crypto';

/** Lowercase base32 as OCIDs use it (RFC 4648 alphabet, lowercased). */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(length: number): string {
  return Array.from(randomBytes(length), (byte) => BASE32[byte % 32]).join('');
}

/**
 * A random OCID of the real shape: `ocid1.<type>.<realm>.<region>.<unique>`, where tenancy and
 * compartment OCIDs leave the region empty (`ocid1.tenancy.oc1..aaaa...`).
 */
export function ocid(type: OcidType, realm: string, region = ''): string {
  return `ocid1.${type}.${realm}.${region}.aaaaaaaa${base32(52)}`;
}

export type OcidType = 'tenancy' | 'compartment' | 'instance' | 'user' | 'cluster' | 'fnfunc' | 'workload';

/** An OCID of the same shape whose unique part is derived from `seed`: the same seed, the same OCID. */
export function derivedOcid(type: OcidType, realm: string, region: string, seed: string): string {
  const unique = Array.from(createHash('sha512').update(seed).digest().subarray(0, 52), (byte) => BASE32[byte % 32]).join('');
  return `ocid1.${type}.${realm}.${region}.aaaaaaaa${unique}`;
}

/** A fresh `opc-request-id` in OCI's `<32hex>/<32hex>/<32hex>` form. */
export function newRequestId(): string {
  return [0, 1, 2].map(() => randomBytes(16).toString('hex').toUpperCase()).join('/');
}

/** A unique id for tokens (`jti`). */
export function newTokenId(): string {
  return randomBytes(16).toString('hex');
}
