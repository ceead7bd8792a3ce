/**
 * Names of cache entries and locks. They become file names inside the cache directory, so they are
 * restricted to a safe alphabet; a bad name is a bug in the caller, not a runtime condition.
 */
const NAME_PATTERN = /^[a-z0-9._-]+$/;

/** Longest name; leaves room under NAME_MAX (255) for the `.<16 hex>.tmp` and `.lock.break` suffixes. */
const MAX_NAME_LENGTH = 200;

/**
 * Suffixes of the files the store and the lock create next to entries. An entry may not end in one,
 * or the store's temp-file cleanup or a lock could mistake it for one of their own files.
 */
const RESERVED_SUFFIXES: readonly string[] = ['.tmp', '.lock', '.break'];

/**
 * Throws a plain `Error` when `name` is not a valid cache entry or lock name: `[a-z0-9._-]+`, not
 * `.` or `..`, at most 200 characters, not ending in `.tmp`, `.lock` or `.break`.
 */
export function assertCacheName(name: string, what: string): void {
  const ok =
    NAME_PATTERN.test(name) &&
    name.length <= MAX_NAME_LENGTH &&
    name !== '.' &&
    name !== '..' &&
    !RESERVED_SUFFIXES.some((suffix) => name.endsWith(suffix));
  if (!ok) throw new Error(`invalid ${what} name ${JSON.stringify(name)}: expected [a-z0-9._-]+ without a reserved suffix`);
}
