import { describe, expect, test } from 'bun:test';
import { formatGoDuration, MAX_GO_DURATION_SECONDS, parseGoDuration as providerParse } from '../../src/kubelet/duration.ts';
import { parseGoDuration, parseGoDuration as oracleParse } from '../support/goDuration.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('formatGoDuration writes what Go time.Duration.String() writes', () => {
  // Literal outputs of Go's (time.Duration(n) * time.Second).String().
  const cases: ReadonlyArray<readonly [ms: number, go: string]> = [
    [0, '0s'],
    [1 * S, '1s'],
    [45 * S, '45s'],
    [59 * S, '59s'],
    [60 * S, '1m0s'],
    [61 * S, '1m1s'],
    [59 * M, '59m0s'],
    [59 * M + 59 * S, '59m59s'],
    [H, '1h0m0s'],
    [H + S, '1h0m1s'],
    [H + 59 * M + S, '1h59m1s'],
    [24 * H, '24h0m0s'],
    [25 * H, '25h0m0s'],
    [1000 * H + 1 * M, '1000h1m0s'],
    [MAX_GO_DURATION_SECONDS * S, '2562047h47m16s'],
  ];
  for (const [ms, go] of cases) {
    test(`${ms} ms → ${go}`, () => expect(formatGoDuration(ms)).toBe(go));
  }

  test('floors to whole seconds', () => {
    expect(formatGoDuration(999)).toBe('0s');
    expect(formatGoDuration(1999)).toBe('1s');
    expect(formatGoDuration(H - 1)).toBe('59m59s');
    expect(formatGoDuration(0.5)).toBe('0s');
  });

  test('negative and NaN give "0s"; past Go\'s range it clamps to the largest duration', () => {
    expect(formatGoDuration(-1)).toBe('0s');
    expect(formatGoDuration(-H)).toBe('0s');
    expect(formatGoDuration(-Infinity)).toBe('0s');
    expect(formatGoDuration(Number.NaN)).toBe('0s');
    expect(formatGoDuration(Infinity)).toBe('2562047h47m16s');
    expect(formatGoDuration(1e30)).toBe('2562047h47m16s');
    expect(formatGoDuration((MAX_GO_DURATION_SECONDS + 1) * S)).toBe('2562047h47m16s');
  });

  test('round trip through Go\'s grammar: parseGoDuration(formatGoDuration(s)) is s', () => {
    const seconds: number[] = [];
    for (let s = 0; s <= 7300; s++) seconds.push(s);
    for (let s = 7300; s < MAX_GO_DURATION_SECONDS; s = Math.floor(s * 1.37) + 11) seconds.push(s);
    seconds.push(MAX_GO_DURATION_SECONDS);
    for (const s of seconds) {
      const text = formatGoDuration(s * S);
      expect(text).toMatch(/^(?:[1-9]\d*h(?:[0-9]|[1-5][0-9])m(?:[0-9]|[1-5][0-9])s|[1-9]\d?m(?:[0-9]|[1-5][0-9])s|(?:[0-9]|[1-5][0-9])s)$/);
      expect(parseGoDuration(text)).toBe(s * 1e9);
    }
  });
});

// Both parsers answer to Go's table: the provider's (execTimeout, doctor's defaultCacheDuration) and
// the test oracle's (which judges cacheDuration and is written apart from the provider's on purpose).
for (const [name, parseGoDuration] of [['the provider', providerParse], ['the test oracle', oracleParse]] as const) describe(`${name}: parseGoDuration is Go time.ParseDuration`, () => {
  const accepted: ReadonlyArray<readonly [string, number]> = [
    ['0', 0],
    ['+0', 0],
    ['-0', 0],
    ['0s', 0],
    ['0h0m0s', 0],
    ['1ns', 1],
    ['1us', 1e3],
    ['1\u00B5s', 1e3], // µ MICRO SIGN
    ['1\u03BCs', 1e3], // μ GREEK SMALL LETTER MU
    ['300ms', 3e8],
    ['1s', 1e9],
    ['1.s', 1e9],
    ['1.5h', 5.4e12],
    ['.5h', 1.8e12],
    ['1h30m', 5.4e12],
    ['+10m', 6e11],
    ['-5m', -3e11],
    ['-1s', -1e9],
    ['1h0m0s', 3.6e12],
    ['3540s', 3.54e12],
    ['25h0m0s', 9e13],
    ['1m1m', 1.2e11], // units may repeat
    ['1s1h', 3.601e12], // and come in any order
    ['0.1ns', 0], // fractions below the unit truncate
    ['1.0000000001s', 1e9],
    ['1.9ns', 1],
    ['0.1234567890123456789012345s', 123456789], // digits past int64 precision are dropped
    ['2562047h', 2562047 * 3.6e12],
    ['2562047h47m16.854775807s', 9223372036854775807],
    ['9223372036854775807ns', 9223372036854775807],
    ['-9223372036854775808ns', -9223372036854775808],
    ['-2562047h47m16.854775808s', -9223372036854775808],
  ];
  for (const [text, ns] of accepted) {
    test(`accepts ${JSON.stringify(text)}`, () => expect(parseGoDuration(text)).toBe(ns));
  }

  const refused = [
    '',
    '1',
    '10',
    '00',
    '1d',
    '1H',
    '1S',
    '1Ms',
    ' 1h',
    '1h ',
    '1 h',
    'h',
    's',
    '-',
    '+',
    '.',
    '.s',
    '-.s',
    '1.2.3s',
    '1e3s',
    '--1s',
    '+-1s',
    '1s-',
    '1hour',
    '1m1',
    'infinity',
    'NaN',
    '1_000s',
    '2562048h',
    '9223372036854775808ns',
    '2562047h47m16.854775808s',
    '-9223372036854775809ns',
    '99999999999999999999999h',
  ];
  for (const text of refused) {
    test(`refuses ${JSON.stringify(text)}`, () => expect(parseGoDuration(text)).toBeUndefined());
  }
});

test('the provider and the oracle agree on every short string over Go duration characters', () => {
  const alphabet = ['0', '1', '9', '.', 'h', 'm', 's', 'n', 'u', '\u00b5', '-', '+'];
  const strings = [''];
  for (let length = 1; length <= 4; length++) {
    for (const prefix of strings.filter((s) => s.length === length - 1)) for (const c of alphabet) strings.push(prefix + c);
  }
  const disagreements = strings.filter((s) => providerParse(s) !== oracleParse(s));
  expect(disagreements).toEqual([]);
});
