import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from '../../nodeCrypto.ts';
import { isAbsolute } from 'node:path';
import { ProviderError, withCode } from '../../errors.ts';
import { errnoCode } from '../../errno.ts';
import { systemClock, type Clock, type Env, type FileReader } from '../../runtime.ts';
import type { Identity, IdentityProvider } from '../types.ts';
import { decodeJwtClaims, readSessionLifetime, type JwtClaims } from '../../oci/jwt.ts';
import { loadPrivateKey } from '../../oci/keys.ts';

/**
 * Resource principal v2.2 (oci-auth.md §6.1): the environment names a resource principal session
 * token (RPST) and its private key, each either the value itself or an absolute path to a file
 * holding it. Requests are signed as `ST$<rpst>` with that key. Whatever runs the provider (a
 * Functions-like runtime, a wrapper) keeps the files fresh; file mode is re-read near expiry.
 *
 * `OCI_RESOURCE_PRINCIPAL_REGION` is not read: the SDKs need it to pick service endpoints, while the
 * provider signs only for the registry host named by the image.
 */
export const RP_VERSION_ENV = 'OCI_RESOURCE_PRINCIPAL_VERSION';
export const RP_RPST_ENV = 'OCI_RESOURCE_PRINCIPAL_RPST';
export const RP_PRIVATE_PEM_ENV = 'OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM';
export const RP_PASSPHRASE_ENV = 'OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE';
/** The only version read here; 1.1, 2.1.x and 3.0 have other shapes (a federation endpoint, a leaf certificate). */
export const SUPPORTED_RP_VERSION = '2.2';

export interface ResourcePrincipalInit {
  readonly env: Env;
  readonly files: FileReader;
  /** To refuse an expired RPST and to know when to re-read; defaults to the system clock. */
  readonly clock?: Clock;
}

/**
 * The resource principal as an {@link IdentityProvider}: the environment and its files are read at
 * every call (once per exec, twice after OCIR refused a token), so a token refreshed in place is
 * always picked up. Every problem is an `ERR_RESOURCE_PRINCIPAL` naming the variable, never its value.
 */
export function fromResourcePrincipalEnv(init: ResourcePrincipalInit): IdentityProvider {
  const clock = init.clock ?? systemClock;
  return () => loadResourcePrincipal(init, clock);
}

/**
 * Who the resource principal is, from its token's claims (the resource and its tenancy), so cached
 * credentials follow the identity, not the variable or file that named it.
 */
export async function resourcePrincipalKey(init: ResourcePrincipalInit): Promise<string> {
  const { claims } = await readRpst(init);
  const who = whoOf(claims);
  return `resource:${who.tenancyId ?? ''}/${who.resource}`;
}

interface RpstSetting {
  readonly rpst: string;
  readonly rpstIsPath: boolean;
  readonly source: string;
  readonly claims: JwtClaims;
}

async function readRpst(init: ResourcePrincipalInit): Promise<RpstSetting> {
  const version = init.env[RP_VERSION_ENV]?.trim();
  if (version === undefined || version === '') {
    throw rpError(`${RP_VERSION_ENV} is not set`, RP_VERSION_ENV, `OCIR_AUTH_METHOD=RESOURCE_PRINCIPAL reads the RP v${SUPPORTED_RP_VERSION} environment: set ${RP_VERSION_ENV}=${SUPPORTED_RP_VERSION}, ${RP_RPST_ENV} and ${RP_PRIVATE_PEM_ENV}`);
  }
  if (version !== SUPPORTED_RP_VERSION) {
    throw rpError(`${RP_VERSION_ENV} is ${JSON.stringify(version)}; only ${SUPPORTED_RP_VERSION} is supported`, RP_VERSION_ENV, `provide an RP v${SUPPORTED_RP_VERSION} environment (an RPST and its private key)`);
  }
  const rpstSetting = required(init.env, RP_RPST_ENV);
  const rpstIsPath = isAbsolute(rpstSetting);
  const rpst = (rpstIsPath ? await readSetting(init.files, rpstSetting, RP_RPST_ENV) : rpstSetting).trim();
  const source = rpstIsPath ? `the RPST in ${rpstSetting} (${RP_RPST_ENV})` : `the RPST in ${RP_RPST_ENV}`;
  if (rpst === '') throw rpError(`${source} is empty`, RP_RPST_ENV, 'whatever provisions the resource principal must write the token there');
  return { rpst, rpstIsPath, source, claims: readClaims(rpst, source) };
}

function whoOf(claims: JwtClaims): { resource: string; tenancyId: string | undefined } {
  return { resource: stringClaim(claims, 'res_id') ?? claims.sub ?? 'unknown', tenancyId: stringClaim(claims, 'res_tenant') ?? claims.tenant };
}

async function loadResourcePrincipal(init: ResourcePrincipalInit, clock: Clock): Promise<Identity> {
  const { rpst, rpstIsPath, source, claims } = await readRpst(init);
  const pemSetting = required(init.env, RP_PRIVATE_PEM_ENV);
  const passphraseSetting = optional(init.env, RP_PASSPHRASE_ENV);
  const pemIsPath = isAbsolute(pemSetting);
  if (passphraseSetting !== undefined && isAbsolute(passphraseSetting) !== pemIsPath) {
    // Go and TS refuse the mix too: a value that happens to start with "/" must not be read as a file, or vice versa.
    throw rpError(
      `${RP_PASSPHRASE_ENV} must be the same kind as ${RP_PRIVATE_PEM_ENV}: ${pemIsPath ? 'the PEM is a path, the passphrase is a value' : 'the PEM is a value, the passphrase is a path'}`,
      RP_PASSPHRASE_ENV,
      'give both as absolute file paths, or both as values',
    );
  }
  const lifetime = readSessionLifetime(claims, clock.now());
  if ('unusable' in lifetime) {
    throw rpError(
      `${source} ${lifetime.unusable}`,
      RP_RPST_ENV,
      rpstIsPath ? 'whatever provisions the resource principal must write a current token to that file' : `pass ${RP_RPST_ENV} as a file path so a refreshed token is picked up`,
    );
  }
  const { expiresAtMs } = lifetime;

  const pem = pemIsPath ? await readSetting(init.files, pemSetting, RP_PRIVATE_PEM_ENV) : pemSetting;
  const passphrase =
    passphraseSetting === undefined ? undefined : pemIsPath ? (await readSetting(init.files, passphraseSetting, RP_PASSPHRASE_ENV)).trim() : passphraseSetting;
  const privateKey = loadKey(pem, passphrase, pemIsPath ? `${pemSetting} (${RP_PRIVATE_PEM_ENV})` : RP_PRIVATE_PEM_ENV);
  if (!keyMatchesJwk(privateKey, claims)) {
    // OCIR would answer 401 with nothing more to say; this names the mix-up.
    throw rpError(`${RP_PRIVATE_PEM_ENV} is not the key ${source} was issued for (its jwk claim names another key)`, RP_PRIVATE_PEM_ENV, 'provide the private key and RPST of the same session');
  }
  const { resource, tenancyId } = whoOf(claims);
  return {
    keyId: `ST$${rpst}`,
    privateKey,
    principal: `resource:${resource}`,
    ...(tenancyId === undefined ? {} : { tenancyId }),
    expiresAtMs,
  };
}

function readClaims(rpst: string, source: string): JwtClaims {
  return withCode('ERR_RESOURCE_PRINCIPAL', () => decodeJwtClaims(rpst, source), {
    key: RP_RPST_ENV,
    hint: `${RP_RPST_ENV} must hold the RPST itself or an absolute path to a file holding it`,
  });
}

function loadKey(pem: string, passphrase: string | undefined, source: string): KeyObject {
  // This principal's variables to check, not the config file's keys.
  return withCode('ERR_RESOURCE_PRINCIPAL', () => loadPrivateKey(pem, { passphrase, source }), {
    key: RP_PRIVATE_PEM_ENV,
    hint: `check ${RP_PRIVATE_PEM_ENV} (an RSA private key in PEM) and ${RP_PASSPHRASE_ENV} if it is encrypted`,
  });
}

/** Whether the key is the one in the RPST's `jwk` claim; true when the claim is absent or unreadable (then OCIR decides). */
function keyMatchesJwk(privateKey: KeyObject, claims: JwtClaims): boolean {
  if (claims.jwk === undefined) return true;
  let claimed: { n?: unknown; e?: unknown };
  try {
    claimed = JSON.parse(claims.jwk) as { n?: unknown; e?: unknown };
  } catch {
    return true;
  }
  if (typeof claimed.n !== 'string' || typeof claimed.e !== 'string') return true;
  const own = nodeCrypto().createPublicKey(privateKey).export({ format: 'jwk' });
  return own.n === claimed.n && own.e === claimed.e;
}

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') {
    throw rpError(`${name} is not set`, name, `the RP v${SUPPORTED_RP_VERSION} environment needs ${RP_RPST_ENV} and ${RP_PRIVATE_PEM_ENV} (values, or absolute paths to files)`);
  }
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

async function readSetting(files: FileReader, path: string, variable: string): Promise<string> {
  try {
    return await files.readText(path);
  } catch (cause) {
    const code = errnoCode(cause);
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? 'unknown error'})`;
    throw new ProviderError('ERR_RESOURCE_PRINCIPAL', `${path}, named by ${variable}, ${why}`, {
      key: variable,
      cause,
      hint: 'an absolute path in this variable is read as a file; make it exist and readable by the kubelet’s user',
    });
  }
}

function stringClaim(claims: JwtClaims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function rpError(message: string, key: string, hint: string): ProviderError {
  return new ProviderError('ERR_RESOURCE_PRINCIPAL', message, { key, hint });
}
