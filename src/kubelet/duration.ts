/**
 * Go `time.Duration.String()` for whole seconds. The kubelet decodes `cacheDuration` with
 * `time.ParseDuration` (`apimachinery/pkg/apis/meta/v1/duration.go`) and Kubernetes itself writes
 * durations in this form (`"5m0s"`, `"1h0m0s"`), so emitting exactly it keeps the response
 * readable next to the kubelet's own logs and config.
 */

const SECOND_MS = 1000;
const MINUTE_S = 60;
const HOUR_S = 3600;

/**
 * The largest whole number of seconds a Go `time.Duration` (int64 nanoseconds) holds:
 * 2562047h47m16s. Anything longer would overflow `time.ParseDuration` and make the kubelet
 * reject the whole response, so longer inputs are clamped to it.
 */
export const MAX_GO_DURATION_SECONDS = 9_223_372_036;

/**
 * Formats `ms` like Go's `time.Duration.String()` after flooring to whole seconds: `"0s"`,
 * `"45s"`, `"59m0s"`, `"1h0m0s"`, `"25h0m0s"` (Go has no day unit, so hours grow without bound).
 * Negative, zero, sub-second and NaN inputs give `"0s"` (the kubelet's "do not cache");
 * +Infinity and values above {@link MAX_GO_DURATION_SECONDS} are clamped to that maximum.
 */
export function formatGoDuration(ms: number): string {
  if (Number.isNaN(ms) || ms < SECOND_MS) return '0s';
  const total = Math.min(Math.floor(ms / SECOND_MS), MAX_GO_DURATION_SECONDS);
  const hours = Math.floor(total / HOUR_S);
  const minutes = Math.floor((total % HOUR_S) / MINUTE_S);
  const seconds = total % MINUTE_S;
  // Go prints the larger units only when the value reaches them, and then every smaller unit.
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

const NS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  '\u00B5s': 1_000n, // µ MICRO SIGN
  '\u03BCs': 1_000n, // μ GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const TWO_63 = 1n << 63n;
const isDigitChar = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or a bare `0`. Returns the
 * duration in nanoseconds (a JS number: exact up to about 104 days, close beyond), or undefined
 * where Go returns an error: empty, a missing or unknown unit (`"1"`, `"1d"`, `"1H"`), spaces,
 * or a value outside int64 nanoseconds (beyond about 2562047h).
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigitChar(s[0]))) return undefined;
    // Integer part (Go: leadingInt, an error past 1<<63).
    let whole = 0n;
    let i = 0;
    for (; isDigitChar(s[i]); i++) {
      if (whole > TWO_63 / 10n) return undefined;
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > TWO_63) return undefined;
    }
    const hadWhole = i > 0;
    s = s.slice(i);
    // Fraction (Go: leadingFraction, which stops adding precision instead of overflowing).
    let fraction = 0n;
    let scale = 1;
    let hadFraction = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let overflow = false;
      let j = 0;
      for (; isDigitChar(s[j]); j++) {
        if (overflow) continue;
        if (fraction > (TWO_63 - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const next = fraction * 10n + BigInt(s.charCodeAt(j) - 48);
        if (next > TWO_63) {
          overflow = true;
          continue;
        }
        fraction = next;
        scale *= 10;
      }
      hadFraction = j > 0;
      s = s.slice(j);
    }
    if (!hadWhole && !hadFraction) return undefined;
    // Unit: everything up to the next digit or '.'.
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigitChar(s[u])) u++;
    if (u === 0) return undefined;
    const unit = Object.hasOwn(NS_PER_UNIT, s.slice(0, u)) ? NS_PER_UNIT[s.slice(0, u)] : undefined;
    if (unit === undefined) return undefined;
    s = s.slice(u);
    if (whole > TWO_63 / unit) return undefined;
    let v = whole * unit;
    if (fraction > 0n) {
      // float64 arithmetic, truncated toward zero, exactly as Go does it.
      v += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (v > TWO_63) return undefined;
    }
    total += v;
    if (total > TWO_63) return undefined;
  }
  if (negative) return -Number(total);
  if (total > TWO_63 - 1n) return undefined;
  return Number(total);
}
