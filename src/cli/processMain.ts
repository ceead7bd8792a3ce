/** The real world for `runCli`: stdio by file descriptor, env, clock, files and fetch. */
import { runCli } from './run.ts';
import { readStdin, stdinIsTerminal, writeStderr, writeStdout } from './stdio.ts';
import { readBootId } from '../machine.ts';
import { MAX_INPUT_FILE_BYTES, readBoundedText } from '../fs/readBoundedFile.ts';
import { createFetchTransport } from '../net/http.ts';
import { systemClock } from '../runtime.ts';

/** What `main.ts` has done before the full run: a read of stdin under way, and when the exec started. */
export interface Started {
  readonly stdin?: Promise<Uint8Array> | undefined;
  readonly startedAtMs: number;
}

/** Runs one invocation with this process's stdio, environment and files; returns the exit status. */
export function runProcess(argv: readonly string[], { stdin, startedAtMs }: Started): Promise<number> {
  // The provider decides per request whether a proxy applies (IMDS never); take the proxy variables
  // out of the process environment so the runtime's fetch cannot apply them behind our back.
  const env = { ...process.env };
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'ALL_PROXY', 'all_proxy']) {
    delete process.env[name];
  }
  // The YAML library prints its tokens to stdout when these are set: stdout carries only the response.
  for (const name of ['LOG_TOKENS', 'LOG_STREAM']) delete process.env[name];

  return runCli({
    argv,
    env,
    startedAtMs,
    clock: systemClock,
    files: { readText: (path) => readBoundedText(path, MAX_INPUT_FILE_BYTES) },
    transport: createFetchTransport(env),
    homeDir: env.HOME,
    stdinIsTTY: stdinIsTerminal(),
    bootId: readBootId,
    readStdin: (maxBytes) => stdin ?? readStdin(maxBytes),
    writeStdout,
    writeStderr,
  });
}
