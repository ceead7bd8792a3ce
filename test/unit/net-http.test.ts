import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../../src/errors.ts';
import { silentLogger } from '../../src/silentLogger.ts';
import { createDeadline } from '../../src/net/deadline.ts';
import { createFetchTransport, createHttpClient, type CallSpec } from '../../src/net/http.ts';
import { NO_RETRY, SERVICE_RETRY } from '../../src/net/retryPolicy.ts';
import { systemClock } from '../../src/runtime.ts';

/** A scripted server on 127.0.0.1: each request takes the next step of the script. */
type Step = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let base: string;
let script: Step[] = [];
let seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    const step = script.shift() ?? ((_q, r) => r.writeHead(500).end());
    step(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const status = (code: number, headers: Record<string, string> = {}): Step => (_q, r) => r.writeHead(code, headers).end('{}');
const hang: Step = () => {};

function client(budgetMs = 10_000) {
  const sleeps: number[] = [];
  const http = createHttpClient({
    transport: createFetchTransport({}),
    deadline: createDeadline(systemClock, budgetMs),
    clock: systemClock,
    log: silentLogger,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });
  return { http, sleeps };
}

function spec(overrides: Partial<CallSpec> = {}): CallSpec {
  let built = 0;
  return {
    name: 'test GET /x',
    timeoutMs: 2_000,
    retry: SERVICE_RETRY,
    request: () => ({ method: 'GET', url: new URL(`${base}/x`), headers: { 'x-attempt': String(++built) } }),
    ...overrides,
  };
}

describe('createHttpClient', () => {
  test('retries 503 then returns the 200, rebuilding the request each attempt', async () => {
    script = [status(503), status(503), status(200)];
    seen = [];
    const { http, sleeps } = client();
    const response = await http(spec());
    expect(response.status).toBe(200);
    expect(seen.map((r) => r.headers['x-attempt'])).toEqual(['1', '2', '3']);
    expect(sleeps).toEqual([125, 250]);
  });

  test('honours Retry-After', async () => {
    script = [status(429, { 'retry-after': '1' }), status(200)];
    const { http, sleeps } = client();
    expect((await http(spec())).status).toBe(200);
    expect(sleeps).toEqual([1000]);
  });

  test('returns a final status without retrying', async () => {
    script = [status(401)];
    seen = [];
    const { http } = client();
    expect((await http(spec())).status).toBe(401);
    expect(seen).toHaveLength(1);
  });

  test('gives back the last answer when attempts run out', async () => {
    script = [status(500), status(500)];
    const { http } = client();
    expect((await http(spec({ retry: { ...SERVICE_RETRY, maxAttempts: 2 } }))).status).toBe(500);
  });

  test('a connection failure after retries is ERR_NETWORK naming the call and host', async () => {
    const { http } = client();
    const error = await http(spec({ request: () => ({ method: 'GET', url: new URL('http://127.0.0.1:9/x') }), retry: { ...SERVICE_RETRY, maxAttempts: 2 } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe('ERR_NETWORK');
    expect((error as ProviderError).message).toContain('test GET /x could not connect');
    expect((error as ProviderError).details).toMatchObject({ host: '127.0.0.1:9', attempts: 2 });
  });

  test('a hung server hits the per-attempt timeout', async () => {
    script = [hang];
    const { http } = client();
    const error = (await http(spec({ timeoutMs: 200, retry: NO_RETRY })).catch((e: unknown) => e)) as ProviderError;
    expect(error.code).toBe('ERR_NETWORK');
    expect(error.message).toContain('no answer within 200 ms');
  });

  test('the exec deadline cuts a hung call short and says which call', async () => {
    script = [hang];
    const { http } = client(300);
    const error = (await http(spec({ timeoutMs: 5_000 })).catch((e: unknown) => e)) as ProviderError;
    expect(error.code).toBe('ERR_DEADLINE');
    expect(error.message).toContain('while waiting for test GET /x');
  });
});

describe('createFetchTransport with a private CA (caPem)', () => {
  /** An HTTPS server on 127.0.0.1 whose certificate a throwaway CA signed, as the cluster CA signs the proxymux's. */
  async function tlsServer() {
    const { createRootCa, generateRsaKeyPair, issueCertificate } = await import('../emulator/certificates.ts');
    const { createServer: createHttpsServer } = await import('node:https');
    const [caKeys, serverKeys, otherKeys] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair(), generateRsaKeyPair()]);
    const now = Date.now();
    const ca = await createRootCa([['CN', 'test cluster CA']], now, caKeys);
    const other = await createRootCa([['CN', 'another CA']], now, otherKeys);
    const certificate = issueCertificate({
      subject: [['CN', 'proxymux']],
      subjectKey: serverKeys.publicKey,
      issuer: ca,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3_600_000),
      isCa: false,
      server: { ips: ['127.0.0.1'] },
    });
    const tls = createHttpsServer({ cert: certificate.toString(), key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) }, (_q, r) => r.writeHead(200).end('ok'));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    return { tls, url: new URL(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/x`), caPem: ca.certificate.toString(), otherPem: other.certificate.toString() };
  }

  test('trusts exactly the given CA', async () => {
    const { tls, url, caPem, otherPem } = await tlsServer();
    try {
      const transport = createFetchTransport({});
      const signal = new AbortController().signal;
      const answer = await transport({ method: 'GET', url, caPem }, signal);
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('ok');
      const refused = (caPem: string | undefined) => transport({ method: 'GET', url, ...(caPem === undefined ? {} : { caPem }) }, signal).then(() => false, () => true);
      expect(await refused(otherPem)).toBe(true);
      expect(await refused(undefined)).toBe(true);
    } finally {
      tls.closeAllConnections();
      tls.close();
    }
  });
});
