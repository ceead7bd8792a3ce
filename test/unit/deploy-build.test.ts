import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bunExecutableFor, lockedPackage, matchesIntegrity } from '../../scripts/lib/bunExecutable.ts';
import type { BunExecutableOptions } from '../../scripts/lib/bunExecutable.ts';
import { checksumLine, commitLabel, defineArgs } from '../../scripts/lib/buildInfo.ts';
import { isElfFor, parseElfHeader } from '../../scripts/lib/elf.ts';
import { BUILD_TARGETS, executableFileName } from '../../scripts/lib/targets.ts';

/** The pure parts of scripts/build.ts: pinning, integrity, build identity, ELF recognition. */

const ROOT = resolve(import.meta.dir, '../..');
const LOCK: unknown = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
const [AMD64, ARM64] = BUILD_TARGETS as [(typeof BUILD_TARGETS)[0], (typeof BUILD_TARGETS)[0]];

describe('the pinned Bun executables', () => {
  test('the lockfile pins both platform packages at exactly the bun version, with sha512', () => {
    const bun = lockedPackage(LOCK, 'bun');
    for (const target of BUILD_TARGETS) {
      const pkg = lockedPackage(LOCK, target.bunPackage);
      expect(pkg.version).toBe(bun.version);
      expect(pkg.integrity).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/);
    }
  });

  test('a missing package is named', () => {
    expect(() => lockedPackage({ packages: {} }, '@oven/bun-linux-aarch64')).toThrow('@oven/bun-linux-aarch64');
  });

  test('integrity: only a matching sha512 passes', () => {
    const bytes = new TextEncoder().encode('tarball');
    const good = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
    expect(matchesIntegrity(bytes, good)).toBe(true);
    expect(matchesIntegrity(bytes, `sha1-abc ${good}`)).toBe(true);
    expect(matchesIntegrity(new TextEncoder().encode('tarbal1'), good)).toBe(false);
    expect(matchesIntegrity(bytes, `sha1-${createHash('sha1').update(bytes).digest('base64')}`)).toBe(false);
    expect(matchesIntegrity(bytes, '')).toBe(false);
  });

  const options = (over: Partial<BunExecutableOptions>): BunExecutableOptions => ({
    root: '/nonexistent',
    lock: LOCK,
    runningBunVersion: lockedPackage(LOCK, 'bun').version,
    runningBunPath: '/opt/bun',
    hostPlatform: 'linux',
    hostArch: 'x64',
    log: () => {},
    ...over,
  });

  test('the running Bun is the base for its own platform', () => {
    expect(bunExecutableFor(AMD64, options({}))).toBe('/opt/bun');
    expect(bunExecutableFor(ARM64, options({ hostArch: 'arm64' }))).toBe('/opt/bun');
  });

  test('a build on another Bun version is refused', () => {
    expect(() => bunExecutableFor(AMD64, options({ runningBunVersion: '1.0.0' }))).toThrow('npm run build');
  });

  test('a lockfile whose platform package drifted from bun is refused', () => {
    const lock = structuredClone(LOCK) as { packages: Record<string, { version: string }> };
    lock.packages['node_modules/@oven/bun-linux-aarch64']!.version = '0.0.1';
    expect(() => bunExecutableFor(ARM64, options({ lock }))).toThrow('differs from bun@');
  });
});

describe('build identity', () => {
  const git = (answers: Record<string, string | undefined>) => (args: readonly string[]) => answers[args.join(' ')];

  test('a clean checkout is its short commit', () => {
    expect(commitLabel(git({ 'rev-parse --short=12 HEAD': 'deb6ae8c0f12\n', 'status --porcelain': '' }))).toBe('deb6ae8c0f12');
  });

  test('changes or untracked files make it -dirty', () => {
    expect(commitLabel(git({ 'rev-parse --short=12 HEAD': 'deb6ae8c0f12\n', 'status --porcelain': ' M src/x.ts\n' }))).toBe('deb6ae8c0f12-dirty');
    expect(commitLabel(git({ 'rev-parse --short=12 HEAD': 'deb6ae8c0f12\n', 'status --porcelain': '?? new.ts\n' }))).toBe('deb6ae8c0f12-dirty');
    expect(commitLabel(git({ 'rev-parse --short=12 HEAD': 'deb6ae8c0f12\n' }))).toBe('deb6ae8c0f12-dirty');
  });

  test('outside git it is unknown', () => {
    expect(commitLabel(git({}))).toBe('unknown');
    expect(commitLabel(git({ 'rev-parse --short=12 HEAD': 'fatal: not a git repository' }))).toBe('unknown');
  });

  test('the defines are JSON string literals under the names the CLI declares', () => {
    expect(defineArgs('0.1.0', 'deb6ae8-dirty')).toEqual([
      '--define',
      'BUILD_VERSION="0.1.0"',
      '--define',
      'BUILD_COMMIT="deb6ae8-dirty"',
    ]);
    const cli = readFileSync(join(ROOT, 'src/cli/version.ts'), 'utf8');
    expect(cli).toContain('declare const BUILD_VERSION');
    expect(cli).toContain('declare const BUILD_COMMIT');
  });

  test('checksum lines are what sha256sum -c reads', () => {
    expect(checksumLine('ab'.repeat(32), executableFileName(ARM64))).toBe(`${'ab'.repeat(32)}  credential-provider-oke-linux-arm64\n`);
  });
});

describe('ELF recognition', () => {
  const header = (machine: number, cls = 2, data = 1): Uint8Array => {
    const h = new Uint8Array(64);
    h.set([0x7f, 0x45, 0x4c, 0x46, cls, data, 1]);
    h[16] = 2;
    h[18] = machine & 0xff;
    h[19] = machine >> 8;
    return h;
  };

  test('tells x86-64 from AArch64', () => {
    expect(isElfFor(header(0x3e), 'x86_64')).toBe(true);
    expect(isElfFor(header(0x3e), 'aarch64')).toBe(false);
    expect(isElfFor(header(0xb7), 'aarch64')).toBe(true);
    expect(parseElfHeader(header(0xb7))).toEqual({ is64Bit: true, littleEndian: true, type: 2, machine: 0xb7 });
  });

  test('refuses 32-bit, big-endian, short and non-ELF input', () => {
    expect(isElfFor(header(0xb7, 1), 'aarch64')).toBe(false);
    expect(isElfFor(header(0xb7, 2, 2), 'aarch64')).toBe(false);
    expect(parseElfHeader(header(0x3e).subarray(0, 10))).toBeUndefined();
    expect(parseElfHeader(new TextEncoder().encode('#!/bin/sh\necho not an elf file\n'))).toBeUndefined();
  });

  test('the running Bun is recognised for this machine', () => {
    const bytes = new Uint8Array(64);
    const fd = openSync(process.execPath, 'r');
    readSync(fd, bytes, 0, bytes.length, 0);
    closeSync(fd);
    if (process.arch === 'x64') expect(isElfFor(bytes, 'x86_64')).toBe(true);
    if (process.arch === 'arm64') expect(isElfFor(bytes, 'aarch64')).toBe(true);
  });
});
