import { createMemo, diskBackend, memoryBackend } from '../cache/memo.ts';
import { credentialCacheDirFromEnv } from '../config/settings.ts';
import { MAX_INPUT_FILE_BYTES, readBoundedTextSync } from '../fs/readBoundedFile.ts';
import { MAX_REQUEST_BYTES } from '../kubelet/request.ts';
import { silentLogger } from '../log.ts';
import { readBootId } from '../machine.ts';
import { answerWarm } from '../provider/warmAnswer.ts';
import { readStdin, stdinIsTerminal, writeStdout } from './stdio.ts';

/**
 * The kubelet's exec (no arguments) tries the warm answer (`provider/warmAnswer.ts`) before the rest
 * of the plugin is loaded: the request as the kubelet wrote it, this process's environment and boot,
 * the cache read-only. Whatever happens here that is not an answer written whole, the full run
 * carries on with the same read of stdin, as if this had not been tried.
 */
export type WarmOutcome = { readonly answered: true } | { readonly answered: false; readonly stdin: Promise<Uint8Array> | undefined };

/**
 * How long the warm answer waits for the writer to close stdin. The kubelet writes the request and
 * closes the pipe as the process starts, so it is there at once; a writer slower than this, or one
 * that never closes, is the full run's to handle (it reads on under the exec's deadline).
 */
const STDIN_WAIT_MS = 250;
const NOT_YET = Symbol('not yet');

/** `main.ts` calls this for the kubelet's exec only: no arguments. */
export async function tryWarmAnswer(argv: readonly string[]): Promise<WarmOutcome> {
  if (stdinIsTerminal()) return { answered: false, stdin: undefined };
  const stdin = readStdin(MAX_REQUEST_BYTES);
  // Its failure (too large, unreadable) is the full run's to report.
  stdin.catch(() => undefined);
  try {
    const request = await within(stdin, STDIN_WAIT_MS);
    if (request === undefined) return { answered: false, stdin };
    // Read in place: nothing changes the environment before the full run takes its copy.
    const env = process.env;
    const dir = credentialCacheDirFromEnv(env);
    const text = await answerWarm(request, {
      inputs: async () => ({ argv, env, bootId: await readBootId() }),
      nowMs: () => Date.now(),
      readText: (path) => readBoundedTextSync(path, MAX_INPUT_FILE_BYTES),
      memo: createMemo({
        open: () => (dir === undefined ? memoryBackend() : diskBackend({ dir, log: silentLogger, now: () => Date.now(), lockWaitUntilMs: 0, readOnly: true })),
      }),
    });
    if (text === undefined) return { answered: false, stdin };
    await writeStdout(text);
    return { answered: true };
  } catch {
    // Not written (stdout refused it), or stdin failed: the full run answers again and reports what went wrong.
    return { answered: false, stdin };
  }
}

/** The value of `promise` if it settles within `ms`, else undefined (the promise goes on). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  // Settled already (the kubelet's request was all there): no timer to set and clear.
  const now = await Promise.race([promise, Promise.resolve(NOT_YET)]);
  if (now !== NOT_YET) return now;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
