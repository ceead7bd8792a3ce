import type { Identity, IdentityProvider } from '../identity.ts';

/**
 * Keeps a loaded identity for the life of the process and loads it again when `isStale` says so,
 * when the caller forces a refresh (OCI answered 401), or after a failure (a failure is never
 * kept, so the next call reads the files again instead of repeating it). Concurrent callers share
 * one load.
 */
export function memoizeIdentity(load: () => Promise<Identity>, isStale: (identity: Identity) => boolean): IdentityProvider {
  let pending: Promise<Identity> | undefined;
  const reload = (): Promise<Identity> => {
    const loading = load();
    pending = loading;
    loading.catch(() => {
      if (pending === loading) pending = undefined;
    });
    return loading;
  };
  return async (request = {}) => {
    if (pending === undefined || request.forceRefresh === true) return reload();
    const identity = await pending;
    return isStale(identity) ? reload() : identity;
  };
}

/**
 * An identity provider whose construction (and the modules it needs) waits for its first call, so
 * an exec answered from the cache never loads the principal code.
 */
export function deferIdentity(create: () => Promise<IdentityProvider>): IdentityProvider {
  let provider: Promise<IdentityProvider> | undefined;
  return async (request) => {
    provider ??= create();
    return (await provider)(request);
  };
}
