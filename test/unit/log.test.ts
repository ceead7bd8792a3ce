import { describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, linkSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, redact, redactOutside } from '../../src/log.ts';

describe('redact', () => {
  const secrets: [string, string][] = [
    ['a JWT', 'token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl here'],
    ['an ST$ keyId', 'keyId="ST$eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.sig"'],
    ['a signature', 'Signature version="1",signature="QUJDREVGRw=="'],
    ['a PEM key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'],
    ['Basic credentials', 'authorization: Basic QkVBUkVSX1RPS0VOOnNlY3JldA=='],
    ['a short Bearer token', 'refused Bearer c2lnbmF0dXJl.'],
  ];
  for (const [name, text] of secrets) {
    test(name, () => {
      const out = redact(text);
      expect(out).toContain('[redacted]');
      for (const fragment of ['c2lnbmF0dXJl', 'ST$ey', 'QUJDREVGRw', 'MIIEow', 'QkVBUkVSX1RPS0VOOnNlY3JldA', 'hunter2']) {
        expect(out).not.toContain(fragment);
      }
    });
  }
  test('the error code ERR_OCIR_TOKEN is not a token field: the message after it survives', () => {
    expect(redact('credential-provider-oke: ERR_OCIR_TOKEN: OCIR refused the request')).toBe('credential-provider-oke: ERR_OCIR_TOKEN: OCIR refused the request');
    // Field values are outside text: redactOutside cleans them where they enter a message.
    expect(redactOutside('x token: abc, "access_token":"def", password=ghi')).toBe('x token: [redacted], "access_token":[redacted], password=[redacted]');
  });
  test('leaves ordinary text alone', () => {
    expect(redact('IMDS GET /opc/v2/instance/region answered 404 host=127.0.0.1:80')).toBe(
      'IMDS GET /opc/v2/instance/region answered 404 host=127.0.0.1:80',
    );
  });
});

describe('redact leaves our own words alone', () => {
  const ours = [
    'ERR_OCIR_TOKEN: OCIR refused the docker token request for fra.ocir.io signed as instance-principal (status=401)',
    'ERR_SERVICE_ACCOUNT_TOKEN: the service account token of default/app expired at 2025-01-01T00:00:00.000Z',
    'the token: expired; password: see the hint; Bearer tokens are issued by OCIR; Basic authentication is not used. Bearer tokens.',
  ];
  for (const line of ours) test(line.slice(0, 40), () => expect(redact(line)).toBe(line));
});

describe('redactOutside: text from a response, a file or a request', () => {
  test('redacts password and token fields as well as secret shapes', () => {
    expect(redactOutside('{"password":"hunter2","token": "abc def"} access_token=xyz')).toBe(
      '{"password":[redacted],"token": [redacted]} access_token=[redacted]',
    );
    expect(redactOutside('bad key -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- here')).toBe('bad key [redacted] here');
  });
  test('one line, no control characters, bounded', () => {
    expect(redactOutside('a\r\nb\u001b[31mc\u2028d')).toBe('a b [31mc d');
    expect(redactOutside('x'.repeat(300))).toBe(`${'x'.repeat(200)}…`);
  });
});

describe('createLogger', () => {
  test('filters by level and writes a 0600 file', () => {
    const lines: string[] = [];
    const file = join(mkdtempSync(join(tmpdir(), 'cpo-log-')), 'provider.log');
    const log = createLogger({ level: 'info', write: (l) => lines.push(l), file, now: () => 0 });
    log.debug('hidden');
    log.info('shown', { host: 'fra.ocir.io' });
    log.warn('leaked eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln');
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z info shown host=fra.ocir.io\n', '1970-01-01T00:00:00.000Z warn leaked [redacted]\n']);
    expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('the log file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpo-logfile-'));
  const logTo = (file: string, level: 'info' | 'error' = 'info') => {
    const lines: string[] = [];
    const log = createLogger({ level, write: (l) => lines.push(l), file, now: () => 0 });
    return { log, lines };
  };
  const warning = (file: string, reason: string) => `1970-01-01T00:00:00.000Z warn log file ${file} not used (${reason}); logging to stderr only\n`;

  test('a symlink is not followed: the target stays untouched, one warning, the lines still reach stderr', () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'root:x:0:0\n');
    const link = join(dir, 'link.log');
    symlinkSync(target, link);
    const { log, lines } = logTo(link);
    log.info('one');
    log.info('two');
    expect(readFileSync(target, 'utf8')).toBe('root:x:0:0\n');
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z info one\n', warning(link, 'a symlink'), '1970-01-01T00:00:00.000Z info two\n']);
  });

  test('a FIFO does not block the exec', () => {
    const fifo = join(dir, 'fifo.log');
    execFileSync('mkfifo', [fifo]);
    const { log, lines } = logTo(fifo);
    log.info('one');
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z info one\n', warning(fifo, 'a FIFO')]);
  });

  test('a missing folder or a directory is one warning, not a failure', () => {
    for (const [file, reason] of [
      [join(dir, 'absent', 'provider.log'), 'its folder does not exist'],
      [dir, 'a directory'],
    ] as const) {
      const { log, lines } = logTo(file);
      log.info('one');
      log.info('two');
      expect(lines).toEqual(['1970-01-01T00:00:00.000Z info one\n', warning(file, reason), '1970-01-01T00:00:00.000Z info two\n']);
    }
  });

  test('an existing 0644 file of ours becomes 0600 before the first line lands', () => {
    const file = join(dir, 'loose.log');
    writeFileSync(file, 'before\n');
    chmodSync(file, 0o644);
    const { log, lines } = logTo(file);
    log.info('one');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('before\n1970-01-01T00:00:00.000Z info one\n');
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z info one\n']);
  });

  test('a hard link to another file is refused and its mode left alone', () => {
    const other = join(dir, 'other');
    writeFileSync(other, 'x\n');
    chmodSync(other, 0o644);
    const file = join(dir, 'hardlink.log');
    linkSync(other, file);
    const { log, lines } = logTo(file);
    log.info('one');
    expect(statSync(other).mode & 0o777).toBe(0o644);
    expect(readFileSync(other, 'utf8')).toBe('x\n');
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z info one\n', warning(file, '2 hard links')]);
  });

  test('nothing logged, nothing created', () => {
    const file = join(dir, 'quiet.log');
    const { log, lines } = logTo(file, 'error');
    log.info('filtered out');
    expect(lines).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });
});
