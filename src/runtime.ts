/**
 * The seams between the provider and the world. Each is a parameter with a real default
 * (see `defaultRuntime` in `cli/runtime.ts`), so tests swap them without monkey-patching.
 */

/** Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** The process environment as the kubelet passed it (its own plus the config's `env`). */
export type Env = Readonly<Record<string, string | undefined>>;

/** The few filesystem reads the provider needs, rooted where the caller chooses. */
export interface FileReader {
  /**
   * Reads a UTF-8 file; rejects with an error whose `code` is the Node code (ENOENT, EACCES, EISDIR, ...)
   * or a short phrase when the file is refused (`not a regular file: a FIFO`, `larger than N bytes`).
   */
  readText(path: string): Promise<string>;
}

export const systemClock: Clock = { now: () => Date.now() };
