import type * as NodeCrypto from 'node:crypto';

/**
 * `node:crypto`, loaded on first use. Bun's bundler hoists every static `import ... from
 * 'node:crypto'` to the top of the executable, and loading the module costs about 9 ms per exec,
 * more than half of an exec answered from the cache, which never signs or parses a key. Modules
 * that do call this instead; `process.getBuiltinModule` (Node >= 20.16, Bun) is a plain call the
 * bundler leaves where it is.
 */
let loaded: typeof NodeCrypto | undefined;

export function nodeCrypto(): typeof NodeCrypto {
  loaded ??= process.getBuiltinModule('node:crypto');
  return loaded;
}
