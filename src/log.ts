import { appendFileSync, openSync, closeSync } from 'node:fs';

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
  /** Optional file that receives the same lines; created 0600. */
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
  // Not after a word character: the error code ERR_OCIR_TOKEN is no `token:` field, and its message must survive.
  /((?<!\w)"?(?:password|token|access_token|pass_phrase|passphrase)"?\s*[:=]\s*)"?[^"\s,}]+"?/gi,
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
  if (init.file !== undefined) {
    // Create the file with 0600 before the first append so a token-adjacent log is never world-readable.
    closeSync(openSync(init.file, 'a', 0o600));
  }
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) > threshold) return;
    const line = redact(`${new Date(now()).toISOString()} ${level} ${message}${formatFields(fields)}`);
    init.write(`${line}\n`);
    if (init.file !== undefined) {
      try {
        appendFileSync(init.file, `${line}\n`, { mode: 0o600 });
      } catch {
        // A full or read-only disk must not fail a pull; stderr still has the line.
      }
    }
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
