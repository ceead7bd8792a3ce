import type { AuthMethod } from '../../config/settings.ts';
import type { HttpClient } from '../../net/http.ts';
import { createImdsClient } from '../../oci/imds.ts';
import {
  createRegionTable,
  parseImdsRegionInfo,
  regionMetadataFromSources,
  resolveRegion,
  type RegionInfo,
  type RegionMetadataSources,
} from '../../oci/regions.ts';
import type { Env } from '../../runtime.ts';
import { describeError } from '../describeError.ts';
import { pass, type Outcome } from '../types.ts';

const NAME = 'IMDS';

/** The node's region, and the region metadata the provider would federate with. */
export interface NodeRegion {
  readonly region: RegionInfo;
  readonly regionMetadata: readonly RegionInfo[];
}

export interface ImdsInput {
  readonly http: HttpClient;
  readonly env: Env;
  /** `~/.oci/regions-config.json` and `OCI_REGION_METADATA`, as the provider reads them. */
  readonly regionSources: RegionMetadataSources;
  readonly authMethod: AuthMethod;
}

/**
 * Asks IMDS for the region, as federation does, and resolves it to a realm (through IMDS
 * `regionInfo` for a region newer than this build). Only the instance principal needs IMDS, so for
 * the others an unreachable IMDS is a warning that only costs the region-based checks.
 */
export async function checkImds(input: ImdsInput): Promise<Outcome<NodeRegion>> {
  const imds = createImdsClient({ http: input.http, env: input.env });
  try {
    let regionMetadata = regionMetadataFromSources(input.regionSources);
    const answer = await imds.region();
    if (createRegionTable(regionMetadata).lookup(answer) === undefined) {
      regionMetadata = [...regionMetadata, parseImdsRegionInfo(await imds.regionInfo())];
    }
    const region = resolveRegion(answer, createRegionTable(regionMetadata));
    const detail = `${imds.baseUrl} answered region ${answer} (${region.regionId}, realm ${region.realmKey})`;
    return pass(NAME, detail, { region, regionMetadata });
  } catch (error) {
    const { detail, fix } = describeError(error);
    if (input.authMethod !== 'INSTANCE_PRINCIPAL') {
      const why = `not needed by ${input.authMethod}, but the region-based checks are skipped`;
      return { result: { name: NAME, status: 'warn', detail: `${detail}; ${why}`, fix: fix ?? 'pass an image to doctor' } };
    }
    return { result: { name: NAME, status: 'fail', detail, fix: fix ?? 'the instance metadata service must answer at 169.254.169.254' } };
  }
}
