import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { newRequestId } from './ids.ts';

/**
 * The HTTP plumbing the three emulated services share: a loopback server that can always be
 * stopped (hung requests included), the `opc-request-id` every response carries, and the two
 * error shapes (OCI JSON, Docker registry v2).
 */

/** One request and its response, with the request id already set on the response. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** Path without the query. */
  readonly path: string;
  /** Aborted when the emulator stops, so delayed handlers give up instead of keeping the process alive. */
  readonly signal: AbortSignal;
}

export type Handler = (exchange: Exchange) => Promise<void>;

export interface LoopbackServer {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  stop(): Promise<void>;
}

/** Bodies above this are refused: every legitimate body here is a few kilobytes. */
const MAX_BODY_BYTES = 1024 * 1024;

/** A TLS server's certificate chain and key, PEM: the proxymux is HTTPS, the other services plain HTTP. */
export interface ServerTls {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** Listens on 127.0.0.1, port 0 (the OS picks a free port); over TLS when `tls` is given. */
export async function startLoopbackServer(handler: Handler, tls?: ServerTls): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const stopping = new AbortController();
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    // The client's id is echoed so that one id follows a request through logs, as OCI does.
    const given = req.headers['opc-request-id'];
    const requestId = typeof given === 'string' && given !== '' ? given : newRequestId();
    res.setHeader('opc-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0]!;
    const exchange: Exchange = { req, res, requestId, path, signal: stopping.signal };
    handler(exchange).catch((error: unknown) => {
      // A bug in the emulator must show up as a failure, never as a hang.
      if (!res.headersSent && !res.destroyed) {
        sendOciError(exchange, 500, 'InternalServerError', `emulator error: ${String(error)}`);
      } else {
        res.destroy();
      }
    });
  };
  const server = tls === undefined ? createServer(listener) : createTlsServer({ cert: tls.certificatePem, key: tls.privateKeyPem }, listener);
  // `connection` gives the TCP socket for both kinds, so stop() can destroy hung ones.
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
    async stop() {
      stopping.abort();
      // close() alone waits for open connections, and a hung request never ends by itself.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Reads the whole body as bytes (the signature covers exact bytes, never a decoded string). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const bytes = chunk as Buffer;
    total += bytes.length;
    if (total > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

export type Headers = Readonly<Record<string, string>>;

export function sendJson(exchange: Exchange, status: number, body: unknown, headers: Headers = {}): void {
  send(exchange, status, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
}

export function sendText(exchange: Exchange, status: number, text: string, headers: Headers = {}): void {
  send(exchange, status, text, { 'content-type': 'text/plain; charset=utf-8', ...headers });
}

/** OCI's error shape (oci-auth.md §8.1): `{"code":"NotAuthenticated","message":"..."}`. */
export function sendOciError(exchange: Exchange, status: number, code: string, message: string, headers: Headers = {}): void {
  sendJson(exchange, status, { code, message }, headers);
}

/** The Docker registry v2 error shape: `{"errors":[{"code":"DENIED","message":"...","detail":...}]}`. */
export function sendRegistryError(
  exchange: Exchange,
  status: number,
  code: string,
  message: string,
  headers: Headers = {},
  detail?: unknown,
): void {
  sendJson(exchange, status, { errors: [{ code, message, detail: detail ?? null }] }, headers);
}

/** Sends a complete response; HEAD gets the headers (with the GET's Content-Length) and no body. */
export function send(exchange: Exchange, status: number, body: string | Buffer, headers: Headers): void {
  const { req, res } = exchange;
  if (res.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Resolves after `ms`, or early (with `false`) when `signal` aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
