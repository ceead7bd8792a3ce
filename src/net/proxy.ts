import type { Env } from '../runtime.ts';

/**
 * Which proxy, if any, a request goes through, from the environment the kubelet passes (its own
 * plus the provider config's `env`): `HTTPS_PROXY` for https URLs (falling back to `HTTP_PROXY`),
 * `HTTP_PROXY` for http, lower-case spellings too, and `NO_PROXY` exceptions, as curl and undici's
 * EnvHttpProxyAgent read them. IMDS never goes through a proxy: the caller marks such requests
 * direct (IMDS is link-local, and OCI rejects IMDS requests that carry forwarding headers).
 */
export function resolveProxy(url: URL, env: Env): URL | undefined {
  const raw =
    url.protocol === 'https:'
      ? (first(env, 'HTTPS_PROXY', 'https_proxy') ?? first(env, 'HTTP_PROXY', 'http_proxy'))
      : url.protocol === 'http:'
        ? first(env, 'HTTP_PROXY', 'http_proxy')
        : undefined;
  if (raw === undefined) return undefined;
  if (bypassed(url, first(env, 'NO_PROXY', 'no_proxy') ?? '')) return undefined;
  try {
    // A proxy given without a scheme (`proxy.corp:3128`) means http, as curl reads it.
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

/** The proxy as it may appear in a log line: scheme, host and port, never credentials. */
export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

function first(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** `NO_PROXY`: comma- or space-separated hosts, `.domain` / `*.domain` suffixes, optional `:port`, `*` for everything. */
function bypassed(url: URL, noProxy: string): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  for (const entry of noProxy.split(/[,\s]+/)) {
    const item = entry.trim().toLowerCase();
    if (item === '') continue;
    if (item === '*') return true;
    const [entryHost, entryPort] = splitHostPort(item);
    const name = entryHost.replace(/^\*?\./, '');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (whose colons are not a port). */
function splitHostPort(item: string): [string, string | undefined] {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  if (bracketed !== null) return [bracketed[1] ?? '', bracketed[2]];
  const colon = item.indexOf(':');
  if (colon === -1 || colon !== item.lastIndexOf(':')) return [item, undefined];
  return [item.slice(0, colon), item.slice(colon + 1)];
}
