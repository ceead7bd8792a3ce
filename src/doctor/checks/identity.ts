import type { Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type { HttpClient } from '../../net/http.ts';
import { locateOciConfig } from '../../oci/configFile.ts';
import type { Identity } from '../../oci/identity.ts';
import { createImdsClient } from '../../oci/imds.ts';
import { fromApiKeyProfile, OCI_CLI_PROFILE_ENV } from '../../oci/principals/apiKey.ts';
import { federateInstancePrincipal } from '../../oci/principals/instance.ts';
import type { RegionInfo } from '../../oci/regions.ts';
import type { Clock, Env, FileReader } from '../../runtime.ts';
import { describeError } from '../describeError.ts';
import { fail, pass, skip, type Outcome } from '../types.ts';
import { fromResourcePrincipalEnv } from '../../oci/principals/resourcePrincipal.ts';

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
 * Who the provider signs as: a fresh instance-principal federation (never the shared cache, so
 * this proves the live path), or the API key of the OCI config profile. Shows names, not secrets.
 */
export async function checkIdentity(input: IdentityInput): Promise<Outcome<Identity>> {
  try {
    if (input.settings.ocirAuthMethod === 'USER_PRINCIPAL') {
      const identity = await fromApiKeyProfile({ env: input.env, files: input.files, homeDir: input.homeDir, clock: input.clock })();
      const profile = input.env[OCI_CLI_PROFILE_ENV]?.trim() || 'DEFAULT';
      const file = locateOciConfig({ env: input.env, homeDir: input.homeDir }).path;
      const tenancy = identity.tenancyId === undefined ? '' : `, tenancy ${identity.tenancyId}`;
      return pass(IDENTITY_CHECK, `USER_PRINCIPAL ${identity.principal}${tenancy} (profile [${profile}] of ${file})`, identity);
    }
    if (input.settings.ocirAuthMethod === 'RESOURCE_PRINCIPAL') {
      const identity = await fromResourcePrincipalEnv({ env: input.env, files: input.files, clock: input.clock })();
      const tenancy = identity.tenancyId === undefined ? '' : `, tenancy ${identity.tenancyId}`;
      return pass(IDENTITY_CHECK, `RESOURCE_PRINCIPAL ${identity.principal}${tenancy} (OCI_RESOURCE_PRINCIPAL_* v2.2)`, identity);
    }
    if (input.settings.ocirAuthMethod !== 'INSTANCE_PRINCIPAL') {
      // A principal this check does not know how to load: say so rather than test the wrong one.
      return skip(IDENTITY_CHECK, `skipped: doctor cannot check ${String(input.settings.ocirAuthMethod)} yet`);
    }
    const session = await federateInstancePrincipal({
      imds: createImdsClient({ http: input.http, env: input.env }),
      http: input.http,
      clock: input.clock,
      env: input.env,
      regionMetadata: input.regionMetadata,
      log: input.log,
    });
    const instance = session.principal.replace(/^instance:/, '');
    const detail = `federated: tenancy ${session.tenancyId}, instance ${instance}, session until ${new Date(session.expiresAtMs).toISOString()}`;
    return pass(IDENTITY_CHECK, detail, session);
  } catch (error) {
    const { detail, fix } = describeError(error);
    return fail(IDENTITY_CHECK, detail, fix);
  }
}
