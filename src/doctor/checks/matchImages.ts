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
  if (input.image !== undefined) {
    // The kubelet matches the normalized name it pulls: registry and repository, no tag or digest.
    const name = `${input.image.registry}/${input.image.repository}`;
    if (!matches(name)) {
      return fail(NAME, `no entry matches ${name}: the kubelet pulls it without running the provider`, `add "${input.image.registry}" to matchImages and restart the kubelet`);
    }
  }
  const imageNote = input.image === undefined ? '' : `${input.image.registry}/${input.image.repository} and `;
  if (input.region === undefined) return pass(NAME, `${imageNote.replace(/ and $/, '')} is matched`, true);
  const hosts = ocirHostsForRegion(input.region);
  const missed = hosts.filter((host) => !matches(`${host}/namespace/repository`));
  const fix = 'use the matchImages of deploy/credential-provider-config.yaml (one entry per host shape) and restart the kubelet';
  if (missed.length === hosts.length) {
    return fail(NAME, `no entry matches the registries of region ${input.region.regionId} (${hosts.join(', ')})`, fix);
  }
  if (missed.length > 0) {
    return {
      result: { name: NAME, status: 'warn', detail: `${imageNote}some hosts of region ${input.region.regionId} are matched, but not ${missed.join(', ')}`, fix },
      value: true,
    };
  }
  return pass(NAME, `${imageNote}every registry host of region ${input.region.regionId} is matched (${hosts.join(', ')})`, true);
}
