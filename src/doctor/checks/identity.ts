import { createMemo, memoryBackend } from '../../cache/memo.ts';
import type { Settings } from '../../config/settings.ts';
import { nodeSigner } from '../../identity/resolveSigner.ts';
import type { Identity } from '../../identity/types.ts';
import type { Logger } from '../../log.ts';
import { readBootId } from '../../machine.ts';
import type { HttpClient } from '../../net/http.ts';
import { locateOciConfig } from '../../oci/configFile.ts';
import type { RegionInfo } from '../../oci/regions.ts';
import type { Clock, Env, FileReader } from '../../runtime.ts';
import { describeError } from '../describeError.ts';
import { fail, pass, type Outcome } from '../types.ts';

export const IDENTITY_CHECK = 'identity';

export interface IdentityInput {
  readonly settings: Settings;
  readonly env: Env;
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly files: FileReader;
  readonly homeDir: string | undefined;
  /** From the IMDS check; required for the instance principal. */
  readonly regionMetadata: readonly RegionInfo[];
}

/**
 * Who the provider signs as, resolved exactly as the plugin does but with a memory-only cache, so
 * an instance principal is freshly federated (this proves the live path, not the shared cache).
 * Shows names, not secrets.
 */
export async function checkIdentity(input: IdentityInput): Promise<Outcome<Identity>> {
  try {
    const memo = createMemo({ open: memoryBackend, log: input.log });
    const signer = await nodeSigner({ ...input, memo, bootId: readBootId });
    const identity = await signer.identity();
    const tenancy = identity.tenancyId === undefined ? '' : `, tenancy ${identity.tenancyId}`;
    const method = input.settings.ocirAuthMethod;
    if (method === 'USER_PRINCIPAL') {
      const profile = input.env.OCI_CLI_PROFILE?.trim() || 'DEFAULT';
      const file = locateOciConfig({ env: input.env, homeDir: input.homeDir }).path;
      return pass(IDENTITY_CHECK, `USER_PRINCIPAL ${identity.principal}${tenancy} (profile [${profile}] of ${file})`, identity);
    }
    if (method === 'RESOURCE_PRINCIPAL') {
      return pass(IDENTITY_CHECK, `RESOURCE_PRINCIPAL ${identity.principal}${tenancy} (OCI_RESOURCE_PRINCIPAL_* v2.2)`, identity);
    }
    const instance = identity.principal.replace(/^instance:/, '');
    const until = identity.expiresAtMs === undefined ? '' : `, session until ${new Date(identity.expiresAtMs).toISOString()}`;
    return pass(IDENTITY_CHECK, `federated: tenancy ${identity.tenancyId ?? 'unknown'}, instance ${instance}${until}`, identity);
  } catch (error) {
    const { detail, fix } = describeError(error);
    return fail(IDENTITY_CHECK, detail, fix);
  }
}
