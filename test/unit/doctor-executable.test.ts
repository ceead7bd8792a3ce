import { afterEach, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkExecutable } from '../../src/doctor/checks/executable.ts';
import { nodeFs } from '../../src/doctor/nodeFs.ts';

const BIN = '/etc/kubernetes/credential-provider/bin';
const NAME = 'credential-provider-oke';
const PATH = `${BIN}/${NAME}`;

const roots: string[] = [];
function root(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpo-doctor-exe-'));
  roots.push(dir);
  return dir;
}
function withExecutable(mode: number): string {
  const dir = root();
  mkdirSync(join(dir, BIN), { recursive: true });
  writeFileSync(join(dir, PATH), '#!/bin/sh\n');
  chmodSync(join(dir, PATH), mode);
  return dir;
}
afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('checkExecutable', () => {
  test('passes for a 0755 file named like the provider, and shows the node path', async () => {
    const outcome = await checkExecutable(nodeFs(withExecutable(0o755)), BIN, NAME);
    expect(outcome.result).toEqual({ name: 'executable', status: 'pass', detail: `${PATH} is an executable file (mode 0755)` });
    expect(outcome.value).toBe(PATH);
  });

  test('an execute bit for the owner only is enough: the kubelet runs as root', async () => {
    expect((await checkExecutable(nodeFs(withExecutable(0o700)), BIN, NAME)).result.status).toBe('pass');
  });

  test('fails without an execute bit, with the chmod to run', async () => {
    const { result } = await checkExecutable(nodeFs(withExecutable(0o644)), BIN, NAME);
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('not executable (mode 0644)');
    expect(result.fix).toBe(`chmod 0755 ${PATH}`);
  });

  test('warns when group or others may write it', async () => {
    const outcome = await checkExecutable(nodeFs(withExecutable(0o775)), BIN, NAME);
    expect(outcome.result.status).toBe('warn');
    expect(outcome.result.fix).toContain('chmod 0755');
    expect(outcome.value).toBe(PATH);
  });

  test('fails when the file has another name than the provider', async () => {
    const { result } = await checkExecutable(nodeFs(withExecutable(0o755)), BIN, 'other-name');
    expect(result.status).toBe('fail');
    expect(result.detail).toContain(`${BIN}/other-name does not exist`);
  });

  test('fails when the bin dir is missing', async () => {
    const { result } = await checkExecutable(nodeFs(root()), BIN, NAME);
    expect(result.detail).toBe(`the bin dir ${BIN} does not exist`);
    expect(result.fix).toContain('mode 0755');
  });

  test('fails when the name is a directory', async () => {
    const dir = root();
    mkdirSync(join(dir, PATH), { recursive: true });
    expect((await checkExecutable(nodeFs(dir), BIN, NAME)).result.detail).toContain('is not a regular file');
  });
});
