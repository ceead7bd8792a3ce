/**
 * Go's `time.ParseDuration`, transcribed for the test oracle from Go's `time/format.go`
 * (`ParseDuration`, `leadingInt`, `leadingFraction`, `unitMap`) and its documentation: "a possibly
 * signed sequence of decimal numbers, each with optional fraction and a unit suffix, such as
 * "300ms", "-1.5h" or "2h45m". Valid time units are "ns", "us" (or "µs"), "ms", "s", "m", "h"."
 *
 * Written apart from `src/kubelet/duration.ts` on purpose: the oracle that judges the provider's
 * `cacheDuration` must not share the code it judges. Arithmetic is in BigInt as Go's is in uint64.
 */

const UNIT_NS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // U+00B5 MICRO SIGN
  ['\u03bcs', 1_000n], // U+03BC GREEK SMALL LETTER MU
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60n * 1_000_000_000n],
  ['h', 3_600n * 1_000_000_000n],
]);
const LIMIT = 1n << 63n;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Go's `leadingInt`: the digits at the start; an error (undefined) once the value passes 1<<63. */
function leadingInt(s: string): { value: bigint; rest: string } | undefined {
  let x = 0n;
  let i = 0;
  for (; isDigit(s[i]); i++) {
    if (x > LIMIT / 10n) return undefined;
    x = x * 10n + BigInt(Number(s[i]));
    if (x > LIMIT) return undefined;
  }
  return { value: x, rest: s.slice(i) };
}

/** Go's `leadingFraction`: digits after the dot; past int64 precision the rest is skipped, not an error. */
function leadingFraction(s: string): { value: bigint; scale: number; rest: string } {
  let x = 0n;
  let scale = 1;
  let overflow = false;
  let i = 0;
  for (; isDigit(s[i]); i++) {
    if (overflow) continue;
    if (x > (LIMIT - 1n) / 10n) {
      overflow = true;
      continue;
    }
    const y = x * 10n + BigInt(Number(s[i]));
    if (y > LIMIT) {
      overflow = true;
      continue;
    }
    x = y;
    scale *= 10;
  }
  return { value: x, scale, rest: s.slice(i) };
}

/** Nanoseconds as Go would return them, or undefined where Go returns an error. */
export function parseGoDurationNs(text: string): bigint | undefined {
  let s = text;
  let negative = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) return undefined;
    const before = s.length;
    const int = leadingInt(s);
    if (int === undefined) return undefined;
    let value = int.value;
    s = int.rest;
    const hadInt = before !== s.length;
    let fraction = 0n;
    let scale = 1;
    let hadFraction = false;
    if (s[0] === '.') {
      s = s.slice(1);
      const afterDot = s.length;
      const frac = leadingFraction(s);
      fraction = frac.value;
      scale = frac.scale;
      s = frac.rest;
      hadFraction = afterDot !== s.length;
    }
    if (!hadInt && !hadFraction) return undefined; // ".s" or "."
    let end = 0;
    while (end < s.length && !(s[end] === '.' || isDigit(s[end]))) end++;
    if (end === 0) return undefined; // missing unit
    const unit = UNIT_NS.get(s.slice(0, end));
    if (unit === undefined) return undefined; // unknown unit
    s = s.slice(end);
    if (value > LIMIT / unit) return undefined;
    value *= unit;
    if (fraction > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale)), float64 arithmetic truncated.
      value += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (value > LIMIT) return undefined;
    }
    total += value;
    if (total > LIMIT) return undefined;
  }
  if (negative) return -total;
  if (total > LIMIT - 1n) return undefined;
  return total;
}

/** {@link parseGoDurationNs} as a JS number of nanoseconds (exact up to about 104 days). */
export function parseGoDuration(text: string): number | undefined {
  const ns = parseGoDurationNs(text);
  return ns === undefined ? undefined : Number(ns);
}
