
/**
 * Hashing and randomness through the web-standard `crypto` global, for code on the warm path
 * (a docker token served from the cache). Loading `node:crypto` costs about 5 ms per exec in the
 * compiled Bun executable, a third of a warm exec, so modules that sign or parse keys load it
 * lazily and everything else uses these.
 */
export async function sha256Hex(text: string): Promise<string> {
  // Bun's own hasher answers at once; `crypto.subtle.digest` there runs on a thread pool that an
  // exec answered from the cache otherwise never starts (a thread and a wake-up per digest).
  const bun = (globalThis as { Bun?: { CryptoHasher: new (algorithm: 'sha256') => { update(text: string): { digest(encoding: 'hex'): string } } } }).Bun;
  if (bun !== undefined) return new bun.CryptoHasher('sha256').update(text).digest('hex');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Buffer.from(digest).toString('hex');
}

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
