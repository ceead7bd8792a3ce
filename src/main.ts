#!/usr/bin/env bun
/**
 * The executable's entry. `--version` and `--help` are answered from here with one write; the
 * kubelet's exec tries the warm answer (`cli/warm.ts`); every other invocation, and a warm answer
 * that cannot be given, loads the rest (`cli/processMain.ts`). The release build splits the bundle
 * at each dynamic `import()` and loads a part only when it runs, so this file and what it imports
 * statically are all that `--version` pays for.
 */
import { writeSync } from 'node:fs';
import { parseArgs } from './cli/args.ts';
import { HELP_TEXT } from './cli/help.ts';
import { versionLine } from './cli/version.ts';

// The exec's deadline counts from here: a warm exec that waits for another one spends part of it.
const startedAtMs = Date.now();
const argv = process.argv.slice(2);
const answer = quickAnswer(argv);
if (answer !== undefined && writeAll(answer)) process.exit(0);
// The kubelet's exec, answered as an earlier one was when nothing that decided that answer changed.
const warm = argv.length === 0 ? await (await import('./cli/warm.ts')).tryWarmAnswer(argv, startedAtMs) : undefined;
if (warm?.answered === true) process.exit(0);
const { runProcess } = await import('./cli/processMain.ts');
const status = await runProcess(argv, { stdin: warm?.stdin, startedAtMs });
// Only now, with the answer kept: the execs waiting for this one are woken to serve it.
await warm?.lead?.release();
// Exit explicitly: idle keep-alive sockets must not hold the kubelet's exec open. Stdout has drained.
process.exit(status);

/** The text of `--help` or `--version`; undefined for anything else, including arguments in error (the full run reports those). */
function quickAnswer(args: readonly string[]): string | undefined {
  try {
    const { kind } = parseArgs(args).command;
    return kind === 'help' ? HELP_TEXT : kind === 'version' ? versionLine() : undefined;
  } catch {
    return undefined;
  }
}

/** False when stdout would not take it at once (a non-blocking pipe that is full): the full run then writes it patiently. */
function writeAll(text: string): boolean {
  const bytes = Buffer.from(text, 'utf8');
  try {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(1, bytes, offset, bytes.length - offset);
    return true;
  } catch {
    return false;
  }
}
