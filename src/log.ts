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

/** Patterns of secrets that must never reach a log: JWTs, `ST$` keyIds, signatures, PEM blocks, Basic/Bearer credentials. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g,
  /ST\$[A-Za-z0-9_.\-+/=]+/g,
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g,
  /signature="[^"]*"/gi,
  /\b(Bearer|Basic)\s+[A-Za-z0-9_.\-+/=]+/gi,
  /("?(?:password|token|access_token|pass_phrase|passphrase)"?\s*[:=]\s*)"?[^"\s,}]+"?/gi,
];

/** Replaces anything that looks like a credential with `[redacted]`. */
export function redact(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix: unknown) =>
      typeof prefix === 'string' && /[:=]\s*$/.test(prefix) ? `${prefix}[redacted]` : '[redacted]',
    );
  }
  return out;
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

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
