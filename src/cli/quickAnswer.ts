import { writeSync } from 'node:fs';
import { parseArgs } from './args.ts';
import { HELP_TEXT } from './help.ts';
import { versionLine } from './version.ts';

/**
 * `--version` and `--help`, answered with one write before anything else is loaded. Only an exec
 * with arguments loads this: the kubelet's never passes any.
 */

/** True when `args` asked for `--help` or `--version` and the answer is written whole. */
export function answeredQuickly(args: readonly string[]): boolean {
  const answer = quickAnswer(args);
  return answer !== undefined && writeAll(answer);
}

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
