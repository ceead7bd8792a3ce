import { afterAll, beforeAll, beforeEach } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.ts';

/** What a test file shares: one emulator and one scratch folder, both there once its tests start. */
export interface FileSetup {
  readonly emulator: Emulator;
  readonly tmp: string;
}

/**
 * One emulator and one scratch folder (named `<prefix>…`) for the test file that calls this at its
 * top level: started before its tests, with faults, policy and call counts reset before each test,
 * and both gone after the file.
 */
export function emulatorForFile(prefix: string): FileSetup {
  let emulator: Emulator | undefined;
  let tmp: string | undefined;
  beforeAll(async () => {
    emulator = await startEmulator();
    tmp = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await emulator?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    emulator?.clearFaults();
    emulator?.allowAll();
    emulator?.resetCalls();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the emulator is started in beforeAll: use it inside tests');
    return value;
  };
  return {
    get emulator() {
      return started(emulator);
    },
    get tmp() {
      return started(tmp);
    },
  };
}
