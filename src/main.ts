#!/usr/bin/env bun
import { readFile } from 'node:fs/promises';
import { runCli } from './cli/run.ts';
import { ProviderError } from './errors.ts';
import { fetchTransport } from './net/http.ts';
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

const status = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  clock: systemClock,
  files: { readText: (path) => readFile(path, 'utf8') },
  transport: fetchTransport,
  homeDir: process.env.HOME,
  stdinIsTTY: process.stdin.isTTY === true,
  readStdin,
  writeStdout,
  writeStderr: (text) => process.stderr.write(text),
});
// Exit explicitly: idle keep-alive sockets must not hold the kubelet's exec open. Stdout has drained above.
process.exit(status);
