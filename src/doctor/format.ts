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

/** One check for machines: `fix` is null when there is nothing to do (pass, skip). */
export interface JsonCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly fix: string | null;
}

/**
 * `doctor --json`: `{"status": "pass"|"fail", "checks": [{name, status, message, fix}]}` on one
 * line, the same checks and words as the report (redacted the same way), for log pipelines and
 * the DaemonSet. `status` is "fail" exactly when the exit status is 1.
 */
export function formatJson(results: readonly CheckResult[]): string {
  const checks: JsonCheck[] = results.map((r) => ({
    name: r.name,
    status: r.status,
    message: redact(r.detail),
    fix: r.fix !== undefined && (r.status === 'fail' || r.status === 'warn') ? redact(r.fix) : null,
  }));
  return JSON.stringify({ status: exitStatus(results) === 1 ? 'fail' : 'pass', checks });
}

/** Exit status: 1 when anything failed; warnings and skips alone do not fail the node. */
export function exitStatus(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
