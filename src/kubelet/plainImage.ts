/**
 * The kubelet's everyday image name, matched in one step: what a warm exec needs of `image.ts`,
 * without the full grammar's scanners and messages.
 */

/** An image's registry and repository; `ImageReference` (`image.ts`) adds a tag and a digest. */
export interface PlainImage {
  /** Everything before the first `/`, exactly as sent: `fra.ocir.io`, `registry.local:5000`. */
  readonly registry: string;
  /** The path after the registry, lower-case: `ns/repo`, `team/app`. */
  readonly repository: string;
}

/** `reference.NameTotalLengthMax`: the registry plus the repository. */
export const NAME_MAX_CHARS = 255;

/**
 * The kubelet's everyday name, `host[:port]/path` in lower case with no tag or digest, matched in
 * one step; undefined for anything else. A subset of what `scanImage` accepts, split the same way
 * (a test holds the two to that), so a warm exec does not walk the grammar one character at a time.
 */
export function plainImage(image: string): PlainImage | undefined {
  if (image.length > NAME_MAX_CHARS) return undefined;
  const match = PLAIN_NAME.exec(image);
  const registry = match?.[1];
  const repository = match?.[2];
  if (registry === undefined || repository === undefined) return undefined;
  return registry.includes('.') || registry.includes(':') || registry === 'localhost' ? { registry, repository } : undefined;
}

/** Lower-case host labels (no leading or trailing "-"), an optional port, then path components with their separators. Bounded input, no overlapping quantifiers. */
const PLAIN_NAME =
  /^((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]+)?)\/([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)$/;
