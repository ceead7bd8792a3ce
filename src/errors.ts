/**
 * The one error type of the provider. Every failure travels up to the command line as a
 * `ProviderError`, which turns it into one stderr line and an exit status. Messages never
 * carry a token, key, signature or password: callers put only hosts, statuses, OCI error
 * codes and request ids into the fields below.
 */
export type ErrorCode =
  /** The kubelet's request on stdin is not a valid CredentialProviderRequest. */
  | 'ERR_REQUEST_INVALID'
  /** The provider's own settings (YAML file, environment) are invalid. */
  | 'ERR_CONFIG_INVALID'
  /** The image's registry is neither an OCIR host nor explicitly allowed. */
  | 'ERR_REGISTRY_NOT_ALLOWED'
  /** The region could not be resolved to a realm and auth endpoint. */
  | 'ERR_REGION_UNKNOWN'
  /** IMDS did not answer, or answered with something unusable. */
  | 'ERR_IMDS'
  /** The instance certificates from IMDS are invalid or inconsistent. */
  | 'ERR_INSTANCE_CERTIFICATE'
  /** The auth service refused or failed the X.509 federation. */
  | 'ERR_FEDERATION'
  /** The OCI config file, profile or API key is unusable. */
  | 'ERR_OCI_CONFIG'
  /** The resource principal environment (`OCI_RESOURCE_PRINCIPAL_*`) is missing, inconsistent or expired. */
  | 'ERR_RESOURCE_PRINCIPAL'
  /** The kubelet's service-account token is unusable: not a JWT, without its claims, expired, or refused by the proxymux. */
  | 'ERR_SERVICE_ACCOUNT_TOKEN'
  /** OKE Workload Identity is not set up on this node or cluster, or the proxymux failed the exchange. */
  | 'ERR_WORKLOAD_IDENTITY'
  /** OCIR refused or failed the docker token request. */
  | 'ERR_OCIR_TOKEN'
  /** An HTTP call failed at the transport level (connection, timeout) after its retries. */
  | 'ERR_NETWORK'
  /** The whole exec ran out of time. */
  | 'ERR_DEADLINE'
  /** The response could not be written to stdout (the kubelet closed the pipe, or stdout is not open). */
  | 'ERR_OUTPUT'
  /** A bug: something that should not happen. */
  | 'ERR_INTERNAL';

/** Facts about a failure that help an operator; never secrets. */
export interface ErrorDetails {
  /** Host the failing call went to. */
  readonly host?: string;
  /** HTTP status of the failing answer. */
  readonly status?: number;
  /** OCI error code from the answer body, e.g. `NotAuthenticated`. */
  readonly ociCode?: string;
  /** OCI's `opc-request-id` of the failing answer, for a support ticket. */
  readonly opcRequestId?: string;
  /** How many attempts were made. */
  readonly attempts?: number;
  /** Setting, file or variable the failure is about. */
  readonly key?: string;
}

export interface ProviderErrorOptions extends ErrorDetails {
  /** What the operator should check or do, as a short imperative sentence. */
  readonly hint?: string;
  readonly cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: ProviderErrorOptions = {}) {
    const { hint, cause, ...details } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

export function isProviderError(value: unknown): value is ProviderError {
  return value instanceof ProviderError;
}

/**
 * One line for stderr: what failed, the facts in brackets, then what to check.
 * Example: `OCIR refused the docker token request for fra.ocir.io (status=401 code=NotAuthenticated
 * opc-request-id=abc); check: ...`.
 */
export function formatErrorLine(error: ProviderError): string {
  const line = describeFailure(error);
  return error.hint === undefined ? line : `${line}; check: ${error.hint}`;
}

/** `<code>: <message on one line> (host=… status=… code=… opc-request-id=… attempts=…)`, without the hint. */
export function describeFailure(error: ProviderError): string {
  const d = error.details;
  const facts = [
    d.host !== undefined ? `host=${d.host}` : '',
    d.status !== undefined ? `status=${d.status}` : '',
    d.ociCode !== undefined ? `code=${d.ociCode}` : '',
    d.opcRequestId !== undefined ? `opc-request-id=${d.opcRequestId}` : '',
    d.attempts !== undefined && d.attempts > 1 ? `attempts=${d.attempts}` : '',
  ].filter((f) => f !== '');
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  return `${error.code}: ${message}${facts.length > 0 ? ` (${facts.join(' ')})` : ''}`;
}

/**
 * A failure of a leaf (a token parser, a key loader) that knows what is wrong but not whose
 * configuration it is, so not which code or which setting to blame. Its caller maps it to a
 * `ProviderError` once, with {@link withCode}; a leaf never throws its caller's code.
 */
export class LeafFailure extends Error {
  override readonly name: string = 'LeafFailure';
  /** Advice that holds whoever the caller is; the caller may give its own instead. */
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }
}

/**
 * Runs a leaf; its `LeafFailure` becomes a `ProviderError` with the caller's code and facts, the
 * leaf's message, and the caller's hint or else the leaf's. Anything else passes through.
 */
export function withCode<T>(code: ErrorCode, run: () => T, options: ProviderErrorOptions = {}): T {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof LeafFailure)) throw error;
    throw new ProviderError(code, error.message, { ...options, hint: options.hint ?? error.hint, cause: error });
  }
}
