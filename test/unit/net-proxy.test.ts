import { describe, expect, test } from 'bun:test';
import { describeProxy, resolveProxy } from '../../src/net/proxy.ts';

const proxyFor = (url: string, env: Record<string, string>) => resolveProxy(new URL(url), env)?.href;

describe('resolveProxy', () => {
  test('no proxy variables, no proxy', () => {
    expect(proxyFor('https://fra.ocir.io/x', {})).toBeUndefined();
  });
  test('https uses HTTPS_PROXY, then HTTP_PROXY; http uses HTTP_PROXY only', () => {
    expect(proxyFor('https://fra.ocir.io/x', { HTTPS_PROXY: 'http://p1:3128', HTTP_PROXY: 'http://p2:3128' })).toBe('http://p1:3128/');
    expect(proxyFor('https://fra.ocir.io/x', { HTTP_PROXY: 'http://p2:3128' })).toBe('http://p2:3128/');
    expect(proxyFor('http://127.0.0.1:5000/x', { HTTPS_PROXY: 'http://p1:3128' })).toBeUndefined();
    expect(proxyFor('http://127.0.0.1:5000/x', { http_proxy: 'p3:8080' })).toBe('http://p3:8080/');
  });
  const noProxy: [string, string, boolean][] = [
    ['fra.ocir.io', 'https://fra.ocir.io/x', true],
    ['.ocir.io', 'https://fra.ocir.io/x', true],
    ['*.ocir.io', 'https://fra.ocir.io/x', true],
    ['ocir.io', 'https://fra.ocir.io/x', true],
    ['ir.io', 'https://fra.ocir.io/x', false],
    ['fra.ocir.io:443', 'https://fra.ocir.io/x', true],
    ['fra.ocir.io:8443', 'https://fra.ocir.io/x', false],
    ['169.254.169.254, 127.0.0.1', 'http://127.0.0.1:80/x', true],
    ['[::1]', 'http://[::1]:8080/x', true],
    ['::1', 'http://[::1]:8080/x', true],
    ['*', 'https://auth.eu-frankfurt-1.oraclecloud.com/v1/x509', true],
    ['FRA.OCIR.IO', 'https://fra.ocir.io/x', true],
  ];
  for (const [list, url, bypass] of noProxy) {
    test(`NO_PROXY=${list} ${bypass ? 'bypasses' : 'keeps the proxy for'} ${url}`, () => {
      expect(proxyFor(url, { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1', NO_PROXY: list }) === undefined).toBe(bypass);
    });
  }
  test('a log line shows the proxy without credentials', () => {
    expect(describeProxy(new URL('http://user:secret@proxy.corp:3128'))).toBe('http://proxy.corp:3128');
  });
});
