import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository, and the release folder `npm test` made (RELEASE_DIR) or undefined when there is none. */
export const ROOT = resolve(import.meta.dir, '../..');
export const RELEASE_DIR = process.env.RELEASE_DIR ? resolve(ROOT, process.env.RELEASE_DIR) : undefined;
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool to completion; tests assert on status and output. */
export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Ran {
  const r = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, input: options.input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every regular file under `dir`, as sorted relative paths. */
export function listTree(dir: string, sub = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, sub))) {
    const rel = sub === '' ? name : `${sub}/${name}`;
    if (statSync(join(dir, rel)).isDirectory()) out.push(...listTree(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

export const has = (tool: string): boolean => Bun.which(tool) !== null;
export const isRoot = process.getuid?.() === 0;
