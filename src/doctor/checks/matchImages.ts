import { urlsMatch } from '../../kubelet/glob.ts';
import type { ImageReference } from '../../kubelet/image.ts';
import type { RegionInfo } from '../../oci/regions.ts';
import { ocirHostsForRegion } from '../../ocir/hosts.ts';
import { fail, pass, skip, type Outcome } from '../types.ts';

const NAME = 'matchImages';

export interface MatchImagesInput {
  readonly patterns: readonly string[];
  /** The node's region, when IMDS told it. */
  readonly region: RegionInfo | undefined;
  readonly image: ImageReference | undefined;
}

/**
 * Whether the kubelet would run the provider at all: an image no entry matches is pulled
 * anonymously, and nothing says why. Checks every OCIR host form of the node's region, and the image.
 */
export function checkMatchImages(input: MatchImagesInput): Outcome<true> {
  if (input.region === undefined && input.image === undefined) return skip(NAME, 'needs the node region (IMDS) or an image');
  const matches = (target: string) => input.patterns.some((pattern) => urlsMatch(pattern, target));
  const matched: string[] = [];
  if (input.image !== undefined) {
    // The kubelet matches the normalized name it pulls: registry and repository, no tag or digest.
    const name = `${input.image.registry}/${input.image.repository}`;
    if (!matches(name)) {
      return fail(NAME, `no entry matches ${name}: the kubelet pulls it without running the provider`, `add "${input.image.registry}" to matchImages and restart the kubelet`);
    }
    matched.push(name);
  }
  if (input.region === undefined) return pass(NAME, `matched: ${matched.join(', ')}`, true);
  const region = input.region.regionId;
  const hosts = ocirHostsForRegion(input.region);
  const missed = hosts.filter((host) => !matches(`${host}/namespace/repository`));
  const fix = 'use the matchImages of deploy/credential-provider-config.yaml (one entry per host shape) and restart the kubelet';
  // Entries scoped to a namespace miss the bare hosts; when the given image is matched, that is only a warning.
  if (missed.length === hosts.length && matched.length === 0) {
    return fail(NAME, `no entry matches the registries of region ${region} (${hosts.join(', ')})`, fix);
  }
  matched.push(...hosts.filter((host) => !missed.includes(host)));
  if (missed.length > 0) {
    const detail = `matched: ${matched.join(', ')}; no entry matches: ${missed.join(', ')} (region ${region})`;
    return { result: { name: NAME, status: 'warn', detail, fix }, value: true };
  }
  return pass(NAME, `matched: ${matched.join(', ')} (every registry host of region ${region})`, true);
}
