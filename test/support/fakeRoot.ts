import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Temporary directory trees standing in for a node's root; `removeFakeRoots` deletes every one made so far. */
const roots: string[] = [];

/** A temp dir holding `files` (path relative to the root → contents). */
export function rootWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cpo-root-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

export function removeFakeRoots(): void {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
}
