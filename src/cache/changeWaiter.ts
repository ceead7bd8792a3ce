import { watch, type FSWatcher } from 'node:fs';

/**
 * Sleeping until a lock may have changed, without polling hot. `fs.watch` on the directory wakes a
 * waiter within milliseconds of the holder deleting the lock; a bounded timer covers what no event
 * announces (a holder SIGKILLed while holding: its file stays, only its process disappears) and
 * platforms or full inotify tables where watching fails.
 *
 * Lost wake-ups: an event that arrives between a failed attempt and the start of the sleep would be
 * missed by a plain "watch, then sleep" sequence. So the watcher runs for the whole acquisition and
 * counts events; a sleep that starts after the count moved returns at once.
 */
export interface ChangeWaiter {
  /** Number of relevant events seen so far; take it before each attempt. */
  readonly generation: number;
  /** Resolves on the first event after `since` (at once if one already came), or after `maxMs`. */
  wait(since: number, maxMs: number): Promise<void>;
  /** Stops watching and wakes a pending `wait`. */
  close(): void;
}

/** Watches `dir` for events on files whose name satisfies `relevant`. Never throws. */
export function watchDirectory(dir: string, relevant: (fileName: string) => boolean): ChangeWaiter {
  let generation = 0;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  const stopWatching = (): void => {
    watcher?.close();
    watcher = undefined;
  };
  try {
    // persistent: false, so an idle watcher never keeps the process alive; the wait's timer does.
    watcher = watch(dir, { persistent: false }, (_event, fileName) => {
      // Some platforms omit the name: then every event counts.
      if (fileName !== null && !relevant(String(fileName))) return;
      generation += 1;
      wake?.();
    });
    // After an error the watcher is dead; the timers alone still bound the wait.
    watcher.on('error', stopWatching);
  } catch {
    watcher = undefined;
  }
  return {
    get generation() {
      return generation;
    },
    wait(since, maxMs) {
      if (generation !== since) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, maxMs));
        wake = done;
      });
    },
    close() {
      stopWatching();
      wake?.();
    },
  };
}
