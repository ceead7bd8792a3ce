/**
 * A small JSON reader for the request on stdin. `JSON.parse` would do for well-formed input, but
 * its errors quote the input (which may hold a service-account token) and cannot tell "truncated"
 * from "trailing data", and it silently keeps the last of two duplicate keys. This reader reports
 * what went wrong and where, by offset only, and lists duplicate keys so the caller can refuse
 * ambiguous input.
 */

/** A parsed JSON value. Objects have a null prototype, so `__proto__` is an ordinary key. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** A parsed JSON object (null prototype). */
export interface JsonObject {
  readonly [key: string]: JsonValue | undefined;
}

/** Why a document was refused. */
export type JsonProblem =
  /** Nothing but JSON whitespace. */
  | 'empty'
  /** A character that cannot appear where it does. */
  | 'syntax'
  /** The input ends inside a value. */
  | 'truncated'
  /** Something other than JSON whitespace follows the first value. */
  | 'trailing'
  /** Nested deeper than {@link MAX_JSON_DEPTH}. */
  | 'too-deep'
  /** A `\u` escape that is half of a UTF-16 surrogate pair without its other half. */
  | 'lone-surrogate';

/** A key that appears more than once in one object. */
export interface DuplicateKey {
  /** Keys (and array indexes) leading from the document root to the object holding `key`. */
  readonly path: readonly string[];
  readonly key: string;
}

export type JsonReadResult =
  | { readonly ok: true; readonly value: JsonValue; readonly duplicateKeys: readonly DuplicateKey[] }
  | { readonly ok: false; readonly problem: JsonProblem; readonly offset: number };

/** The request nests two levels deep; this leaves room for future fields and bounds recursion. */
export const MAX_JSON_DEPTH = 512;

/** Internal: unwinds the recursive reader to `readJsonDocument`, which turns it into a result. */
class Refusal extends Error {
  readonly problem: JsonProblem;
  readonly offset: number;
  constructor(problem: JsonProblem, offset: number) {
    super(problem);
    this.problem = problem;
    this.offset = offset;
  }
}

const isWhitespace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Reads `text` as exactly one JSON value (RFC 8259) with optional JSON whitespace (space, tab,
 * LF, CR) around it. Never throws; never echoes the input.
 */
export function readJsonDocument(text: string): JsonReadResult {
  let i = 0;
  const duplicateKeys: DuplicateKey[] = [];

  // End of input inside a value is "truncated"; any other unexpected character is "syntax".
  const refuse = (): Refusal => new Refusal(i >= text.length ? 'truncated' : 'syntax', i);
  const skipWhitespace = (): void => {
    while (isWhitespace(text[i])) i++;
  };
  const expect = (c: string): void => {
    if (text[i] !== c) throw refuse();
    i++;
  };

  const readHex4 = (): number => {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const c = text[i];
      if (c === undefined) throw refuse();
      const d = parseInt(c, 16);
      if (Number.isNaN(d)) throw refuse();
      n = n * 16 + d;
      i++;
    }
    return n;
  };

  const readString = (): string => {
    expect('"');
    let out = '';
    let start = i;
    for (;;) {
      const c = text[i];
      if (c === undefined) throw refuse();
      if (c === '"') {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < ' ') throw refuse(); // raw control characters must be escaped
      if (c !== '\\') {
        i++;
        continue;
      }
      out += text.slice(start, i);
      const escapeAt = i;
      i++;
      const e = text[i];
      if (e === undefined) throw refuse();
      if (e === 'u') {
        i++;
        const unit = readHex4();
        if (unit >= 0xdc00 && unit <= 0xdfff) throw new Refusal('lone-surrogate', escapeAt);
        if (unit >= 0xd800 && unit <= 0xdbff) {
          if (text[i] !== '\\' || text[i + 1] !== 'u') throw new Refusal('lone-surrogate', escapeAt);
          i += 2;
          const low = readHex4();
          if (low < 0xdc00 || low > 0xdfff) throw new Refusal('lone-surrogate', escapeAt);
          out += String.fromCharCode(unit, low);
        } else {
          out += String.fromCharCode(unit);
        }
      } else {
        const decoded = ESCAPES[e];
        if (decoded === undefined) throw refuse();
        out += decoded;
        i++;
      }
      start = i;
    }
  };

  const readDigits = (): void => {
    if (!isDigit(text[i])) throw refuse();
    while (isDigit(text[i])) i++;
  };

  const readNumber = (): number => {
    const start = i;
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else readDigits();
    if (text[i] === '.') {
      i++;
      readDigits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      readDigits();
    }
    return Number(text.slice(start, i));
  };

  const readLiteral = <T>(word: string, value: T): T => {
    for (const c of word) {
      if (text[i] !== c) throw refuse();
      i++;
    }
    return value;
  };

  const readValue = (depth: number, path: readonly string[]): JsonValue => {
    if (depth > MAX_JSON_DEPTH) throw new Refusal('too-deep', i);
    const c = text[i];
    if (c === '{') {
      i++;
      const object: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
      skipWhitespace();
      if (text[i] === '}') {
        i++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        const key = readString();
        skipWhitespace();
        expect(':');
        skipWhitespace();
        const value = readValue(depth + 1, [...path, key]);
        if (key in object) duplicateKeys.push({ path, key });
        object[key] = value;
        skipWhitespace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect('}');
        return object;
      }
    }
    if (c === '[') {
      i++;
      const array: JsonValue[] = [];
      skipWhitespace();
      if (text[i] === ']') {
        i++;
        return array;
      }
      for (;;) {
        skipWhitespace();
        array.push(readValue(depth + 1, [...path, String(array.length)]));
        skipWhitespace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect(']');
        return array;
      }
    }
    if (c === '"') return readString();
    if (c === 't') return readLiteral('true', true);
    if (c === 'f') return readLiteral('false', false);
    if (c === 'n') return readLiteral('null', null);
    if (c === '-' || isDigit(c)) return readNumber();
    throw refuse();
  };

  try {
    skipWhitespace();
    if (i === text.length) return { ok: false, problem: 'empty', offset: i };
    const value = readValue(0, []);
    skipWhitespace();
    if (i !== text.length) return { ok: false, problem: 'trailing', offset: i };
    return { ok: true, value, duplicateKeys };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, problem: error.problem, offset: error.offset };
    throw error;
  }
}

/** `null`, `an array`, `a string`... for messages about a value's JSON type (never its content). */
export function describeJsonType(value: JsonValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return 'an object';
  }
}

/** True for a parsed JSON object (not an array, not null). */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
