import type { Logger } from './log.ts';

/**
 * A logger that drops everything: the default of the cache layer, the warm answer's, and tests'.
 * Its own module, so that a warm exec does not load the logger's redaction patterns and file sink
 * (`log.ts`) to say nothing.
 */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
