import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, redact } from '../../src/log.ts';

describe('redact', () => {
  const secrets: [string, string][] = [
    ['a JWT', 'token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl here'],
    ['an ST$ keyId', 'keyId="ST$eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.sig"'],
    ['a signature', 'Signature version="1",signature="QUJDREVGRw=="'],
    ['a PEM key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'],
    ['Basic credentials', 'authorization: Basic QkVBUkVSX1RPS0VOOnNlY3JldA=='],
    ['a password field', '{"password":"hunter2"}'],
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
    expect(redact('x token: abc, "access_token":"def", password=ghi')).toBe('x token: [redacted], "access_token":[redacted], password=[redacted]');
  });
  test('leaves ordinary text alone', () => {
    expect(redact('IMDS GET /opc/v2/instance/region answered 404 host=127.0.0.1:80')).toBe(
      'IMDS GET /opc/v2/instance/region answered 404 host=127.0.0.1:80',
    );
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
