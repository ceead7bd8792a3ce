import { fstatSync, read, write, writeSync } from 'node:fs';
import { errnoCode } from '../errno.ts';
import { ProviderError } from '../errors.ts';

/**
 * The process's stdin, stdout and stderr through their file descriptors. `process.stdin` and
 * `process.stdout` are streams whose machinery costs about 10 ms per exec in the compiled Bun
 * executable, two thirds of an exec answered from the cache; the provider reads one small request
 * and writes one small response, which plain reads and writes do as well.
 */
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const CHUNK_BYTES = 64 * 1024;
/** How long to wait when a descriptor someone set non-blocking has nothing to give or take yet. */
const AGAIN_DELAY_MS = 1;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const isAgain = (error: unknown): boolean => errnoCode(error) === 'EAGAIN';

/** Reads stdin to EOF; rejects with ERR_REQUEST_INVALID as soon as more than `maxBytes` arrived. */
export async function readStdin(maxBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let count: number;
    try {
      count = await new Promise<number>((resolve, reject) => read(STDIN, chunk, 0, CHUNK_BYTES, null, (e, n) => (e ? reject(e) : resolve(n))));
    } catch (error) {
      if (isAgain(error)) {
        await pause(AGAIN_DELAY_MS);
        continue;
      }
      // Not our bug: stdin is a directory, closed, or otherwise unreadable.
      const code = (error as { code?: unknown }).code;
      throw new ProviderError('ERR_REQUEST_INVALID', `cannot read the request from stdin (${typeof code === 'string' ? code : 'unknown error'})`, {
        key: 'stdin',
        hint: 'the kubelet passes the request on a pipe; by hand, pipe a request in or use get-credentials <image>',
      });
    }
    if (count === 0) return Buffer.concat(chunks);
    size += count;
    if (size > maxBytes) throw new ProviderError('ERR_REQUEST_INVALID', `the request on stdin is larger than ${maxBytes} bytes`);
    chunks.push(chunk.subarray(0, count));
  }
}

/** Writes all of `text` to stdout and resolves once the kubelet's pipe has every byte (a pipe takes partial writes). */
export async function writeStdout(text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += await new Promise<number>((resolve, reject) => write(STDOUT, bytes, offset, bytes.length - offset, null, (e, n) => (e ? reject(e) : resolve(n))));
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
