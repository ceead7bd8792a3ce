import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The one HTTPS host the clients and the provider see, as OCIR serves both its token endpoint and
 * `/v2` on `<region>.ocir.io`. It routes by path: `/20180419/docker/token` to the emulator (plain
 * HTTP), everything else to the real registry (HTTPS, verified against the test CA). Requests pass
 * through unchanged, Host header included, because the provider's OCI signature covers `host` and
 * the registry builds upload URLs from it. Only hop-by-hop headers are dropped.
 */

export const TOKEN_PATH = '/20180419/docker/token';

export interface Upstream {
  readonly protocol: 'http' | 'https';
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** CA to verify an https upstream with. */
  readonly caPem?: string;
}

/** One request the front forwarded, for asserting which flow a client used. */
export interface ForwardedRequest {
  readonly route: 'token' | 'registry';
  readonly method: string;
  readonly path: string;
  /** `Basic`, `Bearer`, `Signature` or `none`: which credential the client presented. */
  readonly authScheme: string;
  readonly userAgent: string;
  /** The upstream's status, or 502 when it could not be reached. */
  status: number;
  /** The start of the body of a token-endpoint error (why a token was refused); empty otherwise. Never a token. */
  errorBody: string;
}

export interface OcirFront {
  /** `127.0.0.1:<port>`: the image registry host, the token realm's host and the registry's `service`. */
  readonly host: string;
  /** Set once the upstreams listen (the emulator needs the front's host before it starts). */
  connect(upstreams: { readonly tokenEndpoint: Upstream; readonly registry: Upstream }): void;
  /** Requests forwarded since the last `clearLog()`, oldest first. */
  readonly forwarded: readonly ForwardedRequest[];
  clearLog(): void;
  stop(): Promise<void>;
}

const MAX_ERROR_BODY_CHARS = 1_000;
/** RFC 9110 §7.6.1 hop-by-hop fields, plus the ones Node sets per connection. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export async function startOcirFront(tls: { readonly certificatePem: string; readonly keyPem: string }): Promise<OcirFront> {
  let upstreams: { tokenEndpoint: Upstream; registry: Upstream } | undefined;
  const forwarded: ForwardedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer({ cert: tls.certificatePem, key: tls.keyPem }, (req, res) => {
    if (upstreams === undefined) {
      res.writeHead(503).end('front not connected yet');
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const route = path === TOKEN_PATH ? 'token' : 'registry';
    const record: ForwardedRequest = {
      route,
      method: req.method ?? '',
      path,
      authScheme: (req.headers.authorization ?? 'none').split(' ')[0]!,
      userAgent: req.headers['user-agent'] ?? '',
      status: 0,
      errorBody: '',
    };
    forwarded.push(record);
    forward(req, res, route === 'token' ? upstreams.tokenEndpoint : upstreams.registry, record);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: `127.0.0.1:${port}`,
    connect: (given) => {
      upstreams = given;
    },
    get forwarded() {
      return forwarded;
    },
    clearLog: () => {
      forwarded.length = 0;
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function forward(req: IncomingMessage, res: ServerResponse, upstream: Upstream, record: ForwardedRequest): void {
  const [hostname, port] = upstream.host.split(':') as [string, string];
  const options = {
    hostname,
    port: Number(port),
    method: req.method,
    path: req.url,
    headers: endToEnd(req.headers),
    // No pooling: every forwarded request maps to one upstream connection, so stop() leaves nothing behind.
    agent: false as const,
  };
  const upstreamRequest =
    upstream.protocol === 'https'
      ? // servername '': no SNI for an IP address (RFC 6066 §3); the certificate's IP SAN is still verified.
        httpsRequest({ ...options, ca: upstream.caPem, servername: '' })
      : httpRequest(options);
  upstreamRequest.on('response', (upstreamResponse) => {
    record.status = upstreamResponse.statusCode ?? 0;
    res.writeHead(record.status, endToEnd(upstreamResponse.headers));
    if (record.route === 'token' && record.status >= 400) {
      upstreamResponse.on('data', (chunk: Buffer) => {
        if (record.errorBody.length < MAX_ERROR_BODY_CHARS) record.errorBody += chunk.toString('utf8').slice(0, MAX_ERROR_BODY_CHARS);
      });
    }
    upstreamResponse.pipe(res);
  });
  upstreamRequest.on('error', (error) => {
    record.status = 502;
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`front: ${upstream.host} unreachable: ${error.message}`);
    else res.destroy();
  });
  req.pipe(upstreamRequest);
}

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}
