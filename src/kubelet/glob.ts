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

interface SchemelessUrl {
  readonly labels: readonly string[];
  readonly port: string;
  readonly path: string;
}

/** Parses `host[:port][/path]` like Go's `url.Parse("https://" + s)`; undefined when Go would fail. */
export function parseSchemelessUrl(value: string): SchemelessUrl | undefined {
  // Go's url.Parse rejects control characters and spaces anywhere in the URL.
  if (/[\u0000-\u0020\u007f]/.test(value)) return undefined;
  const end = value.search(/[?#]/);
  const withoutQuery = end === -1 ? value : value.slice(0, end);
  const slash = withoutQuery.indexOf('/');
  let authority = slash === -1 ? withoutQuery : withoutQuery.slice(0, slash);
  const path = slash === -1 ? '' : withoutQuery.slice(slash);
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  if (authority.startsWith('[')) return undefined; // IPv6 literals: no OCIR host is one
  let host = authority;
  let port = '';
  const colon = authority.lastIndexOf(':');
  if (colon !== -1) {
    port = authority.slice(colon + 1);
    host = authority.slice(0, colon);
    // Go validates the port as digits only; anything else is a parse error.
    if (!/^[0-9]*$/.test(port)) return undefined;
    // net.SplitHostPort fails on "a:b:c"; the kubelet then keeps the whole host and no port.
    if (host.includes(':')) return { labels: authority.split('.'), port: '', path };
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(host) || /%(?![0-9A-Fa-f]{2})/.test(path)) return undefined;
  return { labels: host.split('.'), port, path };
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
        if (step.matched && s[si] !== '/') {
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
