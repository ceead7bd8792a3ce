import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider } from '../support/runProvider.ts';

/**
 * The kubelet passes HTTP(S)_PROXY/NO_PROXY to the provider: the auth service and OCIR go through
 * the proxy, IMDS never does. A forwarding proxy on 127.0.0.1 records what it carried.
 */
let emulator: Emulator;
let proxy: Server;
let proxyUrl: string;
const carried: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  proxy = createServer((req, res) => {
    carried.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '/');
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  proxy.closeAllConnections();
  proxy.close();
  await emulator.stop();
});

test('auth service and OCIR go through HTTP_PROXY, IMDS never', async () => {
  const result = await runProvider({
    env: { ...emulator.env(), HTTP_PROXY: proxyUrl },
    stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`),
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(validateKubeletResponse(result.stdout, 'credentialprovider.kubelet.k8s.io/v1').ok).toBe(true);
  expect(carried.some((c) => c.startsWith('POST ') && c.endsWith('/v1/x509'))).toBe(true);
  expect(carried.some((c) => c.includes(`${emulator.registryHost}/20180419/docker/token`))).toBe(true);
  expect(carried.filter((c) => c.includes('/opc/v2/'))).toEqual([]);
});

test('NO_PROXY exempts a host', async () => {
  carried.length = 0;
  const result = await runProvider({
    env: { ...emulator.env(), HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' },
    stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`),
  });
  expect(result.status).toBe(0);
  expect(carried).toEqual([]);
});

test('an unreachable proxy is a clear network error, not a hang', async () => {
  const result = await runProvider({
    env: { ...emulator.env(), HTTP_PROXY: 'http://127.0.0.1:9', EXEC_TIMEOUT: '10s' },
    stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`),
  });
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/ERR_NETWORK|ERR_DEADLINE/);
});
