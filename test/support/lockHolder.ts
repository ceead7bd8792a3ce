import { appendFileSync } from 'node:fs';
import { withFileLock } from '../../src/cache/fileLock.ts';

/**
 * A separate process for the cross-process lock tests (test/unit/cache-lock.test.ts).
 *
 *   lockHolder.ts append <dir> <name> <file> <rounds>   take the lock <rounds> times; inside it append
 *                                                       "<pid> in" and, a few ms later, "<pid> out" to <file>
 *   lockHolder.ts hold <dir> <name>                     take the lock, print "locked", hold it until killed
 */
const [mode, dir, name, file, rounds] = process.argv.slice(2);
if (dir === undefined || name === undefined) throw new Error('usage: lockHolder.ts append|hold <dir> <name> [<file> <rounds>]');
const options = { deadlineMs: Date.now() + 30_000 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

if (mode === 'append' && file !== undefined) {
  for (let i = 0; i < Number(rounds ?? 1); i += 1) {
    await withFileLock(
      dir,
      name,
      async () => {
        appendFileSync(file, `${process.pid} in\n`);
        await sleep(1 + Math.random() * 4);
        appendFileSync(file, `${process.pid} out\n`);
      },
      options,
    );
  }
} else if (mode === 'hold') {
  await withFileLock(
    dir,
    name,
    async () => {
      process.stdout.write('locked\n');
      // An interval keeps the process alive (a bare pending promise would let it exit).
      await new Promise<never>(() => setInterval(() => undefined, 60_000));
    },
    options,
  );
} else {
  throw new Error(`unknown mode ${String(mode)}`);
}
