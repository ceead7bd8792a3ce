import type { Exchange } from './http.ts';
import { sendJson, sendOciError, sendRegistryError, sendText, sleep } from './http.ts';
import type { EndpointGroup, EndpointName, Fault, FaultTarget, StatusFault } from './types.ts';

/**
 * Call counters and injected faults. Every request that reaches a known endpoint is counted
 * first, then takes the oldest pending fault aimed at that endpoint or its group, so tests can
 * assert both "the client retried" and "the client used its cache".
 */

export const ENDPOINT_NAMES: readonly EndpointName[] = [
  'imds.region',
  'imds.canonicalRegionName',
  'imds.regionInfo',
  'imds.id',
  'imds.cert',
  'imds.key',
  'imds.intermediate',
  'auth.x509',
  'ocir.token',
  'ocir.v2',
  'ocir.manifest',
  'proxymux.token',
];

const GROUPS: ReadonlySet<string> = new Set<EndpointGroup>(['imds', 'auth', 'ocir', 'proxymux']);

export function groupOf(endpoint: EndpointName): EndpointGroup {
  return endpoint.slice(0, endpoint.indexOf('.')) as EndpointGroup;
}

interface PendingFault {
  readonly target: FaultTarget;
  readonly fault: Fault;
  remaining: number;
}

export class FaultBoard {
  readonly #counts = new Map<EndpointName, number>();
  #pending: PendingFault[] = [];
  #waiters: { readonly endpoint: EndpointName | undefined; readonly count: number; readonly resolve: () => void }[] = [];

  /** Counts a call to `endpoint` and returns the fault it must get, if any. */
  record(endpoint: EndpointName): Fault | undefined {
    this.#counts.set(endpoint, (this.#counts.get(endpoint) ?? 0) + 1);
    const reached = this.#waiters.filter((w) => this.calls(w.endpoint) >= w.count);
    this.#waiters = this.#waiters.filter((w) => !reached.includes(w));
    for (const waiter of reached) waiter.resolve();
    const pending = this.#pending.find((p) => p.target === endpoint || p.target === groupOf(endpoint));
    if (pending === undefined) return undefined;
    pending.remaining -= 1;
    if (pending.remaining === 0) this.#pending = this.#pending.filter((p) => p !== pending);
    return pending.fault;
  }

  calls(endpoint?: EndpointName): number {
    if (endpoint !== undefined) return this.#counts.get(endpoint) ?? 0;
    let total = 0;
    for (const count of this.#counts.values()) total += count;
    return total;
  }

  /** Resolves once `calls(endpoint)` reaches `count` (at once if it already has): a test waits for the event, not for time. */
  whenCalls(count: number, endpoint?: EndpointName): Promise<void> {
    if (this.calls(endpoint) >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ endpoint, count, resolve }));
  }

  resetCalls(): void {
    this.#counts.clear();
  }

  inject(target: FaultTarget, fault: Fault, times: number): void {
    if (!GROUPS.has(target) && !(ENDPOINT_NAMES as readonly string[]).includes(target)) {
      throw new TypeError(`inject: unknown endpoint ${String(target)}`);
    }
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`inject: times must be a positive integer, got ${times}`);
    validateFault(fault);
    this.#pending.push({ target, fault, remaining: times });
  }

  clear(): void {
    this.#pending = [];
  }
}

/** True once `promise` settles, false if `signal` aborts first (the emulator stopped). */
function settledOrAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    const settled = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/** How a service answers a `{status}` fault in its own error shape. */
export type StatusResponder = (exchange: Exchange, fault: StatusFault) => void;

/**
 * Plays a fault. Returns true when the exchange is finished (answered, reset, hung or
 * abandoned because the emulator stopped) and false when normal handling must follow.
 */
export async function applyFault(exchange: Exchange, fault: Fault, respond: StatusResponder): Promise<boolean> {
  if ('reset' in fault) {
    exchange.req.socket.destroy();
    return true;
  }
  if ('hang' in fault) return true; // never answered; stop() destroys the socket
  if ('latencyMs' in fault || 'until' in fault) {
    const waited = 'until' in fault ? await settledOrAborted(fault.until, exchange.signal) : await sleep(fault.latencyMs, exchange.signal);
    if (!waited) exchange.req.socket.destroy();
    return !waited;
  }
  respond(exchange, fault);
  return true;
}

/** The OCI error code for a status (oci-auth.md §8.1), for faults that carry no body of their own. */
export function ociCodeForStatus(status: number): string {
  const codes: Readonly<Record<number, string>> = {
    400: 'InvalidParameter',
    401: 'NotAuthenticated',
    403: 'NotAuthorized',
    404: 'NotAuthorizedOrNotFound',
    405: 'MethodNotAllowed',
    409: 'Conflict',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    501: 'MethodNotImplemented',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? (status >= 500 ? 'InternalServerError' : 'InvalidParameter');
}

/** The Docker registry v2 error code for a status, for faults on `/v2` endpoints. */
export function registryCodeForStatus(status: number): string {
  const codes: Readonly<Record<number, string>> = {
    401: 'UNAUTHORIZED',
    403: 'DENIED',
    404: 'NAME_UNKNOWN',
    405: 'UNSUPPORTED',
    429: 'TOOMANYREQUESTS',
    503: 'UNAVAILABLE',
  };
  return codes[status] ?? 'UNKNOWN';
}

/**
 * The responder for a service's error shape: OCI JSON for IMDS, auth and the token endpoint,
 * Docker v2 for `/v2` (what a registry client parses there). A fault's own `body` wins: a string
 * goes out as text (e.g. a proxy's HTML page), anything else as JSON.
 */
export function statusResponder(shape: 'oci' | 'registry'): StatusResponder {
  return (exchange, fault) => {
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    const message = `injected fault: HTTP ${fault.status}`;
    if (typeof fault.body === 'string') sendText(exchange, fault.status, fault.body, headers);
    else if (fault.body !== undefined) sendJson(exchange, fault.status, fault.body, headers);
    else if (shape === 'oci') sendOciError(exchange, fault.status, ociCodeForStatus(fault.status), message, headers);
    else sendRegistryError(exchange, fault.status, registryCodeForStatus(fault.status), message, headers);
  };
}

function validateFault(fault: Fault): void {
  if ('status' in fault) {
    if (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599) {
      throw new RangeError(`inject: bad status ${fault.status}`);
    }
  } else if ('latencyMs' in fault) {
    if (!(fault.latencyMs >= 0)) throw new RangeError(`inject: bad latencyMs ${fault.latencyMs}`);
  } else if ('until' in fault) {
    if (typeof (fault.until as { then?: unknown } | undefined)?.then !== 'function') throw new TypeError('inject: until must be a promise');
  }
}
