import { ProviderError } from '../errors.ts';
import { ownErrnoCode } from '../errno.ts';
import { redactOutside, type Logger } from '../log.ts';
import type { Clock, Env } from '../runtime.ts';
import { resolveProxy } from './proxy.ts';
import type { Deadline } from './deadline.ts';
import { nextRetryDelayMs, type AttemptOutcome, type RetryPolicy } from './retryPolicy.ts';

/**
 * The one way the provider talks HTTP: every call has a per-attempt timeout, retries by a pure
 * policy, and stops at the exec's deadline with an error that names the call that was slow.
 */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Never through a proxy (IMDS: link-local, and it rejects forwarded requests). */
  readonly direct?: boolean;
  /**
   * PEM of the CA(s) that must have signed the server's certificate, for an https endpoint with a
   * private CA (the OKE proxymux, signed by the cluster CA). Undefined means the runtime's roots.
   */
  readonly caPem?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: string;
}

/** Sends one request; rejects on connection failure or when `signal` aborts. */
export type Transport = (request: HttpRequest, signal: AbortSignal) => Promise<HttpResponse>;

/** Answers bigger than this are cut off: every answer we read is a small JSON document or PEM. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * `fetch`, which Node and Bun both provide, with the proxy chosen by `resolveProxy` from `env`.
 * The proxy is always passed explicitly: `main.ts` removes the proxy variables from the process
 * environment so Bun's fetch never applies them on its own (it would send IMDS through a proxy).
 * Bun takes a `proxy` option; Node's fetch needs undici's ProxyAgent, loaded only when a proxy is
 * used. Redirects are not followed (no OCI endpoint we call redirects).
 */
export function createFetchTransport(env: Env): Transport {
  return async (request, signal) => {
    const proxy = request.direct === true ? undefined : resolveProxy(request.url, env);
    const init = { method: request.method, headers: request.headers, body: request.body, signal, redirect: 'manual' as const };
    const ca = request.caPem;
    let response: Response;
    if (proxy === undefined && ca === undefined) {
      response = await fetch(request.url, init);
    } else if (process.versions.bun !== undefined) {
      // Bun's fetch takes both as options; `tls.ca` applies to the target, also through a proxy tunnel.
      const extra = { ...(proxy === undefined ? {} : { proxy: proxy.href }), ...(ca === undefined ? {} : { tls: { ca } }) };
      response = await fetch(request.url, { ...init, ...extra });
    } else {
      response = await fetchThroughUndici(request.url, init, proxy, ca);
    }
    return { status: response.status, headers: response.headers, body: await readCapped(response) };
  };
}

/** One undici dispatcher per (proxy, CA): an exec makes a handful of calls, so this holds one or two. */
const undiciAgents = new Map<string, unknown>();

/** Node's fetch takes neither a proxy nor a CA: undici's dispatchers do, loaded only when one is needed. */
async function fetchThroughUndici(url: URL, init: RequestInit, proxy: URL | undefined, ca: string | undefined): Promise<Response> {
  const undici = await import('undici');
  const key = `${proxy?.href ?? 'direct'}\n${ca ?? ''}`;
  let agent = undiciAgents.get(key) as InstanceType<typeof undici.Dispatcher> | undefined;
  if (agent === undefined) {
    agent =
      proxy === undefined
        ? new undici.Agent({ connect: { ca } })
        : // Plain-http targets go as absolute-form requests, as curl and Bun send them: many proxies (squid's
          // default SSL_ports rule) refuse CONNECT to anything but 443. https targets still tunnel.
          new undici.ProxyAgent({ uri: proxy.href, proxyTunnel: false, ...(ca === undefined ? {} : { requestTls: { ca } }) });
    undiciAgents.set(key, agent);
  }
  return (await undici.fetch(url, { ...(init as Parameters<typeof undici.fetch>[1]), dispatcher: agent })) as unknown as Response;
}

async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) break; // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface CallSpec {
  /** Who is called and what, for messages and logs, e.g. `IMDS GET /opc/v2/instance/region`. */
  readonly name: string;
  /** Built per attempt, so a signed request gets a fresh `date` on each retry. */
  readonly request: () => HttpRequest;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

/** Performs a call with retries; resolves with the last answer (any status), rejects only when no answer came. */
export type HttpClient = (spec: CallSpec) => Promise<HttpResponse>;

export interface HttpClientInit {
  readonly transport: Transport;
  readonly deadline: Deadline;
  readonly clock: Clock;
  readonly log: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createHttpClient(init: HttpClientInit): HttpClient {
  const sleep = init.sleep ?? defaultSleep;
  const random = init.random ?? Math.random;
  return async (spec) => {
    for (let attempt = 1; ; attempt++) {
      const request = spec.request();
      const remaining = init.deadline.remainingMs();
      if (remaining <= 0) throw deadlineError(spec, request, attempt - 1, init.deadline);
      const attemptTimeoutMs = Math.min(spec.timeoutMs, remaining);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), attemptTimeoutMs);
      let response: HttpResponse;
      try {
        // Only the transport is inside: a failure in our own handling of the answer is a bug, not a network error.
        response = await init.transport(request, controller.signal);
      } catch (error) {
        const outcome: AttemptOutcome = controller.signal.aborted ? { kind: 'timeout' } : isCertificateError(error) ? { kind: 'tls' } : { kind: 'network' };
        init.log.debug(`${spec.name}: attempt ${attempt} failed`, {
          reason: outcome.kind === 'timeout' ? `no answer within ${attemptTimeoutMs}ms` : describeNetworkError(error),
        });
        if (outcome.kind === 'timeout' && attemptTimeoutMs < spec.timeoutMs) {
          // The deadline, not the call's own timeout, cut this attempt short.
          throw deadlineError(spec, request, attempt, init.deadline);
        }
        const delay = nextRetryDelayMs(spec.retry, attempt, outcome, random(), init.clock.now());
        if (delay === undefined || delay >= init.deadline.remainingMs()) {
          throw networkError(spec, request, attempt, outcome, attemptTimeoutMs, error);
        }
        await sleep(delay);
        continue;
      } finally {
        clearTimeout(timer);
      }
      const outcome: AttemptOutcome = { kind: 'status', status: response.status, retryAfter: response.headers.get('retry-after') };
      const delay = nextRetryDelayMs(spec.retry, attempt, outcome, random(), init.clock.now());
      if (delay === undefined) return response;
      if (delay >= init.deadline.remainingMs()) {
        init.log.debug(`${spec.name}: no time left to retry status ${response.status}`);
        return response;
      }
      init.log.debug(`${spec.name}: status ${response.status}, retrying`, { attempt, delayMs: delay });
      await sleep(delay);
    }
  };
}

/** OpenSSL's and Node's codes for a refused server certificate (on the error or its cause, depending on the runtime). */
function isCertificateError(error: unknown): boolean {
  const codes = [ownErrnoCode(error), ownErrnoCode((error as { cause?: unknown }).cause)];
  return codes.some((c) => c !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ERR_TLS|HOSTNAME_MISMATCH/.test(c));
}

/**
 * The system code (`ECONNREFUSED`, `ENOTFOUND`) when there is one: it reads the same on Node and
 * Bun. Otherwise the runtime's message, cleaned as outside text (it can quote what a peer sent).
 */
function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const codes = [...new Set([ownErrnoCode(error), ownErrnoCode(error.cause)].filter((c): c is string => c !== undefined && c !== ''))];
    return codes.length > 0 ? codes.join(' ') : redactOutside(error.message, 120);
  }
  return redactOutside(String(error), 120);
}

function networkError(
  spec: CallSpec,
  request: HttpRequest,
  attempts: number,
  outcome: AttemptOutcome,
  timeoutMs: number,
  cause: unknown,
): ProviderError {
  const what =
    outcome.kind === 'timeout'
      ? `got no answer within ${timeoutMs} ms`
      : outcome.kind === 'tls'
        ? `refused the server's TLS certificate (${describeNetworkError(cause)})`
        : `could not connect (${describeNetworkError(cause)})`;
  const hint =
    outcome.kind === 'tls'
      ? 'the server certificate is not trusted: check the CA the provider is given and any TLS-intercepting proxy'
      : `DNS, routes, proxies (HTTPS_PROXY, NO_PROXY) and security lists from the node to ${request.url.host}`;
  return new ProviderError('ERR_NETWORK', `${spec.name} ${what}`, {
    host: request.url.host,
    attempts,
    cause,
    hint,
  });
}

function deadlineError(spec: CallSpec, request: HttpRequest, attempts: number, deadline: Deadline): ProviderError {
  return new ProviderError(
    'ERR_DEADLINE',
    `gave up after ${Math.round(deadline.budgetMs / 1000)} s (the exec deadline) while waiting for ${spec.name}`,
    {
      host: request.url.host,
      attempts,
      hint: 'that endpoint hangs or is very slow; check network routes, proxies and security lists from the node',
    },
  );
}
