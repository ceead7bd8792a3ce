import { ProviderError } from '../errors.ts';
import { redactOutside } from '../log.ts';
import { NAME_MAX_CHARS, plainImage, type PlainImage } from './plainImage.ts';

/**
 * The image the kubelet asks about, split into the parts the provider needs. The kubelet sends
 * `distribution/reference` `ParseNormalizedNamed(...).Name()` (`pkg/util/parsers/parsers.go`):
 * `<registry>/<repository>` with no tag and no digest. A tag and a digest are tolerated so the
 * same parser serves `get-credentials` on the command line.
 */
export interface ImageReference extends PlainImage {
  /** `v1` in `host/repo:v1`. */
  readonly tag?: string;
  /** `sha256:<hex>` in `host/repo@sha256:<hex>`. */
  readonly digest?: string;
}

/** The tag grammar `[\w][\w.-]{0,127}`. */
const TAG_MAX_CHARS = 128;
/** Digest algorithms `go-digest` can verify, with their hex lengths; others fail `digest.Parse`. */
const DIGEST_HEX_CHARS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
/** Error messages quote at most this much of the image, so a huge input stays a short line. */
const QUOTE_MAX_CHARS = 120;
const PART_MAX_CHARS = 40;

/**
 * Splits and validates `image` against the `distribution/reference` grammar (hand-written
 * scanners, linear in the input; the one regex, for the common form, runs on at most 255
 * characters). Throws `ERR_REQUEST_INVALID` naming
 * the offending part: no `/`, an empty segment, whitespace or control characters, upper case in
 * the repository, a bad host, port, tag or digest, or a first segment that is not a registry host
 * (the kubelet always sends the normalized `docker.io/library/nginx`, never `library/nginx`).
 */
export function parseImage(image: string): ImageReference {
  return plainImage(image) ?? scanImage(image);
}

/** `parseImage` by the full grammar, one character at a time, with a message for each way a name can be wrong. */
export function scanImage(image: string): ImageReference {
  const fail = (reason: string): never => {
    throw new ProviderError('ERR_REQUEST_INVALID', `image ${quote(image)} ${reason}`, {
      hint: 'the kubelet sends a normalized image name such as fra.ocir.io/<namespace>/<repository>',
    });
  };
  if (image.length === 0) fail('is empty');
  for (let i = 0; i < image.length; i++) {
    const code = image.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) fail(`contains whitespace or a control character at offset ${i}`);
    if (code > 0x7e) fail(`contains a non-ASCII character at offset ${i}`);
  }

  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem !== undefined) fail(problem);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A colon after the last slash starts the tag; one before it belongs to the registry's port.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    const problem = tagProblem(tag);
    if (problem !== undefined) fail(problem);
  }

  if (rest.length > NAME_MAX_CHARS) fail(`has a name longer than ${NAME_MAX_CHARS} characters`);
  const slash = rest.indexOf('/');
  if (slash === -1) fail('has no "/": it needs a registry part, as in <registry>/<repository>');
  const registry = rest.slice(0, slash);
  const repository = rest.slice(slash + 1);
  if (registry.length === 0) fail('has an empty registry part');
  const registryProblem = hostProblem(registry);
  if (registryProblem !== undefined) fail(registryProblem);
  // distribution's splitDockerDomain reads a first segment without '.' or ':' that is not
  // "localhost" and is all lower case as a Docker Hub namespace, so a normalized name never
  // starts with one: `library/nginx` would mean `docker.io/library/nginx`.
  if (!/[.:A-Z]/.test(registry) && registry !== 'localhost') {
    fail(`does not start with a registry host (${part(registry)} has no "." or ":"); the kubelet sends normalized names such as docker.io/library/nginx`);
  }
  for (const segment of repository.split('/')) {
    const problem = pathComponentProblem(segment);
    if (problem !== undefined) fail(problem);
  }

  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** A part of the image for a message: JSON-quoted (control characters escaped) and bounded. */
function quote(part: string, maxChars = QUOTE_MAX_CHARS): string {
  // The image comes from the pod spec: whatever it holds is cleaned before it reaches a log line.
  return JSON.stringify(redactOutside(part, maxChars));
}

/** Quotes a piece of an already quoted image, more tightly bounded. */
const part = (text: string): string => quote(text, PART_MAX_CHARS);

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isLower = (c: string): boolean => c >= 'a' && c <= 'z';
const isUpper = (c: string): boolean => c >= 'A' && c <= 'Z';
const isAlnum = (c: string): boolean => isDigit(c) || isLower(c) || isUpper(c);
const isHex = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

/** `host [':' port]` with `host := domain-name | '[' IPv6 ']'`. */
function hostProblem(registry: string): string | undefined {
  let host = registry;
  let port: string | undefined;
  if (registry.startsWith('[')) {
    const close = registry.indexOf(']');
    if (close === -1) return 'has an unclosed "[" in its registry';
    const inside = registry.slice(1, close);
    if (inside.length === 0 || ![...inside].every((c) => isHex(c) || c === ':')) {
      return 'has an invalid IPv6 address in its registry';
    }
    const after = registry.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) return 'has characters after the IPv6 address in its registry';
      port = after.slice(1);
    }
  } else {
    const colon = registry.indexOf(':');
    if (colon !== -1) {
      host = registry.slice(0, colon);
      port = registry.slice(colon + 1);
    }
    for (const label of host.split('.')) {
      if (label.length === 0) return `has an empty label in its registry host ${part(host)}`;
      if (![...label].every((c) => isAlnum(c) || c === '-')) {
        return `has an invalid character in its registry host ${part(host)} (allowed: letters, digits, "-" and ".")`;
      }
      if (label.startsWith('-') || label.endsWith('-')) {
        return `has a registry host label starting or ending with "-" (${part(label)})`;
      }
    }
  }
  if (port !== undefined && (port.length === 0 || ![...port].every(isDigit))) {
    return `has an invalid port ${part(port)} in its registry (digits only)`;
  }
  return undefined;
}

/** `path-component := [a-z0-9]+ (separator [a-z0-9]+)*` with `separator := [_.] | __ | [-]+`. */
function pathComponentProblem(segment: string): string | undefined {
  if (segment.length === 0) return 'has an empty path segment';
  const upper = [...segment].find(isUpper);
  if (upper !== undefined) {
    return `has an upper-case letter in its repository path (${part(segment)}); repository paths are lower-case`;
  }
  const shape =
    `has an invalid repository path segment ${part(segment)}: use lower-case letters and digits, ` +
    'separated by one ".", one or two "_", or any number of "-"';
  let i = 0;
  for (;;) {
    const start = i;
    while (i < segment.length && (isLower(segment[i] ?? '') || isDigit(segment[i] ?? ''))) i++;
    if (i === start) return shape;
    if (i === segment.length) return undefined;
    const c = segment[i];
    if (c === '.') i++;
    else if (c === '_') i += segment[i + 1] === '_' ? 2 : 1;
    else if (c === '-') while (segment[i] === '-') i++;
    else return shape;
  }
}

/** `tag := [\w][\w.-]{0,127}`. */
function tagProblem(tag: string): string | undefined {
  const word = (c: string): boolean => isAlnum(c) || c === '_';
  const valid =
    tag.length > 0 &&
    tag.length <= TAG_MAX_CHARS &&
    word(tag[0] ?? '') &&
    [...tag].every((c) => word(c) || c === '.' || c === '-');
  return valid ? undefined : `has an invalid tag ${part(tag)} (1 to ${TAG_MAX_CHARS} of letters, digits, "_", "." and "-", not starting with "." or "-")`;
}

/** `algorithm:hex` for an algorithm `go-digest` knows, with its exact lower-case hex length. */
function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  const algorithm = colon === -1 ? digest : digest.slice(0, colon);
  const hex = colon === -1 ? '' : digest.slice(colon + 1);
  const length = Object.hasOwn(DIGEST_HEX_CHARS, algorithm) ? DIGEST_HEX_CHARS[algorithm] : undefined;
  if (colon === -1 || length === undefined) {
    return `has an unsupported digest ${part(digest)} (expected sha256:, sha384: or sha512: and hex)`;
  }
  const valid = hex.length === length && [...hex].every((c) => isDigit(c) || (c >= 'a' && c <= 'f'));
  return valid ? undefined : `has an invalid ${algorithm} digest (expected ${length} lower-case hex characters)`;
}
