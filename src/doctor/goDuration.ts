const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Go `time.ParseDuration` in nanoseconds, undefined where Go returns an error: the kubelet reads
 * `defaultCacheDuration` with it, and a value it cannot parse stops the kubelet.
 */
export function parseGoDuration(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  const rest = text.startsWith('-') || text.startsWith('+') ? text.slice(1) : text;
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  for (let at = 0; at < rest.length; at = part.lastIndex) {
    part.lastIndex = at;
    const match = part.exec(rest);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_NS[match[2] ?? ''] ?? Number.NaN);
  }
  return sign * total;
}
