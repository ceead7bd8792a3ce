import { afterAll, describe, expect, test } from 'bun:test';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { md5Fingerprint } from '../../src/oci/keys.ts';
import { apiKeyPrincipalKey, fromApiKeyProfile } from '../../src/identity/principals/apiKey.ts';
import type { ApiKeyInit } from '../../src/identity/principals/apiKey.ts';
import type { Clock, FileReader } from '../../src/runtime.ts';
import { rejected } from '../support/caught.ts';

// Keys are generated once per file: RSA generation dominates the run time otherwise.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const FINGERPRINT = md5Fingerprint(privateKey);
const PASSPHRASE = 'pw with spaces';
const PEM = {
  plain: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  encrypted: privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }) as string,
  legacyEncrypted: privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: PASSPHRASE }) as string,
};
const KEY_MARKERS = ['MII', 'PRIVATE KEY', PASSPHRASE];

const TENANCY = 'ocid1.tenancy.oc1..tenancy';
const USER = 'ocid1.user.oc1..user';
const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-apikey-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

/** A fresh folder holding the given files (relative paths). */
function folder(files: Record<string, string>): string {
  const dir = path.join(root, `case-${++dirCount}`);
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

/** node:fs/promises behind the FileReader seam, counting reads per path. */
function countingReader(): FileReader & { reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    reads,
    readText: async (p) => {
      reads.set(p, (reads.get(p) ?? 0) + 1);
      return readFile(p, 'utf8');
    },
  };
}

function fakeClock(ms = NOW_MS): Clock & { ms: number } {
  const clock = { ms, now: () => clock.ms };
  return clock;
}

function profile(lines: Record<string, string>, name = 'DEFAULT'): string {
  return [`[${name}]`, ...Object.entries(lines).map(([k, v]) => `${k}=${v}`)].join('\n') + '\n';
}

const apiKeyProfile = (keyFile: string, extra: Record<string, string> = {}): Record<string, string> => ({
  user: USER,
  fingerprint: FINGERPRINT,
  key_file: keyFile,
  tenancy: TENANCY,
  region: 'eu-frankfurt-1',
  ...extra,
});

function jwt(claims: Record<string, unknown>): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part(claims)}.c2ln`;
}


function expectSigns(key: KeyObject): void {
  const data = Buffer.from('date: x');
  expect(verify('sha256', data, createPublicKey(privateKey), sign('sha256', data, key))).toBe(true);
}

describe('fromApiKeyProfile: API keys', () => {
  const rows: readonly { name: string; setup: () => Omit<ApiKeyInit, 'files'> }[] = [
    {
      name: 'DEFAULT of ~/.oci/config, key_file with ~',
      setup: () => {
        const home = folder({ '.oci/config': profile(apiKeyProfile('~/.oci/key.pem')), '.oci/key.pem': PEM.plain });
        return { env: {}, homeDir: home };
      },
    },
    {
      name: 'OCI_CONFIG_FILE, key_file relative to the config folder',
      setup: () => {
        const dir = folder({ 'etc/config': profile(apiKeyProfile('keys/k.pem')), 'etc/keys/k.pem': PEM.plain });
        return { env: { OCI_CONFIG_FILE: path.join(dir, 'etc/config') }, homeDir: undefined };
      },
    },
    {
      name: 'profile from OCI_CLI_PROFILE, inheriting DEFAULT',
      setup: () => {
        const dir = folder({
          config: profile({ tenancy: TENANCY, fingerprint: FINGERPRINT }) + profile({ user: USER, key_file: 'k.pem' }, 'node'),
          'k.pem': PEM.plain,
        });
        return { env: { OCI_CONFIG_FILE: path.join(dir, 'config'), OCI_CLI_PROFILE: 'node' }, homeDir: undefined };
      },
    },
    {
      name: 'init.profile wins over OCI_CLI_PROFILE',
      setup: () => {
        const dir = folder({
          config: profile({ user: 'bad' }, 'other') + profile(apiKeyProfile('k.pem'), 'chosen'),
          'k.pem': PEM.plain,
        });
        return { env: { OCI_CONFIG_FILE: path.join(dir, 'config'), OCI_CLI_PROFILE: 'other' }, homeDir: undefined, profile: 'chosen' };
      },
    },
    {
      name: 'encrypted PKCS#8 with pass_phrase, uppercase fingerprint',
      setup: () => {
        const dir = folder({
          config: profile(apiKeyProfile('k.pem', { pass_phrase: PASSPHRASE, fingerprint: FINGERPRINT.toUpperCase() })),
          'k.pem': PEM.encrypted,
        });
        return { env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, homeDir: undefined };
      },
    },
    {
      name: 'legacy encrypted PKCS#1 with Go\'s "passphrase" spelling',
      setup: () => {
        const dir = folder({ config: profile(apiKeyProfile('k.pem', { passphrase: PASSPHRASE })), 'k.pem': PEM.legacyEncrypted });
        return { env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, homeDir: undefined };
      },
    },
    {
      name: 'an unencrypted key with an inherited pass_phrase (Python retries without it)',
      setup: () => {
        const dir = folder({
          config: profile({ pass_phrase: 'for another key' }) + profile(apiKeyProfile('k.pem'), 'p'),
          'k.pem': `${PEM.plain}OCI_API_KEY\n`,
        });
        return { env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, homeDir: undefined, profile: 'p' };
      },
    },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const identity = await fromApiKeyProfile({ ...row.setup(), files: countingReader() })();
      expect(identity.keyId).toBe(`${TENANCY}/${USER}/${FINGERPRINT}`);
      expect(identity.principal).toBe(`user:${USER}`);
      expect(identity.tenancyId).toBe(TENANCY);
      expect(identity.expiresAtMs).toBeUndefined();
      expectSigns(identity.privateKey);
    });
  }

  test('files are read at every call (once per exec), so a fixed file is seen by the forced refresh after a 401', async () => {
    const dir = folder({ config: profile(apiKeyProfile('k.pem')), 'k.pem': PEM.plain });
    const files = countingReader();
    const provider = fromApiKeyProfile({ env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, files, homeDir: undefined });
    const a = await provider();
    expect([...files.reads.values()]).toEqual([1, 1]);
    const d = await provider({ forceRefresh: true });
    expect(d.keyId).toBe(a.keyId);
    expect([...files.reads.values()]).toEqual([2, 2]);
  });

  test('apiKeyPrincipalKey: who the profile is (tenancy, user, fingerprint), without loading the key; another user is another key', async () => {
    const dir = folder({ config: profile(apiKeyProfile('k.pem')), 'k.pem': PEM.plain });
    const files = countingReader();
    const init = { env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, files, homeDir: undefined };
    const key = await apiKeyPrincipalKey(init);
    expect(key).toBe(`user:${(await fromApiKeyProfile(init)()).keyId}`);
    fs.writeFileSync(path.join(dir, 'config'), profile({ ...apiKeyProfile('k.pem'), user: 'ocid1.user.oc1..another' }));
    expect(await apiKeyPrincipalKey(init)).not.toBe(key);
  });

  test('a failure is not kept: the next call reads again', async () => {
    const dir = folder({ 'k.pem': PEM.plain });
    const configPath = path.join(dir, 'config');
    const provider = fromApiKeyProfile({ env: { OCI_CONFIG_FILE: configPath }, files: countingReader(), homeDir: undefined });
    expect((await rejected(provider())).message).toContain('does not exist');
    fs.writeFileSync(configPath, profile(apiKeyProfile('k.pem')));
    expect((await provider()).principal).toBe(`user:${USER}`);
  });
});

describe('fromApiKeyProfile: each misconfiguration has its own message', () => {
  const rows: readonly { name: string; setup: () => Omit<ApiKeyInit, 'files'>; message: (dir: string) => string }[] = [
    {
      name: 'default config file missing',
      setup: () => ({ env: {}, homeDir: lastDir(folder({})) }),
      message: (d) => `the OCI config file ${d}/.oci/config does not exist and OCI_CONFIG_FILE is not set`,
    },
    {
      name: 'config file from OCI_CONFIG_FILE missing',
      setup: () => ({ env: { OCI_CONFIG_FILE: `${lastDir(folder({}))}/nope` }, homeDir: undefined }),
      message: (d) => `the OCI config file ${d}/nope (named by OCI_CONFIG_FILE) does not exist`,
    },
    {
      name: 'profile missing',
      setup: () => configIn({ config: profile(apiKeyProfile('k.pem')) }, 'prod'),
      message: (d) => `the OCI config file ${d}/config has no profile [prod]; it has [DEFAULT]`,
    },
    {
      name: 'keys missing from the profile',
      setup: () => configIn({ config: profile({ user: USER, fingerprint: '', region: 'x' }) }),
      message: (d) => `profile [DEFAULT] of ${d}/config lacks tenancy, fingerprint, key_file`,
    },
    {
      name: 'key file missing',
      setup: () => configIn({ config: profile(apiKeyProfile('missing.pem')) }),
      message: (d) => `key_file ${d}/missing.pem of profile [DEFAULT] of ${d}/config does not exist`,
    },
    {
      name: 'key file is a directory',
      setup: () => configIn({ config: profile(apiKeyProfile('sub')), 'sub/x': '' }),
      message: (d) => `cannot read key_file ${d}/sub of profile [DEFAULT] of ${d}/config: it is a directory`,
    },
    {
      name: 'key file is not a private key',
      setup: () => configIn({ config: profile(apiKeyProfile('k.pem')), 'k.pem': createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string }),
      message: (d) => `key_file ${d}/k.pem (profile [DEFAULT] of ${d}/config) is not a PEM RSA private key: it holds a PUBLIC KEY`,
    },
    {
      name: 'encrypted key without a passphrase',
      setup: () => configIn({ config: profile(apiKeyProfile('k.pem')), 'k.pem': PEM.encrypted }),
      message: (d) => `key_file ${d}/k.pem (profile [DEFAULT] of ${d}/config) is an encrypted private key and no passphrase was given`,
    },
    {
      name: 'wrong passphrase',
      setup: () => configIn({ config: profile(apiKeyProfile('k.pem', { pass_phrase: 'nope' })), 'k.pem': PEM.legacyEncrypted }),
      message: (d) => `cannot decrypt the private key key_file ${d}/k.pem (profile [DEFAULT] of ${d}/config): wrong passphrase`,
    },
    {
      name: 'fingerprint mismatch',
      setup: () => configIn({ config: profile(apiKeyProfile('k.pem')), 'k.pem': otherKey.export({ type: 'pkcs1', format: 'pem' }) as string }),
      message: (d) =>
        `the fingerprint in profile [DEFAULT] of ${d}/config is ${FINGERPRINT}, but key_file ${d}/k.pem has fingerprint ${md5Fingerprint(otherKey)}`,
    },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const init = row.setup();
      const error = await rejected(fromApiKeyProfile({ ...init, files: countingReader() })());
      expect(error.code).toBe('ERR_OCI_CONFIG');
      expect(error.message).toBe(row.message(lastDir()));
      expect(error.hint ?? '').not.toBe('');
      for (const marker of KEY_MARKERS) expect(error.message).not.toContain(marker);
    });
  }

  test('an unreadable key file says permission denied', async () => {
    const dir = folder({ config: profile(apiKeyProfile('/keys/k.pem')) });
    const files: FileReader = {
      readText: async (p) => {
        if (p === '/keys/k.pem') throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return readFile(p, 'utf8');
      },
    };
    const error = await rejected(fromApiKeyProfile({ env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, files, homeDir: undefined })());
    expect(error.message).toBe(`cannot read key_file /keys/k.pem of profile [DEFAULT] of ${dir}/config: permission denied`);
  });
});

describe('fromApiKeyProfile: session token profiles', () => {
  const exp = NOW_MS / 1000 + 3600;
  const tokenOf = (claims: Record<string, unknown>): string => jwt({ iat: NOW_MS / 1000, exp, ...claims });

  test('keyId ST$<token>, the sub as principal, exp as expiry', async () => {
    const token = tokenOf({ sub: 'ocid1.user.oc1..session', tenant: 'ocid1.tenancy.oc1..claim' });
    const dir = folder({
      config: profile({ fingerprint: 'aa:bb', key_file: 'key.pem', tenancy: TENANCY, region: 'x', security_token_file: 'token' }),
      'key.pem': PEM.plain,
      token: `${token}\n`,
    });
    const identity = await fromApiKeyProfile({ env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, files: countingReader(), homeDir: undefined, clock: fakeClock() })();
    expect(identity.keyId).toBe(`ST$${token}`);
    expect(identity.principal).toBe('session:ocid1.user.oc1..session');
    expect(identity.tenancyId).toBe(TENANCY);
    expect(identity.expiresAtMs).toBe(exp * 1000);
    expectSigns(identity.privateKey);
  });

  test('without sub the principal is the tenancy (from the token when the profile has none)', async () => {
    const dir = folder({
      config: profile({ key_file: 'key.pem', security_token_file: '~/token' }),
      'key.pem': PEM.plain,
      token: tokenOf({ tenant: 'ocid1.tenancy.oc1..claim' }),
    });
    const identity = await fromApiKeyProfile({ env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, files: countingReader(), homeDir: dir, clock: fakeClock() })();
    expect(identity.principal).toBe('session:ocid1.tenancy.oc1..claim');
    expect(identity.tenancyId).toBe('ocid1.tenancy.oc1..claim');
  });

  test('an expired token is refused, and a refreshed file is picked up at once', async () => {
    const dir = folder({
      config: profile({ key_file: 'key.pem', tenancy: TENANCY, security_token_file: 'token' }),
      'key.pem': PEM.plain,
      token: tokenOf({ sub: 'first' }),
    });
    const clock = fakeClock();
    const files = countingReader();
    const provider = fromApiKeyProfile({ env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, files, homeDir: undefined, clock });
    expect((await provider()).principal).toBe('session:first');
    expect(files.reads.get(path.join(dir, 'token'))).toBe(1);

    clock.ms = exp * 1000;
    const error = await rejected(provider());
    expect(error.code).toBe('ERR_OCI_CONFIG');
    expect(error.message).toBe(
      `the session token in security_token_file ${dir}/token (profile [DEFAULT] of ${dir}/config) expired at ${new Date(exp * 1000).toISOString()}`,
    );
    expect(error.hint).toContain('oci session refresh --profile DEFAULT');

    // `oci session refresh` rewrote the file.
    fs.writeFileSync(path.join(dir, 'token'), jwt({ sub: 'second', exp: exp + 3600 }));
    expect((await provider()).principal).toBe('session:second');
  });

  const bad: readonly { name: string; files: Record<string, string>; message: (d: string) => string }[] = [
    {
      name: 'no key_file',
      files: { config: profile({ security_token_file: 'token' }), token: tokenOf({}) },
      message: (d) => `profile [DEFAULT] of ${d}/config has security_token_file but lacks key_file`,
    },
    {
      name: 'token file missing',
      files: { config: profile({ key_file: 'key.pem', security_token_file: 'token' }), 'key.pem': PEM.plain },
      message: (d) => `security_token_file ${d}/token of profile [DEFAULT] of ${d}/config does not exist`,
    },
    {
      name: 'empty token file',
      files: { config: profile({ key_file: 'key.pem', security_token_file: 'token' }), 'key.pem': PEM.plain, token: '\n' },
      message: (d) => `security_token_file ${d}/token (profile [DEFAULT] of ${d}/config) is empty`,
    },
    {
      name: 'not a JWT',
      files: { config: profile({ key_file: 'key.pem', security_token_file: 'token' }), 'key.pem': PEM.plain, token: 'secret-looking-value' },
      message: (d) => `security_token_file ${d}/token (profile [DEFAULT] of ${d}/config) is not a valid JWT: it has 1 dot-separated parts, not 3`,
    },
    {
      name: 'no exp claim',
      files: { config: profile({ key_file: 'key.pem', security_token_file: 'token' }), 'key.pem': PEM.plain, token: jwt({ sub: 'x' }) },
      message: (d) => `the session token in security_token_file ${d}/token (profile [DEFAULT] of ${d}/config) has no exp claim`,
    },
    {
      name: 'an exp two days away (no OCI session lives that long)',
      files: { config: profile({ key_file: 'key.pem', security_token_file: 'token' }), 'key.pem': PEM.plain, token: tokenOf({ exp: NOW_MS / 1000 + 48 * 3600 }) },
      message: (d) =>
        `the session token in security_token_file ${d}/token (profile [DEFAULT] of ${d}/config) claims to be valid until ${new Date(NOW_MS + 48 * 3_600_000).toISOString()}, more than 24 h from now; no OCI session lives that long`,
    },
    {
      name: 'an exp in milliseconds (a unit mistake far beyond what a Date holds)',
      files: { config: profile({ key_file: 'key.pem', security_token_file: 'token' }), 'key.pem': PEM.plain, token: tokenOf({ exp: NOW_MS * 1000 }) },
      message: (d) =>
        `the session token in security_token_file ${d}/token (profile [DEFAULT] of ${d}/config) claims to be valid until ${NOW_MS * 1000} s after the epoch, more than 24 h from now; no OCI session lives that long`,
    },
    {
      name: 'an exp before its iat',
      files: { config: profile({ key_file: 'key.pem', security_token_file: 'token' }), 'key.pem': PEM.plain, token: tokenOf({ iat: NOW_MS / 1000 + 600, exp: NOW_MS / 1000 + 300 }) },
      message: (d) =>
        `the session token in security_token_file ${d}/token (profile [DEFAULT] of ${d}/config) expires (exp ${new Date(NOW_MS + 300_000).toISOString()}) no later than it was issued (iat ${new Date(NOW_MS + 600_000).toISOString()})`,
    },
  ];
  for (const row of bad) {
    test(`refuses ${row.name}`, async () => {
      const dir = folder(row.files);
      const error = await rejected(
        fromApiKeyProfile({ env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, files: countingReader(), homeDir: undefined, clock: fakeClock() })(),
      );
      expect(error.code).toBe('ERR_OCI_CONFIG');
      expect(error.message).toBe(row.message(dir));
      expect(error.message).not.toContain('secret-looking-value');
    });
  }
});

/** The folder most recently made by `folder()`, or `dir` itself when given. */
function lastDir(dir?: string): string {
  return dir ?? path.join(root, `case-${dirCount}`);
}

/** A folder with the files, and an init pointing OCI_CONFIG_FILE at its `config`. */
function configIn(files: Record<string, string>, profileName?: string): Omit<ApiKeyInit, 'files'> {
  const dir = folder(files);
  return { env: { OCI_CONFIG_FILE: path.join(dir, 'config') }, homeDir: undefined, profile: profileName };
}
