import type { KeyObject } from 'node:crypto';
import type { Codec, Memo, MemoEntry } from '../cache/memo.ts';
import { nodeCrypto } from '../nodeCrypto.ts';
import type { Clock } from '../runtime.ts';
import type { FederatedSession, IdentityProvider } from './types.ts';

/**
 * Federated sessions (instance principal, workload identity) shared by every process of the node
 * through the memo: the session token, its private key, and when to renew it.
 */

/**
 * Renewed at `exp - min(5 min, lifetime/2)`, since a fixed 5 min would refresh on every call for
 * tokens under 5 min (oracle/nosql-go-sdk#11).
 */
export const SESSION_REFRESH_MARGIN_MS = 5 * 60_000;

export function sessionNeedsRefresh(session: { expiresAtMs: number; issuedAtMs: number }, nowMs: number): boolean {
  const margin = Math.min(SESSION_REFRESH_MARGIN_MS, (session.expiresAtMs - session.issuedAtMs) / 2);
  return nowMs >= session.expiresAtMs - margin;
}

interface StoredSession {
  readonly keyId: string;
  readonly privateKeyPem: string;
  readonly principal: string;
  readonly tenancyId: string;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

export const sessionCodec: Codec<FederatedSession> = {
  encode: (s): StoredSession => ({
    keyId: s.keyId,
    privateKeyPem: s.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    principal: s.principal,
    tenancyId: s.tenancyId,
    issuedAtMs: s.issuedAtMs,
    expiresAtMs: s.expiresAtMs,
  }),
  decode: (json) => {
    const e = json as Partial<StoredSession> | undefined;
    if (!isText(e?.keyId) || !e.keyId.startsWith('ST$') || !isText(e.privateKeyPem) || !isText(e.principal) || !isText(e.tenancyId)) return undefined;
    if (!isTime(e.issuedAtMs) || !isTime(e.expiresAtMs) || e.expiresAtMs <= e.issuedAtMs) return undefined;
    const { keyId, principal, tenancyId, issuedAtMs, expiresAtMs, privateKeyPem } = e;
    let privateKey: KeyObject | undefined;
    return {
      keyId,
      principal,
      tenancyId,
      issuedAtMs,
      expiresAtMs,
      // Parsed (and node:crypto loaded) only when something is signed: reading who a cached session
      // is, or serving a cached docker token, never pays for it. `cachedSession` parses it before
      // handing the session out, so a key that does not parse is a miss, never a signing failure.
      get privateKey(): KeyObject {
        privateKey ??= nodeCrypto().createPrivateKey(privateKeyPem);
        return privateKey;
      },
    };
  },
};

/**
 * A federated identity through the memo: the shared session while it is fresh, else one
 * federation for every process of the node. After OCI refused a session (`forceRefresh` with the
 * `rejected` one), a session another process has meanwhile put in its place is used; the rejected
 * one never is.
 */
export function cachedSession(memo: Memo, key: readonly string[], clock: Clock, federate: () => Promise<FederatedSession>): IdentityProvider {
  const entry = sessionEntry(key);
  return (request) =>
    memo.get(
      entry,
      (session) => {
        if (sessionNeedsRefresh(session, clock.now()) || !keyParses(session)) return false;
        if (request?.forceRefresh !== true) return true;
        return request.rejected !== undefined && session.keyId !== request.rejected.keyId;
      },
      federate,
    );
}

export function sessionEntry(key: readonly string[]): MemoEntry<FederatedSession> {
  return { key: ['session', ...key], codec: sessionCodec };
}

function keyParses(session: FederatedSession): boolean {
  try {
    return session.privateKey.asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}
