import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WORKLOAD_IDENTITY_ANNOTATION } from '../../src/identity/serviceAccount.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { validateKubeletResponse } from '../support/kubeletResponse.ts';
import { kubeletRequest, runProvider } from '../support/runProvider.ts';

/**
 * The source uses only `node:` and web-standard APIs, so it also runs under Node: bundled for Node
 * and run with the machine's `node` against the emulator, directly and through a proxy (undici).
 */
const NODE = Bun.which('node');
const ROOT = resolve(import.meta.dir, '../..');
let emulator: Emulator;
let dir: string;
let bundle: string;
let proxy: Server;
let proxyUrl: string;
let carried = 0;

beforeAll(async () => {
  if (NODE === null) return;
  emulator = await startEmulator();
  dir = mkdtempSync(join(tmpdir(), 'cpo-node-'));
  bundle = join(dir, 'main.mjs');
  const built = Bun.spawnSync([process.execPath, 'build', join(ROOT, 'src/main.ts'), '--target=node', '--format=esm', `--outfile=${bundle}`], { cwd: ROOT });
  if (built.exitCode !== 0) throw new Error(`bun build --target=node failed: ${built.stderr.toString()}`);
  proxy = createServer((req, res) => {
    carried++;
    const target = new URL(req.url ?? '/');
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (a) => {
      res.writeHead(a.statusCode ?? 502, a.headers);
      a.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  if (NODE === null) return;
  proxy.closeAllConnections();
  proxy.close();
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(NODE === null)('the provider runs under Node, directly and through a proxy', async () => {
  for (const extra of [{}, { HTTP_PROXY: proxyUrl }] as Record<string, string>[]) {
    const result = await runProvider({
      commandLine: [NODE!, bundle],
      env: { ...emulator.env(), ...extra },
      stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`),
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(validateKubeletResponse(result.stdout, 'credentialprovider.kubelet.k8s.io/v1').ok).toBe(true);
  }
  expect(carried).toBe(2); // federation and docker token went through the proxy on the second run
}, 60_000);

test.skipIf(NODE === null)('workload identity under Node: the proxymux is trusted through the cluster CA (undici Agent)', async () => {
  const caFile = join(dir, 'cluster-ca.crt');
  writeFileSync(caFile, emulator.proxymuxCaPem);
  const serviceAccountToken = await emulator.issueServiceAccountToken({ namespace: 'team-a', name: 'puller', uid: '33333333-3333-4333-8333-333333333333' });
  const result = await runProvider({
    commandLine: [NODE!, bundle],
    env: { ...emulator.env(), WORKLOAD_IDENTITY_ENDPOINT: emulator.proxymuxUrl, WORKLOAD_IDENTITY_CA_FILE: caFile },
    stdin: kubeletRequest(`${emulator.registryHost}/${emulator.namespace}/app`, 'credentialprovider.kubelet.k8s.io/v1', {
      serviceAccountToken,
      serviceAccountAnnotations: { [WORKLOAD_IDENTITY_ANNOTATION]: 'enabled' },
    }),
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const answer = JSON.parse(result.stdout) as { auth: Record<string, { password: string }> };
  expect(emulator.dockerTokenPrincipal(answer.auth[emulator.registryHost]!.password)).toMatchObject({ type: 'workload', namespace: 'team-a', serviceAccount: 'puller' });
}, 60_000);
