import { createMemo, diskBackend, memoryBackend, type Lead, type Memo } from '../cache/memo.ts';
import { credentialCacheDirFromEnv, type Settings } from '../config/settings.ts';
import { MAX_INPUT_FILE_BYTES, readBoundedTextSync } from '../fs/readBoundedFile.ts';
import { MAX_REQUEST_BYTES } from '../kubelet/requestBytes.ts';
import { silentLogger } from '../silentLogger.ts';
import { readBootId } from '../machine.ts';
import { createDeadline, lockWaitUntilMs } from '../net/deadline.ts';
import { answerWarm, mayKeepAnswers, warmLookup, type WarmLookup } from '../provider/warmAnswer.ts';
import { systemClock, type Env } from '../runtime.ts';
import { readStdin, stdinIsTerminal, writeStdout } from './stdio.ts';

/**
 * The kubelet's exec (no arguments) tries the warm answer (`provider/warmAnswer.ts`) before the rest
 * of the plugin is loaded: the request as the kubelet wrote it, this process's environment and boot,
 * the cache read-only. Whatever happens here that is not an answer written whole, the full run
 * carries on with the same read of stdin, as if this had not been tried.
 *
 * A burst (the kubelet starts dozens of execs at once at node start, all missing) is led by one
 * exec: the first to miss takes the answer's lead and runs the full path, which keeps the answer;
 * the others wait here, with only this much of the plugin loaded, and are then answered warm. If
 * the leader kept nothing (it failed, or warned), each runs the full path itself, all at once, as
 * it would have without the lead. Execs whose settings never keep an answer do not wait at all.
 */
export type WarmOutcome =
  | { readonly answered: true }
  | {
      readonly answered: false;
      readonly stdin: Promise<Uint8Array> | undefined;
      /** Held while this exec runs the full path for others waiting on it: release once the answer is kept. */
      readonly lead?: Lead;
    };

/**
 * How long the warm answer waits for the writer to close stdin. The kubelet writes the request and
 * closes the pipe as the process starts, so it is there at once; a writer slower than this, or one
 * that never closes, is the full run's to handle (it reads on under the exec's deadline).
 */
const STDIN_WAIT_MS = 250;
const NOT_YET = Symbol('not yet');

/** `main.ts` calls this for the kubelet's exec only: no arguments. `startedAtMs`: when the exec started, for its deadline. */
export async function tryWarmAnswer(argv: readonly string[], startedAtMs: number): Promise<WarmOutcome> {
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
    const lookup = warmLookup(request, { argv, env, bootId: await readBootId() });
    if (lookup === undefined) return { answered: false, stdin };
    const readOnly = createMemo({
      open: () => (dir === undefined ? memoryBackend() : diskBackend({ dir, log: silentLogger, now: () => Date.now(), lockWaitUntilMs: 0, readOnly: true })),
    });
    if (await answered(lookup, readOnly)) return { answered: true };
    if (dir === undefined) return { answered: false, stdin };
    // Nothing to serve yet: lead the exec that keeps an answer, or wait for the one leading it.
    const waitUntilMs = await leaderWaitUntilMs(env, startedAtMs);
    if (waitUntilMs === undefined) return { answered: false, stdin };
    const shared = createMemo({ open: () => diskBackend({ dir, log: silentLogger, now: () => Date.now(), lockWaitUntilMs: waitUntilMs }) });
    const lead = await shared.lead(lookup.entry);
    if (lead !== undefined) return { answered: false, stdin, lead };
    return (await answered(lookup, shared)) ? { answered: true } : { answered: false, stdin };
  } catch {
    // Not written (stdout refused it), or stdin failed: the full run answers again and reports what went wrong.
    return { answered: false, stdin };
  }
}

/** Writes the warm answer when there is one; true when it was written whole. */
async function answered(lookup: WarmLookup, memo: Memo): Promise<boolean> {
  const text = answerWarm(lookup, {
    nowMs: () => Date.now(),
    readText: (path) => readBoundedTextSync(path, MAX_INPUT_FILE_BYTES),
    memo,
  });
  if (text === undefined) return false;
  await writeStdout(text);
  return true;
}

/**
 * Until when to wait for a leader: by the same rule, and from the same deadline, as the full path
 * waits for another process's refresh (the settings of an exec without `-config` come from the
 * environment alone). Undefined when no leader is worth waiting for: settings with which no answer
 * is ever kept, or invalid ones (the full run reports them at once).
 */
async function leaderWaitUntilMs(env: Env, startedAtMs: number): Promise<number | undefined> {
  // Loaded only on a miss; the full run needs the same module next.
  const { settingsFromEnv } = await import('../config/load.ts');
  let settings: Settings;
  try {
    settings = settingsFromEnv(env);
  } catch {
    return undefined;
  }
  if (!mayKeepAnswers(settings)) return undefined;
  return lockWaitUntilMs(createDeadline(systemClock, settings.execTimeoutMs, startedAtMs), Date.now());
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
