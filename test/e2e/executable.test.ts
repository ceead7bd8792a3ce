import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulator } from '../emulator/index.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider } from '../support/runProvider.ts';

/**
 * The shipped executables in dist/ (made by `npm run build`): they start, say which build they are,
 * are for the CPU their name says, and ignore files in their working directory. Skipped when dist/
 * is missing, because building takes a few seconds and 200 MB; CI builds before it tests.
 *
 * CI needs (Debian): qemu-user-static (qemu-aarch64-static) and libc6-arm64-cross (the aarch64
 * loader and libc under /usr/aarch64-linux-gnu, passed with -L). binfmt-support is not needed:
 * qemu-aarch64-static is called directly, not through the kernel's binfmt_misc.
 */

const ROOT = resolve(import.meta.dir, '../..');
const DIST = join(ROOT, 'dist');
const AMD64 = join(DIST, 'credential-provider-oke-linux-amd64');
const ARM64 = join(DIST, 'credential-provider-oke-linux-arm64');
const SUMS = join(DIST, 'SHA256SUMS');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const AARCH64_SYSROOT = process.env.AARCH64_SYSROOT ?? '/usr/aarch64-linux-gnu';
const QEMU = Bun.which('qemu-aarch64-static');
/** Under emulation a start takes about a second; leave room on a loaded 2-core machine. */
const QEMU_TIMEOUT_MS = 60_000;

const haveDist = [AMD64, ARM64, SUMS].every((f) => existsSync(f));
const haveQemu = QEMU !== null && existsSync(join(AARCH64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'));

if (!haveDist) console.warn('executable tests skipped: dist/ has no build; run "npm run build" first (CI builds before testing)');
else if (!haveQemu) {
  console.warn(
    `arm64 run skipped: needs qemu-aarch64-static on PATH and an aarch64 sysroot at ${AARCH64_SYSROOT} ` +
      '(Debian: apt-get install qemu-user-static libc6-arm64-cross; or set AARCH64_SYSROOT)',
  );
}

/** `--version` says the package version and a commit: `<7+ hex>`, `-dirty` after it, or `unknown`. */
const VERSION_LINE = new RegExp(`${VERSION.replaceAll('.', '\\.')}.*\\b([0-9a-f]{7,40}(-dirty)?|unknown)\\b`);

function run(command: string, args: string[], cwd = ROOT, timeout = 10_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    // A bare environment, as under a systemd kubelet.
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The first bytes of a file, without reading 100 MB. */
function head(path: string, bytes: number): Uint8Array {
  const buffer = new Uint8Array(bytes);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, bytes, 0);
  } finally {
    closeSync(fd);
  }
  return buffer;
}

/** ELF64, little-endian, and e_machine (bytes 18-19, little-endian) as given. Checked byte by byte. */
function expectElf64LittleEndian(path: string, machine: number): void {
  const h = head(path, 20);
  expect([...h.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
  expect(h[4]).toBe(2); // EI_CLASS: ELFCLASS64
  expect(h[5]).toBe(1); // EI_DATA: ELFDATA2LSB
  expect(h[18]! | (h[19]! << 8)).toBe(machine);
}

describe.skipIf(!haveDist)('dist/ executables', () => {
  test('SHA256SUMS lists every shipped file with its real hash', () => {
    const lines = readFileSync(SUMS, 'utf8').trim().split('\n');
    const listed = new Map(lines.map((l) => [l.slice(66), l.slice(0, 64)]));
    expect([...listed.keys()].sort()).toEqual([
      'credential-provider-config.yaml',
      'credential-provider-oke-linux-amd64',
      'credential-provider-oke-linux-arm64',
    ]);
    for (const [name, sum] of listed) {
      expect({ name, sum: createHash('sha256').update(readFileSync(join(DIST, name))).digest('hex') }).toEqual({ name, sum });
    }
    // The config shipped is the one in deploy/ (the installer installs the dist/ copy).
    expect(readFileSync(join(DIST, 'credential-provider-config.yaml'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'deploy', 'credential-provider-config.yaml'), 'utf8'),
    );
  });

  test('the amd64 executable is an x86-64 ELF', () => {
    expectElf64LittleEndian(AMD64, 0x3e);
  });

  test('the arm64 executable is an AArch64 ELF', () => {
    expectElf64LittleEndian(ARM64, 0xb7);
  });

  test.skipIf(process.arch !== 'x64')('amd64 --version prints the version and the commit', () => {
    const { status, stdout } = run(AMD64, ['--version']);
    expect(status).toBe(0);
    expect(stdout).toMatch(VERSION_LINE);
  });

  test.skipIf(process.arch !== 'x64')('amd64 --help prints usage and exits 0', () => {
    const { status, stdout } = run(AMD64, ['--help']);
    expect(status).toBe(0);
    expect(stdout).toContain('credential-provider-oke');
    expect(stdout.length).toBeGreaterThan(100);
  });

  // Built with --no-compile-autoload-bunfig/-dotenv: a compiled Bun binary would otherwise read
  // bunfig.toml from the kubelet's working directory and run its `preload` scripts (tested: it does).
  test.skipIf(process.arch !== 'x64')('ignores bunfig.toml and .env in its working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpo-cwd-'));
    try {
      const marker = join(dir, 'preloaded');
      writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./preload.ts"]\n');
      writeFileSync(join(dir, 'preload.ts'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`);
      writeFileSync(join(dir, '.env'), 'LOG_LEVEL=not-a-level\n');
      const { status, stdout } = run(AMD64, ['--version'], dir);
      expect(status).toBe(0);
      expect(stdout).toMatch(VERSION_LINE);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(!haveQemu)(
    'arm64 --version runs under qemu-aarch64-static',
    () => {
      const { status, stdout, stderr } = run(QEMU!, ['-L', AARCH64_SYSROOT, ARM64, '--version'], ROOT, QEMU_TIMEOUT_MS);
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      expect(stdout).toMatch(VERSION_LINE);
    },
    QEMU_TIMEOUT_MS,
  );

  test.skipIf(!haveQemu || process.arch !== 'x64')(
    'arm64 binary under qemu answers a CredentialProviderRequest from the emulator, byte for byte as amd64 would',
    async () => {
      const emulator = await startEmulator();
      try {
        const image = `${emulator.registryHost}/${emulator.namespace}/app`;
        const arm = await runProvider({
          commandLine: [QEMU!, '-L', AARCH64_SYSROOT, ARM64],
          env: emulator.env(),
          stdin: kubeletRequest(image),
          killAfterMs: QEMU_TIMEOUT_MS,
        });
        expect(arm.stderr).toBe('');
        expect(arm.status).toBe(0);
        const verdict = validateKubeletResponse(arm.stdout, 'credentialprovider.kubelet.k8s.io/v1');
        if (!verdict.ok) throw new Error(verdict.reason);
        expect(verdict.response.auth?.[emulator.registryHost]?.password).toBe(emulator.lastDockerToken);
        expect(emulator.calls('auth.x509')).toBe(1);
        expect(emulator.calls('ocir.token')).toBe(1);
        const amd = await runProvider({ commandLine: [AMD64], env: emulator.env(), stdin: kubeletRequest(image) });
        expect(amd.status).toBe(0);
        // Same shape byte for byte once the token (new per exec) and the duration (seconds apart) are set aside.
        const normalize = (out: string) => out.replace(/"password":"[^"]+"/, '"password":"T"').replace(/"cacheDuration":"[^"]+"/, '"cacheDuration":"D"');
        expect(normalize(amd.stdout)).toBe(normalize(arm.stdout));
      } finally {
        await emulator.stop();
      }
    },
    QEMU_TIMEOUT_MS * 2,
  );
});
