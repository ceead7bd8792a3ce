import { closeSync, fstatSync, openSync, read, readSync, writeSync, constants } from 'node:fs';
import { errnoCode } from '../errno.ts';
import { ProviderError } from '../errors.ts';

/**
 * The process's stdin, stdout and stderr through their file descriptors, synchronously wherever
 * that cannot block. `process.stdin`/`process.stdout` streams cost about 10 ms per exec in the
 * compiled Bun executable, and the first asynchronous fs call another ~1 ms of CPU (the thread
 * pool and its wake-ups); the provider reads one small request and writes one small response.
 */
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const CHUNK_BYTES = 64 * 1024;
/** How long to wait when a descriptor someone set non-blocking has nothing to give or take yet. */
const AGAIN_DELAY_MS = 1;
const NON_BLOCKING_READ = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const isAgain = (error: unknown): boolean => errnoCode(error) === 'EAGAIN';

/** What stdin gave so far, and whether that was all of it. */
interface Gathered {
  readonly chunks: Buffer[];
  size: number;
  done: boolean;
}

/** Reads stdin to EOF; rejects with ERR_REQUEST_INVALID as soon as more than `maxBytes` arrived. */
export async function readStdin(maxBytes: number): Promise<Uint8Array> {
  const got: Gathered = { chunks: [], size: 0, done: false };
  // What is already there is taken without the event loop: all of it when stdin is a file (Bun's
  // spawn, a redirect), and, on a pipe (the kubelet's), the request its writer has already sent.
  readWithoutWaiting(got, maxBytes);
  while (!got.done) {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let count: number;
    try {
      count = await new Promise<number>((resolve, reject) => read(STDIN, chunk, 0, CHUNK_BYTES, null, (e, n) => (e ? reject(e) : resolve(n))));
    } catch (error) {
      if (isAgain(error)) {
        await pause(AGAIN_DELAY_MS);
        continue;
      }
      throw unreadable(error);
    }
    take(got, chunk, count, maxBytes);
  }
  return Buffer.concat(got.chunks);
}

/**
 * Reads stdin for as long as that cannot block: a regular file to its end; a pipe through a
 * second, non-blocking descriptor of it (`/proc/self/fd/0`, so the flags of the descriptor we share
 * with the kubelet stay as they are) until it is empty. Anything else (a socket, a terminal), or a
 * pipe that cannot be reopened, is left to the asynchronous read, which the deadline can interrupt.
 */
function readWithoutWaiting(got: Gathered, maxBytes: number): void {
  let kind: 'file' | 'pipe' | 'other';
  try {
    const stat = fstatSync(STDIN);
    kind = stat.isFile() ? 'file' : stat.isFIFO() ? 'pipe' : 'other';
  } catch {
    return; // no stdin at all: the read below says so
  }
  if (kind === 'other') return;
  let fd = STDIN;
  if (kind === 'pipe') {
    try {
      fd = openSync('/proc/self/fd/0', NON_BLOCKING_READ);
    } catch {
      return;
    }
  }
  try {
    while (!got.done) {
      const chunk = Buffer.alloc(CHUNK_BYTES);
      let count: number;
      try {
        count = readSync(fd, chunk, 0, CHUNK_BYTES, null);
      } catch (error) {
        if (isAgain(error)) return; // the writer is not done yet: wait for it asynchronously
        throw unreadable(error);
      }
      take(got, chunk, count, maxBytes);
    }
  } finally {
    if (fd !== STDIN) closeSync(fd);
  }
}

function take(got: Gathered, chunk: Buffer, count: number, maxBytes: number): void {
  if (count === 0) {
    got.done = true;
    return;
  }
  got.size += count;
  if (got.size > maxBytes) throw new ProviderError('ERR_REQUEST_INVALID', `the request on stdin is larger than ${maxBytes} bytes`);
  got.chunks.push(chunk.subarray(0, count));
}

/** Not our bug: stdin is a directory, closed, or otherwise unreadable. */
function unreadable(error: unknown): ProviderError {
  const code = (error as { code?: unknown }).code;
  return new ProviderError('ERR_REQUEST_INVALID', `cannot read the request from stdin (${typeof code === 'string' ? code : 'unknown error'})`, {
    key: 'stdin',
    hint: 'the kubelet passes the request on a pipe; by hand, pipe a request in or use get-credentials <image>',
  });
}

/**
 * Writes all of `text` to stdout and resolves once the kubelet's pipe has every byte. A pipe takes
 * partial writes, and one someone set non-blocking answers EAGAIN when full: then we wait a little.
 */
export async function writeStdout(text: string): Promise<void> {
  // TextEncoder, not Buffer.from: Buffer's string encoding costs a cold exec ~0.3 M instructions more.
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(STDOUT, bytes, offset, bytes.length - offset);
    } catch (error) {
      if (!isAgain(error)) {
        throw new ProviderError('ERR_OUTPUT', `cannot write the response to stdout (${errnoCode(error) ?? 'unknown error'})`, {
          cause: error,
          hint: 'the kubelet closes the pipe only once it gave up on the exec; run by hand, keep stdout open',
        });
      }
      await pause(AGAIN_DELAY_MS);
    }
  }
}

/** One log or error line to stderr; a line that cannot be written is dropped rather than failing the exec. */
export function writeStderr(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  for (let tries = 0; offset < bytes.length && tries < 1000; tries++) {
    try {
      offset += writeSync(STDERR, bytes, offset, bytes.length - offset);
    } catch (error) {
      if (!isAgain(error)) return;
    }
  }
}

/** Whether stdin is a terminal (someone ran the plugin by hand). Pipes and files answer from fstat without loading node:tty. */
export function stdinIsTerminal(): boolean {
  try {
    if (!fstatSync(STDIN).isCharacterDevice()) return false;
  } catch {
    return false; // no stdin at all: reading it will say so
  }
  return process.getBuiltinModule('node:tty').isatty(STDIN);
}
