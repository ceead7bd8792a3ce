
/**
 * Hashing and randomness for code on the warm path (a docker token served from the cache), without
 * `node:crypto` on Bun: loading it costs about 5 ms per exec in the compiled Bun executable, a third
 * of a warm exec, so modules that sign or parse keys load it lazily and everything else uses these.
 */

type BunHasher = new (algorithm: 'sha256') => { update(text: string): { digest(encoding: 'hex'): string } };

/**
 * SHA-256 of `text` (UTF-8) as lowercase hex, synchronously: the cache's entry names and the warm
 * answer's digests are taken before anything else runs, and a promise per digest cost a warm exec
 * its own share of first calls. Bun's hasher answers at once (`crypto.subtle.digest` there runs on a
 * thread pool an exec answered from the cache otherwise never starts); on Node, `node:crypto` is cheap.
 */
export function sha256Hex(text: string): string {
  const bun = (globalThis as { Bun?: { CryptoHasher: BunHasher } }).Bun;
  if (bun !== undefined) return new bun.CryptoHasher('sha256').update(text).digest('hex');
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
