#!/usr/bin/env bun
import { readFile } from 'node:fs/promises';
import { runCli } from './cli/run.ts';
import { ProviderError } from './errors.ts';
import { createFetchTransport } from './net/http.ts';
import { systemClock } from './runtime.ts';

/** The real world for `runCli`: process stdio, env, clock, files and fetch. */
async function readStdin(maxBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw new ProviderError('ERR_REQUEST_INVALID', `the request on stdin is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function writeStdout(text: string): Promise<void> {
  // A pipe write is asynchronous on POSIX: resolve only once the kubelet's pipe has the bytes.
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

// The provider decides per request whether a proxy applies (IMDS never); take the proxy variables
// out of the process environment so the runtime's fetch cannot apply them behind our back.
const env = { ...process.env };
for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'ALL_PROXY', 'all_proxy']) {
  delete process.env[name];
}

const status = await runCli({
  argv: process.argv.slice(2),
  env,
  clock: systemClock,
  files: { readText: (path) => readFile(path, 'utf8') },
  transport: createFetchTransport(env),
  homeDir: env.HOME,
  stdinIsTTY: process.stdin.isTTY === true,
  readStdin,
  writeStdout,
  writeStderr: (text) => process.stderr.write(text),
});
// Exit explicitly: idle keep-alive sockets must not hold the kubelet's exec open. Stdout has drained above.
process.exit(status);
