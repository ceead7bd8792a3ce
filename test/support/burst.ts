import { readdirSync, readlinkSync } from 'node:fs';
import type { Started } from './runProvider.ts';

/**
 * Resolves once the exec watches a directory (an inotify descriptor among its open files): what an
 * exec that follows the one leading a burst does while it waits. Looked for every few ms, as /proc
 * sends no event; rejects if the exec ends first.
 */
export async function following(exec: Started): Promise<void> {
  const watches = (): boolean => {
    try {
      return readdirSync(`/proc/${exec.pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${exec.pid}/fd/${fd}`) === 'anon_inode:inotify';
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  let exited = false;
  void exec.done.then(() => (exited = true));
  while (!watches()) {
    if (exited) throw new Error(`exec ${exec.pid} ended before it followed anyone`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise the test settles: the emulator holds a call with it (fault `{ until }`) until then. */
export function gate(): { readonly until: Promise<void>; open(): void } {
  let open = (): void => {};
  const until = new Promise<void>((resolve) => (open = resolve));
  return { until, open };
}
