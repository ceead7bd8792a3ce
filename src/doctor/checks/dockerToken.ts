import type { Settings } from '../../config/settings.ts';
import type { HttpClient } from '../../net/http.ts';
import type { Identity } from '../../identity/types.ts';
import { fetchDockerToken, type DockerToken } from '../../ocir/dockerToken.ts';
import { recognizeRegistry, type RegistryPolicy } from '../../ocir/hosts.ts';
import type { Clock } from '../../runtime.ts';
import { describeError } from '../describeError.ts';
import { fail, pass, type Outcome } from '../types.ts';

const NAME = 'docker token';
const MINUTE_MS = 60_000;

export interface DockerTokenInput {
  readonly registry: string;
  readonly identity: Identity;
  readonly settings: Settings;
  readonly policy: RegistryPolicy;
  readonly http: HttpClient;
  readonly clock: Clock;
}

/** The provider's own refusal first (not an OCIR host), then the signed token request. The token itself is never shown. */
export async function checkDockerToken(input: DockerTokenInput): Promise<Outcome<DockerToken>> {
  if (recognizeRegistry(input.registry, input.policy) === undefined) {
    return fail(
      NAME,
      `${input.registry} is not an OCIR host: the provider refuses to sign for it`,
      'use an OCIR host (<region>.ocir.io), or allow this registry with registryHosts / REGISTRY_HOSTS',
    );
  }
  try {
    const token = await fetchDockerToken(input.http, input.clock, {
      registry: input.registry,
      protocol: input.settings.registryProtocol,
      tokenPath: input.settings.registryTokenPath,
      identity: input.identity,
    });
    const minutes = Math.round((token.expiresAtMs - input.clock.now()) / MINUTE_MS);
    return pass(NAME, `${input.registry} issued a docker token for ${input.identity.principal}, valid ${minutes} min`, token);
  } catch (error) {
    const { detail, fix } = describeError(error);
    return fail(NAME, detail, fix);
  }
}
