import { ProviderError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { IdentityProvider } from '../oci/identity.ts';
import type { FederatedSession } from '../oci/principals/instance.ts';
import { sessionNeedsRefresh } from '../oci/principals/sessionRefresh.ts';
import type { DockerToken } from '../ocir/dockerToken.ts';
import type { Clock } from '../runtime.ts';
import type { CacheStore } from './fileStore.ts';
import { withFileLock } from './fileLock.ts';
import { sha256Hex } from '../webCrypto.ts';
import { nodeCrypto } from '../nodeCrypto.ts';

/**
 * What the shared on-disk cache holds and when an entry is still good. The kubelet runs one
 * provider process per image lookup, dozens at once at node start; with this cache a burst costs
 * one federation and one docker token per registry, and the processes that lost the race wait for
 * the winner (cross-process single-flight through `withFileLock`) instead of calling OCI too.
 * Every entry is re-checked on read; anything malformed, foreign or of another version is a miss.
 */
const VERSION = 1;

/** Reuse a docker token until this close to its expiry (at most half its life for short tokens), so the cacheDuration we hand out stays ≥ 5 min. */
export const DOCKER_TOKEN_REUSE_MARGIN_MS = 10 * 60_000;

export interface CredentialCacheInit {
  readonly store: CacheStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** When waiting for another process's refresh must stop (the exec deadline), ms since epoch. */
  readonly deadlineMs: number;
}

interface SessionEntry {
  readonly v: typeof VERSION;
  readonly kind: 'session';
  /** Whose session: absent for the node's instance principal, else e.g. a workload's service account. */
  readonly scope?: string;
  readonly keyId: string;
  readonly privateKeyPem: string;
  readonly principal: string;
  readonly tenancyId: string;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
}

interface DockerEntry {
  readonly v: typeof VERSION;
  readonly kind: 'docker';
  readonly registry: string;
  readonly principalKey: string;
  readonly token: string;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
}

interface VerifiedEntry {
  readonly v: typeof VERSION;
  readonly kind: 'verified';
  /** SHA-256 of the token that was proven, so a new token is proven again. */
  readonly tokenSha256: string;
  readonly expiresAtMs: number;
}

const SESSION_ENTRY = 'session-instance-principal';

async function entryName(kind: string, ...parts: string[]): Promise<string> {
  return `${kind}-${(await sha256Hex(parts.join('\n'))).slice(0, 40)}`;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

function asSession(value: unknown, scope: string | undefined): SessionEntry | undefined {
  const e = value as Partial<SessionEntry> | undefined;
  // The scope is checked, not only hashed into the name: one workload's session is never another's.
  if (e?.v !== VERSION || e.kind !== 'session' || e.scope !== scope) return undefined;
  if (!isText(e.keyId) || !e.keyId.startsWith('ST$') || !isText(e.privateKeyPem) || !isText(e.principal) || !isText(e.tenancyId)) return undefined;
  if (!isNumber(e.issuedAtMs) || !isNumber(e.expiresAtMs) || e.expiresAtMs <= e.issuedAtMs) return undefined;
  return e as SessionEntry;
}

function asDocker(value: unknown, registry: string, principalKey: string): DockerEntry | undefined {
  const e = value as Partial<DockerEntry> | undefined;
  if (e?.v !== VERSION || e.kind !== 'docker' || e.registry !== registry || e.principalKey !== principalKey) return undefined;
  if (!isText(e.token) || !isNumber(e.issuedAtMs) || !isNumber(e.expiresAtMs) || e.expiresAtMs <= e.issuedAtMs) return undefined;
  return e as DockerEntry;
}

function sessionFromEntry(entry: SessionEntry): FederatedSession | undefined {
  try {
    // node:crypto only on the session path: a docker token served from the cache never loads it.
    return { ...entry, privateKey: nodeCrypto().createPrivateKey(entry.privateKeyPem) };
  } catch {
    return undefined;
  }
}

export function dockerTokenIsFresh(token: { issuedAtMs: number; expiresAtMs: number }, nowMs: number): boolean {
  const margin = Math.min(DOCKER_TOKEN_REUSE_MARGIN_MS, (token.expiresAtMs - token.issuedAtMs) / 2);
  return nowMs < token.expiresAtMs - margin;
}

export interface CredentialCache {
  /**
   * Wraps a federation: the session token and its key, shared by every process of the node. Without
   * `scope` it is the node's instance principal; with one (a workload's service account), a separate
   * entry that only that scope reads.
   */
  sessionProvider(federate: () => Promise<FederatedSession>, scope?: string): IdentityProvider;
  /** The docker token for (registry, principal): cached, or fetched by exactly one process while the others wait. */
  dockerToken(registry: string, principalKey: string, fetch: () => Promise<DockerToken>, options?: { refuse?: string }): Promise<DockerToken>;
  /** Whether this token was already proven to read this repository. */
  isVerified(registry: string, principalKey: string, repository: string, token: DockerToken): Promise<boolean>;
  markVerified(registry: string, principalKey: string, repository: string, token: DockerToken): Promise<void>;
}

export function createCredentialCache(init: CredentialCacheInit): CredentialCache {
  const { store, clock, log } = init;
  const lock = <T>(name: string, fn: () => Promise<T>): Promise<T> =>
    withFileLock(store.dir, name, fn, { deadlineMs: init.deadlineMs, now: () => clock.now(), log });
  const write = async (name: string, value: unknown): Promise<void> => {
    try {
      await store.write(name, value);
    } catch (error) {
      // A full disk must not fail the pull: the value is still returned, just not shared.
      log.warn('could not write the credential cache; carrying on without it', { dir: store.dir, reason: (error as Error).message });
    }
  };
  const readSession = async (name: string, scope: string | undefined): Promise<FederatedSession | undefined> => {
    const entry = asSession(await store.read(name), scope);
    return entry === undefined ? undefined : sessionFromEntry(entry);
  };

  return {
    sessionProvider(federate, scope) {
      const entry = scope === undefined ? Promise.resolve(SESSION_ENTRY) : entryName('session', scope);
      return async (request) => {
        const name = await entry;
        if (request?.forceRefresh !== true) {
          const cached = await readSession(name, scope);
          if (cached !== undefined && !sessionNeedsRefresh(cached, clock.now())) return cached;
        }
        return lock(name, async () => {
          const cached = await readSession(name, scope);
          // After a 401, another process may already have re-federated: use its session unless it is the rejected one.
          const usable =
            cached !== undefined &&
            !sessionNeedsRefresh(cached, clock.now()) &&
            (request?.forceRefresh !== true || (request.rejected !== undefined && cached.keyId !== request.rejected.keyId));
          if (usable) return cached;
          const fresh = await federate();
          if (scope === undefined && cached !== undefined && cached.tenancyId !== fresh.tenancyId) {
            // Every SDK fails hard here: a node does not change tenancy, so this is a misrouted IMDS.
            throw new ProviderError('ERR_INSTANCE_CERTIFICATE', `unexpected change of tenancy from ${cached.tenancyId} to ${fresh.tenancyId}`, {
              hint: `the instance certificate now names another tenancy; check IMDS, then delete ${store.dir} if the change is intended`,
            });
          }
          const entry: SessionEntry = {
            v: VERSION,
            kind: 'session',
            ...(scope === undefined ? {} : { scope }),
            keyId: fresh.keyId,
            privateKeyPem: fresh.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            principal: fresh.principal,
            tenancyId: fresh.tenancyId,
            issuedAtMs: fresh.issuedAtMs,
            expiresAtMs: fresh.expiresAtMs,
          };
          await write(name, entry);
          return fresh;
        });
      };
    },

    async dockerToken(registry, principalKey, fetch, options = {}) {
      const name = await entryName('docker', registry, principalKey);
      const readFresh = async (): Promise<DockerEntry | undefined> => {
        const entry = asDocker(await store.read(name), registry, principalKey);
        if (entry === undefined || !dockerTokenIsFresh(entry, clock.now())) return undefined;
        // A token OCIR just refused must not be served again from the cache.
        return entry.token === options.refuse ? undefined : entry;
      };
      const cached = await readFresh();
      if (cached !== undefined) return cached;
      return lock(name, async () => {
        const again = await readFresh();
        if (again !== undefined) return again;
        const issuedAtMs = clock.now();
        const token = await fetch();
        await write(name, { v: VERSION, kind: 'docker', registry, principalKey, token: token.token, issuedAtMs, expiresAtMs: token.expiresAtMs } satisfies DockerEntry);
        return token;
      });
    },

    async isVerified(registry, principalKey, repository, token) {
      const e = (await store.read(await entryName('verified', registry, principalKey, repository))) as Partial<VerifiedEntry> | undefined;
      return e?.v === VERSION && e.kind === 'verified' && e.tokenSha256 === (await sha256Hex(token.token)) && isNumber(e.expiresAtMs) && e.expiresAtMs > clock.now();
    },

    async markVerified(registry, principalKey, repository, token) {
      await write(await entryName('verified', registry, principalKey, repository), {
        v: VERSION,
        kind: 'verified',
        tokenSha256: await sha256Hex(token.token),
        expiresAtMs: token.expiresAtMs,
      } satisfies VerifiedEntry);
    },
  };
}
