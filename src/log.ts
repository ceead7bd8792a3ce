import { createLogFileSink } from './fs/logFileSink.ts';

/**
 * Levelled logger for stderr (and optionally a 0600 file). The kubelet shows a plugin's stderr
 * only when the exec fails, appended to its own log line, so stderr is the operator's channel and
 * must never carry a secret: every line goes through `redact` before it is written.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

export interface LoggerInit {
  /** Most verbose level written. */
  readonly level: LogLevel;
  /** Where lines go (stderr in production). */
  readonly write: (line: string) => void;
  /** Optional file that receives the same lines: opened on the first line, 0600, never through a symlink (see `createLogFileSink`). */
  readonly file?: string;
  readonly now?: () => number;
}

/**
 * Shapes that can only be secrets: PEM blocks, `ST$` keyIds, JWTs, signatures, and an
 * Authorization value that looks like a credential (not the word after "Bearer" in a sentence).
 */
const SECRET_SHAPES: readonly RegExp[] = [
  /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g,
  /ST\$[A-Za-z0-9_.\-+/=]+/g,
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g,
  /signature="[^"]*"/gi,
];

/** `Bearer x`/`Basic x`: redacted when x looks like a credential, kept when it is a word ("Bearer tokens."). */
const AUTHORIZATION = /\b(Bearer|Basic)(\s+)([A-Za-z0-9_.\-+/=]+)/gi;
const looksLikeCredential = (value: string): boolean => value.length >= 20 || (value.length >= 4 && /[0-9_\-+/=.]/.test(value));

/** A `password=…`/`"token": "…"` field: only in text from outside, where such a field can hold a secret. */
const SECRET_FIELD = /("?\b(?:password|passwd|token|access_token|refresh_token|secret|pass_phrase|passphrase|private_key|key_content)"?\s*[:=]\s*)("[^"]*"|[^"\s,}]+)/gi;

/**
 * The last-resort scrub of every finished line: replaces what can only be a secret with
 * `[redacted]` and leaves words alone, so our own messages (`ERR_OCIR_TOKEN: OCIR refused…`) read
 * as written. Text from outside is cleaned where it enters, with {@link redactOutside}.
 */
export function redact(text: string): string {
  let out = text;
  for (const pattern of SECRET_SHAPES) out = out.replace(pattern, '[redacted]');
  return out.replace(AUTHORIZATION, (match, _scheme: string, _space: string, value: string) => {
    const word = value.replace(/\.+$/, '');
    return looksLikeCredential(word) ? `[redacted]${value.slice(word.length)}` : match;
  });
}

const MAX_OUTSIDE_CHARS = 200;

/**
 * Text that came from outside (a response body, an OCI error message, a file, a header, a request
 * field) made fit for a log line: secret shapes and `password=`/`token:` values redacted, control
 * characters and line breaks folded to spaces (one line, no terminal escapes), at most `maxChars`.
 */
export function redactOutside(text: string, maxChars = MAX_OUTSIDE_CHARS): string {
  const oneLine = redact(text).replace(SECRET_FIELD, '$1[redacted]').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return oneLine.length > maxChars ? `${oneLine.slice(0, maxChars)}…` : oneLine;
}

export function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

export function createLogger(init: LoggerInit): Logger {
  const threshold = LOG_LEVELS.indexOf(init.level);
  const now = init.now ?? Date.now;
  const stamp = (level: LogLevel, message: string): string => redact(`${new Date(now()).toISOString()} ${level} ${message}`);
  // The warning about an unusable file goes to stderr whatever the level: the operator asked for the file.
  const toFile = init.file === undefined ? undefined : createLogFileSink(init.file, (problem) => init.write(`${stamp('warn', problem)}\n`));
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) > threshold) return;
    const line = stamp(level, `${message}${formatFields(fields)}`);
    init.write(`${line}\n`);
    toFile?.(`${line}\n`);
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
  };
}

