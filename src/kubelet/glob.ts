/**
 * The kubelet's image matching (`pkg/credentialprovider/keyring.go` `URLsMatch`), used for
 * `matchImages` and for `auth` keys. Reimplemented exactly, because a pattern that the kubelet
 * would not match (or would) is a silent anonymous pull:
 * - both sides are parsed as `https://<s>`; host and port are split; ports must be string-equal
 *   (no default-port folding: `reg.io` never equals `reg.io:443`);
 * - hosts are split on `.` and must have the same number of labels (`*` covers one label);
 * - the target path must start with the pattern path (plain string prefix);
 * - each label pair must satisfy Go `filepath.Match` (case-sensitive; malformed means no match).
 */

/** A pattern or image as the kubelet sees it after `url.Parse("https://" + s)`. */
export interface SchemelessUrl {
  /** Go's `url.Host`: percent-decoded, with the port (`reg.io:5000`). */
  readonly host: string;
  /** The host split on `.` after `net.SplitHostPort` (the whole host when that fails). */
  readonly labels: readonly string[];
  /** The port, or `''` when there is none or `net.SplitHostPort` fails. */
  readonly port: string;
  /** Go's `url.Path`: percent-decoded, `''` when absent. */
  readonly path: string;
}

/**
 * Parses `host[:port][/path]` like Go's `url.Parse("https://" + s)` followed by the kubelet's
 * `SplitURL`; undefined when Go would fail (the kubelet then treats the pair as "no match" and
 * drops such an `auth` key). IPv6 literals (`[::1]`) are refused: no OCIR host is one.
 */
export function parseSchemelessUrl(value: string): SchemelessUrl | undefined {
  // Go's url.Parse rejects ASCII control characters anywhere; a space fails only in the host.
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  // The fragment is cut first and only its escapes are checked; the query is cut unchecked.
  const hash = value.indexOf('#');
  if (hash !== -1 && percentDecode(value.slice(hash + 1)) === undefined) return undefined;
  const beforeFragment = hash === -1 ? value : value.slice(0, hash);
  const question = beforeFragment.indexOf('?');
  const rest = question === -1 ? beforeFragment : beforeFragment.slice(0, question);
  const slash = rest.indexOf('/');
  let authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = percentDecode(slash === -1 ? '' : rest.slice(slash));
  if (path === undefined) return undefined;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo) || percentDecode(userinfo) === undefined) return undefined;
    authority = authority.slice(at + 1);
  }
  if (authority.startsWith('[')) return undefined;
  const colon = authority.lastIndexOf(':');
  // Go validates the port as digits only (possibly none); anything else is a parse error.
  if (colon !== -1 && !/^[0-9]*$/.test(authority.slice(colon + 1))) return undefined;
  const host = decodeHost(authority);
  if (host === undefined) return undefined;
  const { hostname, port } = splitHostPort(host);
  return { host, labels: hostname.split('.'), port, path };
}

/**
 * Go's `unescape(s, encodeHost)`: ASCII that a host may not hold unescaped (space, `\\`, `^`,
 * backtick, `{`, `|`, `}`) is an error, and `%XX` may only encode non-ASCII bytes (or be `%25`).
 */
function decodeHost(authority: string): string | undefined {
  if (/[ \\^`{|}]/.test(authority)) return undefined;
  for (let i = authority.indexOf('%'); i !== -1; i = authority.indexOf('%', i + 1)) {
    const escape = authority.slice(i, i + 3);
    if (!/^%[0-9A-Fa-f]{2}$/.test(escape)) return undefined;
    if (parseInt(escape.charAt(1), 16) < 8 && escape !== '%25') return undefined;
  }
  return percentDecode(authority);
}

/**
 * `net.SplitHostPort` as the kubelet's `SplitURL` uses it: on any error (no colon, a second colon,
 * a bracket) the whole host is kept and the port is empty.
 */
function splitHostPort(host: string): { hostname: string; port: string } {
  const colon = host.lastIndexOf(':');
  if (colon === -1) return { hostname: host, port: '' };
  const hostname = host.slice(0, colon);
  if (hostname.includes(':') || /[[\]]/.test(host)) return { hostname: host, port: '' };
  return { hostname, port: host.slice(colon + 1) };
}

/** Decodes `%XX` escapes as UTF-8 bytes; undefined for a malformed escape, as Go's `unescape`. */
function percentDecode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; ) {
    if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const char = String.fromCodePoint(text.codePointAt(i) ?? 0);
      bytes.push(...encoder.encode(char));
      i += char.length;
    }
  }
  // Go keeps undecodable bytes as they are; they can only come from a pattern nobody writes.
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** True when `pattern` (a matchImages entry or auth key without scheme) matches `target`. */
export function urlsMatch(pattern: string, target: string): boolean {
  const glob = parseSchemelessUrl(pattern);
  const image = parseSchemelessUrl(target);
  if (glob === undefined || image === undefined) return false;
  if (glob.port !== image.port) return false;
  if (glob.labels.length !== image.labels.length) return false;
  if (!image.path.startsWith(glob.path)) return false;
  return glob.labels.every((label, i) => filepathMatch(label, image.labels[i] ?? '') === true);
}

/**
 * Go `path/filepath.Match` on Unix: `*` any run of non-`/` characters, `?` one character,
 * `[...]` classes with ranges and `^` negation, `\` escapes. Returns undefined for a malformed
 * pattern (Go's ErrBadPattern), which the kubelet treats as no match.
 */
export function filepathMatch(pattern: string, name: string): boolean | undefined {
  const p = [...pattern];
  const s = [...name];
  // Iterative matcher with backtracking over the last star, as in Go.
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length) {
      const c = p[pi];
      if (c === '*') {
        starP = pi++;
        starS = si;
        continue;
      }
      if (c !== '/' || s[si] === '/') {
        const step = matchOne(p, pi, s[si] ?? '');
        if (step === undefined) return undefined;
        // `?` and classes never match the separator; a literal `/` in the pattern does (Go: a*/b matches abc/b).
        if (step.matched && (s[si] !== '/' || p[pi] === '/')) {
          pi = step.next;
          si++;
          continue;
        }
      }
    }
    if (starP !== -1 && s[starS] !== '/') {
      pi = starP + 1;
      si = ++starS;
      continue;
    }
    // Go still reports a malformed remainder of the pattern as an error.
    return validateRest(p, pi) ? false : undefined;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  if (pi === p.length) return true;
  return validateRest(p, pi) ? false : undefined;
}

/** Matches one pattern element (literal, `?`, escape or class) at `pi` against `ch`. */
function matchOne(p: string[], pi: number, ch: string): { matched: boolean; next: number } | undefined {
  const c = p[pi];
  if (c === '?') return { matched: ch !== '/', next: pi + 1 };
  if (c === '\\') {
    if (pi + 1 >= p.length) return undefined;
    return { matched: p[pi + 1] === ch, next: pi + 2 };
  }
  if (c !== '[') return { matched: c === ch, next: pi + 1 };
  let i = pi + 1;
  let negated = false;
  if (p[i] === '^') {
    negated = true;
    i++;
  }
  let matched = false;
  let first = true;
  for (;;) {
    if (i >= p.length) return undefined;
    if (p[i] === ']' && !first) {
      i++;
      break;
    }
    first = false;
    const lo = readClassChar(p, i);
    if (lo === undefined) return undefined;
    i = lo.next;
    let hi = lo;
    if (p[i] === '-') {
      const h = readClassChar(p, i + 1);
      if (h === undefined) return undefined;
      hi = h;
      i = h.next;
    }
    if (lo.ch <= ch && ch <= hi.ch) matched = true;
  }
  return { matched: matched !== negated, next: i };
}

function readClassChar(p: string[], i: number): { ch: string; next: number } | undefined {
  const c = p[i];
  if (c === undefined || c === '-' || c === ']') return undefined;
  if (c === '\\') {
    const e = p[i + 1];
    return e === undefined ? undefined : { ch: e, next: i + 2 };
  }
  return { ch: c, next: i + 1 };
}

function validateRest(p: string[], pi: number): boolean {
  let i = pi;
  while (i < p.length) {
    if (p[i] === '*') {
      i++;
      continue;
    }
    const step = matchOne(p, i, '');
    if (step === undefined) return false;
    i = step.next;
  }
  return true;
}
