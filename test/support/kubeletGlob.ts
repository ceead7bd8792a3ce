/**
 * The kubelet's image matching for the test oracle, transcribed from Go rather than shared with the
 * provider (`src/kubelet/glob.ts`), so a bug there is not mirrored here. Sources:
 * `pkg/credentialprovider/keyring.go` (`ParseSchemelessURL`, `SplitURL`, `URLsMatch`), Go's
 * `net/url` (`Parse`, `parseAuthority`, `parseHost`, `unescape`, `shouldEscape` in host mode),
 * `net.SplitHostPort`, and `path/filepath.Match` (Unix). Strings are handled as code points where Go
 * handles bytes; the two differ only for a pattern that splits a multi-byte character, which no
 * registry host has. IPv6 zones (`%25` inside brackets) are not modelled and never match.
 */

/** What the kubelet keeps of `url.Parse("https://" + s)`. */
export interface ParsedUrl {
  readonly host: string;
  readonly path: string;
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/** `url.Parse("https://" + s)`, host and path only; undefined where Go returns an error. */
export function parseSchemeless(s: string): ParsedUrl | undefined {
  // stringContainsCTLByte: any byte < 0x20 or 0x7f.
  for (const c of s) if (c < ' ' || c === '\u007f') return undefined;
  const [beforeFragment, ...fragment] = s.split('#');
  if (fragment.length > 0 && unescape(fragment.join('#'), 'fragment') === undefined) return undefined;
  const rest = (beforeFragment ?? '').split('?')[0] ?? '';
  // "https:///x": Go skips the authority of a "///" URL, so the host is empty and the path keeps "//".
  if (rest.startsWith('/')) {
    const path = unescape(`//${rest}`, 'path');
    return path === undefined ? undefined : { host: '', path };
  }
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const rawPath = slash === -1 ? '' : rest.slice(slash);
  const at = authority.lastIndexOf('@');
  let hostPart = authority;
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    // validUserinfo: unreserved, sub-delims, ':' , '%', '@'.
    if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:%@]*$/.test(userinfo) || unescape(userinfo, 'userinfo') === undefined) return undefined;
    hostPart = authority.slice(at + 1);
  }
  const host = parseHost(hostPart);
  if (host === undefined) return undefined;
  const path = unescape(rawPath, 'path');
  if (path === undefined) return undefined;
  return { host, path };
}

function parseHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) return undefined;
    const colonPort = host.slice(close + 1);
    if (!/^(?::[0-9]*)?$/.test(colonPort)) return undefined;
    if (host.slice(0, close).includes('%')) return undefined; // zones: not modelled
    return unescape(host, 'host');
  }
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && !/^:[0-9]*$/.test(host.slice(colon))) return undefined;
  return unescape(host, 'host');
}

/** Go's `unescape`: `%XX` decoded as bytes; in host mode, escapes of ASCII (but `%25`) and unsafe ASCII are errors. */
function unescape(s: string, mode: 'host' | 'path' | 'userinfo' | 'fragment'): string | undefined {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < s.length; ) {
    const c = s[i] as string;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      if (mode === 'host' && parseInt(hex.charAt(0), 16) < 8 && hex !== '25') return undefined;
      bytes.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    // shouldEscape(c, encodeHost) for ASCII: everything but alnum, -._~ and !$&'()*+,;=:[]<>" .
    if (mode === 'host' && c < '\u0080' && !/[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"]/.test(c)) return undefined;
    const point = String.fromCodePoint(s.codePointAt(i) ?? 0);
    bytes.push(...encoder.encode(point));
    i += point.length;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** `net.SplitHostPort`, or undefined on its error (the kubelet then keeps the whole host and no port). */
function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  const colon = hostport.lastIndexOf(':');
  if (colon < 0) return undefined; // missing port
  let host: string;
  let from = 0;
  let to = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return undefined;
    if (end + 1 === hostport.length || hostport[end + 1] !== ':' || end + 1 !== colon) return undefined;
    host = hostport.slice(1, end);
    from = 1;
    to = end + 1;
  } else {
    host = hostport.slice(0, colon);
    if (host.includes(':')) return undefined; // too many colons
  }
  if (hostport.slice(from).includes('[') || hostport.slice(to).includes(']')) return undefined;
  return { host, port: hostport.slice(colon + 1) };
}

function splitUrl(url: ParsedUrl): { labels: string[]; port: string } {
  const split = splitHostPort(url.host);
  return split === undefined ? { labels: url.host.split('.'), port: '' } : { labels: split.host.split('.'), port: split.port };
}

/** `URLsMatchStr(glob, target)`; a parse error or a bad pattern is no match, as the kubelet treats it. */
export function kubeletUrlsMatch(glob: string, target: string): boolean {
  const g = parseSchemeless(glob);
  const t = parseSchemeless(target);
  if (g === undefined || t === undefined) return false;
  const gs = splitUrl(g);
  const ts = splitUrl(t);
  if (gs.port !== ts.port || gs.labels.length !== ts.labels.length) return false;
  if (!t.path.startsWith(g.path)) return false;
  return gs.labels.every((label, i) => filepathMatch(label, ts.labels[i] ?? '') === true);
}

class BadPattern extends Error {}

/** `path/filepath.Match` on Unix; undefined for `ErrBadPattern`. */
export function filepathMatch(pattern: string, name: string): boolean | undefined {
  try {
    return match([...pattern], [...name]);
  } catch (error) {
    if (error instanceof BadPattern) return undefined;
    throw error;
  }
}

function match(pattern: string[], name: string[]): boolean {
  let p = pattern;
  let n = name;
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) return !n.includes('/');
    const here = matchChunk(chunk, n);
    if (here !== undefined && (here.length === 0 || p.length > 0)) {
      n = here;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const skipped = matchChunk(chunk, n.slice(i + 1));
        if (skipped !== undefined) {
          if (p.length === 0 && skipped.length > 0) continue;
          n = skipped;
          continue outer;
        }
      }
    }
    // Before answering false, the rest of the pattern must still be well formed.
    while (p.length > 0) {
      const next = scanChunk(p);
      p = next.rest;
      matchChunk(next.chunk, []);
    }
    return false;
  }
  return n.length === 0;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let p = pattern;
  let star = false;
  while (p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (i + 1 < p.length) i++;
    } else if (c === '[') inRange = true;
    else if (c === ']') inRange = false;
    else if (c === '*' && !inRange) break;
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

/** `matchChunk`: the rest of `s` after the chunk, undefined when it does not match; throws BadPattern. */
function matchChunk(chunkIn: string[], sIn: string[]): string[] | undefined {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0];
    if (c === '[') {
      let r = '';
      if (!failed) {
        r = s[0] as string;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let matched = false;
      let ranges = 0;
      for (;;) {
        if (chunk[0] === ']' && ranges > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        chunk = lo.rest;
        let hi = lo.char;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1));
          hi = h.char;
          chunk = h.rest;
        }
        const point = r.codePointAt(0) ?? -1;
        if ((lo.char.codePointAt(0) ?? 0) <= point && point <= (hi.codePointAt(0) ?? 0)) matched = true;
        ranges++;
      }
      if (matched === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) throw new BadPattern();
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? undefined : s;
}

function getEsc(chunkIn: string[]): { char: string; rest: string[] } {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPattern();
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) throw new BadPattern();
  }
  const char = chunk[0] as string;
  const rest = chunk.slice(1);
  if (rest.length === 0) throw new BadPattern();
  return { char, rest };
}
