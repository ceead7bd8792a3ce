import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/** What doctor needs to know about a file; `mode` holds the permission bits. */
export interface FileFacts {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly mode: number;
}

/**
 * The node's filesystem as doctor sees it: reads only, every path a node path resolved under a
 * root, so tests (and an operator inspecting a mounted node image) point it at a directory.
 * Rejections carry the Node error (`code` ENOENT, EACCES, ...).
 */
export interface NodeFs {
  readText(nodePath: string): Promise<string>;
  readDir(nodePath: string): Promise<string[]>;
  /** Follows symlinks, as the kubelet's `exec.LookPath` does. */
  stat(nodePath: string): Promise<FileFacts>;
}

export function nodeFs(root: string): NodeFs {
  // A relative node path would be relative to the kubelet's working directory, which is `/`.
  const resolve = (nodePath: string): string => join(root, isAbsolute(nodePath) ? nodePath : `/${nodePath}`);
  return {
    readText: (p) => readFile(resolve(p), 'utf8'),
    readDir: (p) => readdir(resolve(p)),
    stat: async (p) => {
      const facts = await stat(resolve(p));
      return { isFile: facts.isFile(), isDirectory: facts.isDirectory(), mode: facts.mode & 0o7777 };
    },
  };
}

export { errnoCode } from '../errno.ts';
