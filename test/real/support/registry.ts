import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TestPki } from './pki.ts';
import type { ServerProcess } from './processes.ts';
import { freePort, startServer } from './processes.ts';

/**
 * Debian's `docker-registry` (CNCF distribution 2.8.2) on 127.0.0.1 over HTTPS, with token auth
 * trusting the emulator's docker-token CA. Config keys and the token rules it enforces:
 * real-components.md §1. The package's own /etc/docker/registry/config.yml (htpasswd, all
 * interfaces) is never used: the config is explicit and the environment is bare, because
 * distribution lets REGISTRY_* variables override any config key.
 */

export interface TokenAuth {
  /** The URL clients are sent to after a 401 (the challenge's `realm`). */
  readonly realm: string;
  /** Must equal the tokens' `aud` (a string: 2.8 rejects an array). */
  readonly service: string;
  /** Must equal the tokens' `iss`. */
  readonly issuer: string;
  /** PEM bundle whose certificates may anchor a token's `x5c` chain. */
  readonly rootCertificatesPem: string;
}

export interface RealRegistry {
  /** `127.0.0.1:<port>`, reachable directly (for seeding) and through the front. */
  readonly host: string;
  readonly process: ServerProcess;
  stop(): Promise<void>;
}

export const REGISTRY_BINARY = 'docker-registry';

export async function startRegistry(dir: string, pki: TestPki, auth: TokenAuth): Promise<RealRegistry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const bundle = join(dir, 'token-ca.pem');
  writeFileSync(bundle, auth.rootCertificatesPem);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  // JSON is YAML: no quoting questions for paths and URLs.
  writeFileSync(
    config,
    JSON.stringify(
      {
        version: 0.1,
        log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
        storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
        http: { addr: host, tls: { certificate: pki.serverCertificateFile, key: pki.serverKeyFile } },
        auth: { token: { realm: auth.realm, service: auth.service, issuer: auth.issuer, rootcertbundle: bundle } },
      },
      null,
      2,
    ),
  );
  const server = await startServer({
    name: `${REGISTRY_BINARY} on ${host}`,
    command: REGISTRY_BINARY,
    args: ['serve', config],
    logFile: join(dir, 'registry.log'),
    // Any HTTP answer on /v2/ (a 401 challenge) means TLS and routing are up.
    ready: async () => (await httpsGet(`https://${host}/v2/`, pki.caPem)).status === 401,
  });
  return { host, process: server, stop: () => server.stop() };
}

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

/** A GET verifying the server against `caPem`; the body is discarded. */
export function httpsGet(url: string, caPem: string, headers: Readonly<Record<string, string>> = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    // servername '' : no SNI for an IP address (RFC 6066 §3); the certificate's IP SAN is still checked.
    const req = request(url, { ca: caPem, headers, agent: false, servername: '', timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
