import type * as FsPromises from 'node:fs/promises';

/**
 * `node:fs/promises`, loaded on first use. A static import of it (or of `promises` from `node:fs`)
 * builds the whole promise API as the module loads: about 1 M instructions per exec in the compiled
 * Bun executable (a third of what a warm exec adds to the runtime's own start), paid even by an exec
 * that never makes an asynchronous file call.
 */
export const fsp = (): typeof FsPromises => process.getBuiltinModule('node:fs/promises');

export type FileHandle = FsPromises.FileHandle;
