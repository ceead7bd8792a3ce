import { redact } from '../log.ts';
import type { CheckResult, CheckStatus } from './types.ts';

const MARKS: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };

/**
 * The report: one line per check (mark, name, detail), the fix indented under it, a count at the
 * end. Plain ASCII marks, so it reads the same in a terminal, a ticket and cloud-init's log.
 * Every line is redacted once more: a check must never print a secret, and this makes sure.
 */
export function formatReport(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${MARKS[r.status]}  ${r.name.padEnd(width)}  ${r.detail}`);
    if (r.fix !== undefined && (r.status === 'fail' || r.status === 'warn')) lines.push(`      ${' '.repeat(width)}  fix: ${r.fix}`);
  }
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  lines.push(`${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed, ${count('skip')} skipped`);
  return `${lines.map(redact).join('\n')}\n`;
}

/** Exit status: 1 when anything failed; warnings and skips alone do not fail the node. */
export function exitStatus(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
