/**
 * The one errno helper: the `code` of a Node system error (`ENOENT`, `EEXIST`, ...), also when it
 * is wrapped as the `cause` of another error (fetch wraps socket errors that way), or undefined.
 */
export function errnoCode(error: unknown): string | undefined {
  const own = ownErrnoCode(error);
  if (own !== undefined) return own;
  return typeof error === 'object' && error !== null && 'cause' in error ? ownErrnoCode(error.cause) : undefined;
}

/** The `code` of this very error, not of its cause. */
export function ownErrnoCode(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'string') return value.code;
  return undefined;
}

/** A short phrase for an operator: "permission denied" rather than EACCES. */
export function describeErrno(code: string | undefined): string {
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'EROFS') return 'read-only filesystem';
  return code ?? 'unknown error';
}
