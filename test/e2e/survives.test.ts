import { describe, expect, test } from 'bun:test';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEmulator, type PrincipalInfo } from '../emulator/index.ts';
import { following, gate } from '../support/burst.ts';
import { emulatorForFile } from '../support/emulatorForFile.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { expectOneLineFailure, kubeletRequest, lineFrom, providerCommand, runProvider, startProvider, type ProviderRun } from '../support/runProvider.ts';

/**
 * What the provider survives: local faults and stale identities, each run as the kubelet runs the
 * provider. Every row of README.md's "What it survives" table is one test here, and the last test
 * checks that the table says exactly what these tests prove, so the two cannot drift apart.
 */
const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const isRoot = process.getuid?.() === 0;

const setup = emulatorForFile('cpo-survives-');

let count = 0;
const fresh = (name: string): string => join(setup.tmp, `${++count}-${name}`);
const image = (repo = 'app') => `${setup.emulator.registryHost}/${setup.emulator.namespace}/${repo}`;
const run = (env: Record<string, string>, repo = 'app'): Promise<ProviderRun> => runProvider({ env: { ...setup.emulator.env(), ...env }, stdin: kubeletRequest(image(repo)) });

/**
 * A valid answer whose stderr holds no error and, at warning level, only one warning containing
 * `warning` (or none when undefined); returns whom the token was issued to.
 */
function servedDespite(result: ProviderRun, warning: string | undefined): PrincipalInfo | undefined {
  expect(result.status).toBe(0);
  const verdict = validateKubeletResponse(result.stdout, V1);
  if (!verdict.ok) throw new Error(verdict.reason);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines.filter((line) => !/^\S+ (warn|info|debug) /.test(line))).toEqual([]);
  const warnings = lines.filter((line) => /^\S+ warn /.test(line));
  if (warning === undefined) {
    expect(warnings).toEqual([]);
  } else {
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(warning);
  }
  const answer = JSON.parse(result.stdout) as { auth: Record<string, { password: string }> };
  return setup.emulator.dockerTokenPrincipal(answer.auth[setup.emulator.registryHost]!.password);
}

/** The rows of the README table, in order: the fault, and what the provider does. */
const rows: { fault: string; behaviour: string }[] = [];
function survives(fault: string, behaviour: string, body: () => Promise<void>, options: { skip?: string } = {}): void {
  rows.push({ fault, behaviour });
  if (options.skip !== undefined) {
    test.skip(`${fault} (${options.skip})`, body);
    return;
  }
  test(fault, body);
}

describe('local faults: the cache may degrade, the pull goes on', () => {
  survives('The cache directory cannot be created (missing parent, a file in the way)', 'One warning; credentials from OCI without the cache', async () => {
    const file = fresh('file');
    writeFileSync(file, 'x');
    servedDespite(await run({ CREDENTIAL_CACHE_DIR: join(file, 'cache') }), 'cannot be created');
    servedDespite(await run({ CREDENTIAL_CACHE_DIR: join(fresh('missing'), 'cache') }), 'its parent directory does not exist');
  });

  survives(
    'The cache directory names a folder that is not the cache’s (`/var/lib/kubelet`, `/`, a typo)',
    'One warning; the folder is neither chmod-ed nor written to',
    async () => {
      const folder = fresh('kubelet');
      mkdirSync(folder, { mode: 0o755 });
      chmodSync(folder, 0o755);
      writeFileSync(join(folder, 'config.yaml'), 'kind: KubeletConfiguration\n');
      servedDespite(await run({ CREDENTIAL_CACHE_DIR: folder }), 'is not a credential-provider-oke cache');
      expect(statSync(folder).mode & 0o777).toBe(0o755);
      expect(readdirSync(folder)).toEqual(['config.yaml']);
    },
  );

  survives('Something else at a lock’s path (a directory, a symlink, a FIFO)', 'One warning; credentials without the cache', async () => {
    for (const plant of [(p: string) => mkdirSync(p), (p: string) => symlinkSync('/etc/hostname', p), (p: string) => spawnSync('mkfifo', [p])]) {
      const dir = fresh('cache');
      servedDespite(await run({ CREDENTIAL_CACHE_DIR: dir }), undefined);
      for (const name of readdirSync(dir)) {
        if (!name.includes('-')) continue;
        // Every entry goes, and its lock's place is taken: the next exec must refresh and cannot lock.
        unlinkSync(join(dir, name));
        plant(join(dir, `${name}.lock`));
      }
      servedDespite(await run({ CREDENTIAL_CACHE_DIR: dir }), 'is not a lock file');
    }
  });

  survives('The cache directory is removed while execs wait on its lock', 'The waiters carry on without it and all get credentials', async () => {
    const dir = fresh('cache');
    servedDespite(await run({ CREDENTIAL_CACHE_DIR: dir }), undefined);
    const docker = readdirSync(dir).find((n) => n.startsWith('docker-'))!;
    unlinkSync(join(dir, docker));
    // Another process holds the docker token's lock, as a refreshing exec would.
    const holder = spawn(process.execPath, [resolve(import.meta.dir, '../support/lockHolder.ts'), 'hold', dir, docker], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await lineFrom(holder.stdout, (line) => line === 'locked');
      const waiters = [0, 1, 2].map(() => startProvider({ ...setup.emulator.env(), CREDENTIAL_CACHE_DIR: dir, LOG_LEVEL: 'debug' }, kubeletRequest(image())));
      await Promise.all(waiters.map((w) => lineFrom(w.stderr, (line) => line.includes('waiting for cache lock'))));
      rmSync(dir, { recursive: true, force: true });
      for (const result of await Promise.all(waiters.map((w) => w.done))) {
        expect(result.status).toBe(0);
        expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
        expect(result.stderr).toContain('carrying on without it');
        expect(result.stderr).not.toContain('ERR_');
      }
    } finally {
      holder.kill('SIGKILL');
    }
  });

  survives('The cache directory is removed while execs wait for the one leading a burst', 'The followers carry on and all get credentials', async () => {
    const dir = fresh('cache');
    const env = { ...setup.emulator.env(), CREDENTIAL_CACHE_DIR: dir };
    const held = gate();
    setup.emulator.inject('ocir.token', { until: held.until });
    const leader = startProvider(env, kubeletRequest(image('app0')));
    await setup.emulator.whenCalls(1, 'ocir.token');
    const followers = [1, 2, 3].map((i) => startProvider(env, kubeletRequest(image(`app${i}`))));
    await Promise.all(followers.map(following));
    rmSync(dir, { recursive: true, force: true });
    held.open();
    for (const result of await Promise.all([leader.done, ...followers.map((f) => f.done)])) {
      expect(result.status).toBe(0);
      expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
      // Warnings, if any, say what the removal did to that exec's cache (its writes, a lock deleted under it); never an error.
      expect(result.stderr.split('\n').filter((line) => line !== '' && !/^\S+ warn /.test(line))).toEqual([]);
    }
  });

  const mountable = isRoot && spawnSync('mount', ['--version']).status === 0;
  survives(
    'A full filesystem under the cache (ENOSPC, also while the lock’s holder record is written)',
    'One warning; credentials without the cache',
    async () => {
      const mountPoint = fresh('tmpfs');
      mkdirSync(mountPoint);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mountPoint]).status !== 0) throw new Error('mount failed');
      try {
        const dir = join(mountPoint, 'cache');
        mkdirSync(dir, { mode: 0o700 });
        fill(mountPoint);
        servedDespite(await run({ CREDENTIAL_CACHE_DIR: dir }), 'ENOSPC');
      } finally {
        spawnSync('umount', ['-l', mountPoint]);
      }
    },
    mountable ? {} : { skip: 'needs root to mount a tmpfs' },
  );

  survives(
    'A read-only filesystem under the cache',
    'One warning; credentials without the cache',
    async () => {
      const mountPoint = fresh('ro');
      mkdirSync(mountPoint);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700,ro', 'tmpfs', mountPoint]).status !== 0) throw new Error('mount failed');
      try {
        servedDespite(await run({ CREDENTIAL_CACHE_DIR: join(mountPoint, 'cache') }), 'EROFS');
      } finally {
        spawnSync('umount', ['-l', mountPoint]);
      }
    },
    mountable ? {} : { skip: 'needs root to mount a tmpfs' },
  );

  survives('The log file is a symlink, a FIFO, a directory or in a missing folder', 'One warning; nothing written through the link, no blocking, the pull goes on', async () => {
    const target = fresh('target');
    writeFileSync(target, 'keep\n');
    const link = fresh('link.log');
    symlinkSync(target, link);
    const fifo = fresh('fifo.log');
    spawnSync('mkfifo', [fifo]);
    const directory = fresh('dir.log');
    mkdirSync(directory);
    for (const logFile of [link, fifo, directory, join(fresh('missing'), 'x.log')]) {
      servedDespite(await run({ LOG_FILE: logFile, LOG_LEVEL: 'info', CREDENTIAL_CACHE_DIR: 'none' }), `log file ${logFile} not used`);
    }
    expect(readFileSync(target, 'utf8')).toBe('keep\n');
  });

  survives(
    'A log level, log file or cache directory that cannot be used (`LOG_LEVEL=loud`, a relative path)',
    'One warning naming each setting; the pull goes on at warn level, without the log file or the cache',
    async () => {
      const cwd = fresh('cwd');
      mkdirSync(cwd);
      const result = await runProvider({ env: { ...setup.emulator.env(), LOG_LEVEL: 'loud', LOG_FILE: 'provider.log', CREDENTIAL_CACHE_DIR: 'cache' }, stdin: kubeletRequest(image()), cwd });
      expect(result.status).toBe(0);
      expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
      const warnings = result.stderr.trimEnd().split('\n');
      expect(warnings.map((line) => line.replace(/^\S+ warn /, ''))).toEqual([
        'LOG_LEVEL must be one of error, warn, info, debug; ignored',
        'LOG_FILE must be an absolute path; ignored',
        'CREDENTIAL_CACHE_DIR must be an absolute path, or none to turn the cache off; ignored',
      ]);
      // Nothing lands in the kubelet's working directory.
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  survives('An existing log file readable by others (0644)', 'Tightened to 0600 before the first line', async () => {
    const logFile = fresh('open.log');
    writeFileSync(logFile, '');
    chmodSync(logFile, 0o644);
    servedDespite(await run({ LOG_FILE: logFile, LOG_LEVEL: 'info', CREDENTIAL_CACHE_DIR: 'none' }), undefined);
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(logFile, 'utf8')).toContain(' info credentials issued ');
  });

  survives('Stdin is never closed', 'One `ERR_DEADLINE` line naming stdin when the exec’s budget runs out; never a hang', async () => {
    const child = startProvider({ ...setup.emulator.env(), EXEC_TIMEOUT: '1s' }, kubeletRequest(image()).slice(0, 20), { keepStdinOpen: true });
    const result = await child.done;
    expect(expectOneLineFailure(result, 'ERR_DEADLINE')).toContain('stdin');
  });

  survives('Stdout is closed (the kubelet gave up on the exec)', 'One `ERR_OUTPUT` line naming stdout; never `ERR_INTERNAL`', async () => {
    const { command, prefix } = providerCommand();
    const child = spawn(command, prefix, { env: { PATH: '/usr/bin:/bin', ...setup.emulator.env(), CREDENTIAL_CACHE_DIR: 'none' }, stdio: ['pipe', 'pipe', 'pipe'] });
    // The reading end goes away before the answer is written: the write fails with EPIPE.
    child.stdout.destroy();
    const stderr: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    const exit = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolveExit) => child.on('close', (status, signal) => resolveExit({ status, signal })));
    child.stdin.end(kubeletRequest(image()));
    const { status, signal } = await exit;
    expect(signal).toBeNull();
    expect(status).not.toBe(0);
    const lines = Buffer.concat(stderr).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('credential-provider-oke: ERR_OUTPUT: cannot write the response to stdout (EPIPE); check: the kubelet closes the pipe only once it gave up on the exec; run by hand, keep stdout open');
  });

  survives('`-config` names `/dev/zero`, a FIFO or a huge file', 'One `ERR_CONFIG_INVALID` line naming the file; nothing read past the size cap', async () => {
    const fifo = fresh('config.fifo');
    spawnSync('mkfifo', [fifo]);
    for (const path of ['/dev/zero', fifo]) {
      const result = await runProvider({ args: ['-config', path], env: setup.emulator.env(), stdin: kubeletRequest(image()) });
      expect(expectOneLineFailure(result, 'ERR_CONFIG_INVALID')).toContain(path);
    }
  });
});

describe('stale identities: an entry of another identity is a miss, replaced, never served', () => {
  survives(
    'The OCI config file is rewritten for another user',
    'The next exec gets the new user’s token; the old user’s is never served',
    async () => {
      const users = ['ocid1.user.oc1..first', 'ocid1.user.oc1..second'].map((userId) => {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const keyFile = fresh('key.pem');
        writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
        return { userId, fingerprint: setup.emulator.registerApiKey(userId, publicKey), keyFile };
      });
      const config = fresh('config');
      const cache = fresh('cache');
      const env = { OCIR_AUTH_METHOD: 'USER_PRINCIPAL', OCI_CONFIG_FILE: config, CREDENTIAL_CACHE_DIR: cache };
      for (const user of [...users, users[0]!]) {
        writeFileSync(config, `[DEFAULT]\nuser=${user.userId}\nfingerprint=${user.fingerprint}\ntenancy=${setup.emulator.tenancyId}\nkey_file=${user.keyFile}\nregion=eu-frankfurt-1\n`);
        expect(servedDespite(await run(env), undefined)?.id).toBe(user.userId);
      }
      // The first user's token was cached under the first user's name and is served again to the first user only.
      expect(setup.emulator.calls('ocir.token')).toBe(2);
    },
  );

  survives(
    'A session left by another tenancy (the instance certificate now names another one)',
    'OCIR’s refusal of the old session brings one federation, and this exec and the next get the new tenancy’s token; never a lasting failure',
    async () => {
      const own = await startEmulator();
      try {
        const cache = fresh('cache');
        const env = { ...own.env(), CREDENTIAL_CACHE_DIR: cache };
        const request = kubeletRequest(`${own.registryHost}/${own.namespace}/app`);
        const runOwn = () => runProvider({ env, stdin: request });
        const tenancyOf = (result: ProviderRun) => {
          expect(result.stderr).toBe('');
          expect(result.status).toBe(0);
          const answer = JSON.parse(result.stdout) as { auth: Record<string, { password: string }> };
          return own.dockerTokenPrincipal(answer.auth[own.registryHost]!.password)?.tenancyId;
        };
        const before = own.tenancyId;
        expect(tenancyOf(await runOwn())).toBe(before);
        own.rotateTenancy();
        // The docker tokens are gone (expired); OCIR no longer accepts the old tenancy's session.
        for (const name of readdirSync(cache)) if (name.startsWith('docker-')) unlinkSync(join(cache, name));
        own.inject('ocir.token', { status: 401 });
        own.resetCalls();
        expect(tenancyOf(await runOwn())).toBe(own.tenancyId);
        expect(own.calls('auth.x509')).toBe(1);
        expect(tenancyOf(await runOwn())).toBe(own.tenancyId);
        expect(own.tenancyId).not.toBe(before);
        expect(own.calls('auth.x509')).toBe(1);
      } finally {
        await own.stop();
      }
    },
  );

  survives('Another IMDS endpoint (another machine’s cache, another emulator)', 'A federation of its own; the other’s session and tokens are never used', async () => {
    const cache = fresh('cache');
    servedDespite(await run({ CREDENTIAL_CACHE_DIR: cache }), undefined);
    setup.emulator.resetCalls();
    const other = await startEmulator();
    try {
      const result = await runProvider({ env: { ...other.env(), CREDENTIAL_CACHE_DIR: cache }, stdin: kubeletRequest(`${other.registryHost}/${other.namespace}/app`) });
      expect(result.stderr).toBe('');
      expect(validateKubeletResponse(result.stdout, V1).ok).toBe(true);
      expect(other.calls('auth.x509')).toBe(1);
      expect(setup.emulator.calls()).toBe(0);
    } finally {
      await other.stop();
    }
  });
});

describe('order of work: a refused registry touches nothing', () => {
  survives(
    'A non-OCIR image whose pod opted into workload identity with a garbage token',
    '`ERR_REGISTRY_NOT_ALLOWED` before anything else: no cache folder, no log file, no network',
    async () => {
      const cache = fresh('cache');
      const logFile = fresh('provider.log');
      const result = await runProvider({
        env: { ...setup.emulator.env(), CREDENTIAL_CACHE_DIR: cache, LOG_FILE: logFile },
        stdin: kubeletRequest('docker.io/library/nginx', V1, {
          serviceAccountToken: 'not-a-jwt',
          serviceAccountAnnotations: { 'oke.credential-provider.oracle.com/workload-identity': 'enabled' },
        }),
      });
      expectOneLineFailure(result, 'ERR_REGISTRY_NOT_ALLOWED');
      expect(existsSync(cache)).toBe(false);
      expect(existsSync(logFile)).toBe(false);
      expect(setup.emulator.calls()).toBe(0);
    },
  );
});

function renderTable(): string {
  return ['| Fault | What the provider does |', '|---|---|', ...rows.map((r) => `| ${r.fault} | ${r.behaviour} |`)].join('\n');
}

test('README.md’s "What it survives" table is exactly the rows proven here', () => {
  const readme = readFileSync(resolve(import.meta.dir, '../../README.md'), 'utf8');
  const table = renderTable();
  const begin = '<!-- survives:begin (test/e2e/survives.test.ts) -->';
  const end = '<!-- survives:end -->';
  const start = readme.indexOf(begin);
  expect(start).toBeGreaterThan(-1);
  expect(readme.slice(start + begin.length, readme.indexOf(end)).trim()).toBe(table);
});

/** Fills a filesystem until it refuses another byte. */
function fill(mountPoint: string): void {
  for (let i = 0; ; i += 1) {
    try {
      writeFileSync(join(mountPoint, `filler-${i}`), Buffer.alloc(4096));
    } catch {
      return;
    }
  }
}
