import type { Settings } from '../../config/settings.ts';
import type { ImageReference } from '../../kubelet/image.ts';
import { formatFields, type LogFields, type Logger } from '../../log.ts';
import type { HttpClient } from '../../net/http.ts';
import { probeRepositoryAccess } from '../../ocir/accessProbe.ts';
import type { DockerToken } from '../../ocir/dockerToken.ts';
import { fail, pass, type Outcome } from '../types.ts';

export const ACCESS_CHECK = 'repository access';

export interface AccessInput {
  readonly image: ImageReference;
  readonly token: DockerToken;
  /** Who the token was issued to (`instance:<ocid>`), so the IAM fix names what the policy must match. */
  readonly principal: string;
  /** Who signed, for the IAM fix: instance principals need a dynamic group, API keys a user group. */
  readonly authMethod: Settings['ocirAuthMethod'];
  readonly protocol: Settings['registryProtocol'];
  readonly http: HttpClient;
  readonly log: Logger;
}

/**
 * OCIR issues a docker token to any authenticated principal; the IAM policy is only applied when
 * the repository is read. So this reads the manifest, as a pull does: 200 or 404 means allowed.
 */
export async function checkRepositoryAccess(input: AccessInput): Promise<Outcome<true>> {
  const { image } = input;
  const target = `${image.registry}/${image.repository}`;
  // The probe reports why it could not decide through its logger; keep that for the report.
  let said: string | undefined;
  const capture = (message: string, fields?: LogFields) => {
    said = `${message}${formatFields(fields)}`;
  };
  const log: Logger = {
    ...input.log,
    warn: (message, fields) => {
      capture(message, fields);
      input.log.warn(message, fields);
    },
  };
  const verdict = await probeRepositoryAccess(input.http, log, {
    registry: image.registry,
    protocol: input.protocol,
    repository: image.repository,
    reference: image.digest ?? image.tag ?? 'latest',
    token: input.token.token,
  });
  if (verdict === 'authorized') return pass(ACCESS_CHECK, `the token can read ${target}`, true);
  if (verdict === 'denied') {
    return fail(ACCESS_CHECK, `OCIR refused to let ${input.principal} read ${target}: the IAM policy "read repos" is missing or not in effect yet`, iamFix(input.authMethod));
  }
  return fail(ACCESS_CHECK, `could not tell whether the token can read ${target}: ${said ?? 'no answer'}`, 'retry; check that OCIR is reachable from the node');
}

function iamFix(method: Settings['ocirAuthMethod']): string {
  const subject =
    method === 'INSTANCE_PRINCIPAL'
      ? 'dynamic-group <group-matching-this-instance>'
      : method === 'USER_PRINCIPAL'
        ? 'group <group-of-the-API-key-user>'
        : '<the principal above>';
  return `add the policy "Allow ${subject} to read repos in tenancy" (or "in compartment <repos-compartment>"); see docs/iam.md; new policies can take minutes to apply`;
}
