import { afterAll, describe, expect, test } from 'bun:test';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELEASE_DIR, ROOT, VERSION, has, run } from './support.ts';

/**
 * Signing round trip with a throwaway minisign key, as CI does: the release script signs a copy
 * of the release folder (hard links: nothing is rewritten, only .minisig files are added), Debian's
 * minisign verifies each signature, and a changed file or another key is refused.
 */

const skip = RELEASE_DIR === undefined || !has('minisign');
if (RELEASE_DIR === undefined) console.warn('signature test skipped: RELEASE_DIR is not set (npm test builds the release and sets it)');
else if (!has('minisign')) console.warn('signature test skipped: minisign is not installed (Debian: apt-get install minisign)');
const scratch = mkdtempSync(join(tmpdir(), 'cpo-sign-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function keyPair(name: string): { pub: string; sec: string } {
  const pub = join(scratch, `${name}.pub`);
  const sec = join(scratch, `${name}.key`);
  // -W: no password, as for a CI throwaway key (a maintainer's real key has one: docs/release.md).
  expect(run('minisign', ['-G', '-W', '-p', pub, '-s', sec]).status).toBe(0);
  return { pub, sec };
}

describe.skipIf(skip)('minisign signatures', () => {
  test('the release script signs SHA256SUMS and every top-level file; minisign -Vm verifies them; tampering and a foreign key fail', () => {
    const key = keyPair('throwaway');
    const copy = join(scratch, 'release');
    expect(run('cp', ['-al', RELEASE_DIR as string, copy]).status).toBe(0);
    const signed = run('bun', ['scripts/release.ts', '--sign-only', '--out', copy, '--sign-key', key.sec], { cwd: ROOT });
    expect(signed.stderr).toBe('');
    expect(signed.status).toBe(0);

    const signatures = readdirSync(copy).filter((n) => n.endsWith('.minisig')).sort();
    expect(signatures).toContain('SHA256SUMS.minisig');
    expect(signatures).toContain(`credential-provider-oke-${VERSION}-linux-amd64.tar.gz.minisig`);
    expect(signatures).toContain(`credential-provider-oke-${VERSION}-linux-arm64.tar.gz.minisig`);
    for (const sig of signatures) {
      const file = sig.slice(0, -'.minisig'.length);
      const verified = run('minisign', ['-Vm', join(copy, file), '-p', key.pub]);
      expect(verified.status).toBe(0);
      // The trusted comment names the release and the file: a signature cannot stand in for another file's.
      expect(verified.stdout).toContain(`Trusted comment: credential-provider-oke ${VERSION} file:${file}`);
    }

    const other = keyPair('other');
    expect(run('minisign', ['-Vm', join(copy, 'SHA256SUMS'), '-p', other.pub]).status).not.toBe(0);

    // The cloud-init script (openssl, no minisign) accepts this signature and installs from the signed folder.
    if (process.arch === 'x64') {
      const node = join(scratch, 'node');
      mkdirSync(join(node, 'opt'), { recursive: true });
      symlinkSync(copy, join(node, 'opt/release'));
      const keyLine = readFileSync(key.pub, 'utf8').split('\n')[1] as string;
      const installed = run('bash', [join(ROOT, 'deploy/cloud-init/oke-node-install.sh')], {
        env: { PATH: '/usr/bin:/bin', ROOT: node, CREDENTIAL_PROVIDER_SOURCE_DIR: '/opt/release', CREDENTIAL_PROVIDER_MINISIGN_KEY: keyLine, RUN_OKE_INIT: 'false' },
      });
      expect(installed.stderr).toContain(`trusted comment: credential-provider-oke ${VERSION} file:SHA256SUMS)`);
      expect(installed.status).toBe(0);
      expect(existsSync(join(node, 'etc/kubernetes/credential-provider/bin/credential-provider-oke'))).toBe(true);
    }

    // A changed SHA256SUMS (a fresh file, so the linked original stays intact) no longer verifies.
    const sums = readFileSync(join(copy, 'SHA256SUMS'));
    rmSync(join(copy, 'SHA256SUMS'));
    appendFileSync(join(copy, 'SHA256SUMS'), Buffer.concat([sums, Buffer.from('0'.repeat(64) + '  evil\n')]));
    const tampered = run('minisign', ['-Vm', join(copy, 'SHA256SUMS'), '-p', key.pub]);
    expect(tampered.status).not.toBe(0);
    expect(tampered.stderr).toContain('Signature verification failed');
  }, 120_000);

  test('signing refuses a folder that is not a release', () => {
    const key = keyPair('k2');
    const empty = mkdtempSync(join(scratch, 'empty-'));
    const ran = run('bun', ['scripts/release.ts', '--sign-only', '--out', empty, '--sign-key', key.sec], { cwd: ROOT });
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain('has no SHA256SUMS');
  });
});
