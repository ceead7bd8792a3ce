import { dirname, isAbsolute, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ProviderError, withCode } from '../../errors.ts';
import { describeErrno, errnoCode } from '../../errno.ts';
import { systemClock } from '../../runtime.ts';
import type { Clock, Env, FileReader } from '../../runtime.ts';
import { DEFAULT_PROFILE, OCI_CONFIG_FILE_ENV, expandHome, getProfile, locateOciConfig, parseOciConfig } from '../../oci/configFile.ts';
import type { OciConfigLocation } from '../../oci/configFile.ts';
import type { Identity, IdentityProvider } from '../types.ts';
import { decodeJwtClaims, readSessionLifetime, type JwtClaims } from '../../oci/jwt.ts';
import { sha256Hex } from '../../webCrypto.ts';
import { loadPrivateKey, md5Fingerprint } from '../../oci/keys.ts';

/**
 * The user principal of `~/.oci/config`: an API key (`<tenancy>/<user>/<fingerprint>`), or, when
 * the profile names a `security_token_file`, the session token that `oci session authenticate`
 * wrote (`ST$<token>`), signed with the profile's `key_file` in both cases.
 */

/** The CLI's variable for the profile (`cli_constants.py`), used when the caller names none. */
export const OCI_CLI_PROFILE_ENV = 'OCI_CLI_PROFILE';

export interface ApiKeyInit {
  /** The provider's environment: `OCI_CONFIG_FILE`, `OCI_CLI_PROFILE`. */
  readonly env: Env;
  readonly files: FileReader;
  /** For `~/.oci/config` and `~` in paths; undefined when the process has no home. */
  readonly homeDir: string | undefined;
  /** Profile to use; else `OCI_CLI_PROFILE`, else `DEFAULT`. */
  readonly profile?: string;
  /** To refuse an expired session token; defaults to the system clock. */
  readonly clock?: Clock;
}

/** The keys an API-key profile must have (Go's `IsConfigurationProviderValid` checks the same). */
const API_KEY_REQUIRED = ['tenancy', 'user', 'fingerprint', 'key_file'] as const;

/**
 * The user principal as an {@link IdentityProvider}. The files are read at every call (once per
 * exec, twice after OCI answered 401, when the file may have been fixed or `oci session refresh`
 * may have run).
 *
 * Every misconfiguration is an `ERR_OCI_CONFIG` naming the file and profile: config file
 * missing, profile missing, keys missing from the profile, key file missing or unreadable, key
 * encrypted without or with a wrong passphrase, fingerprint not the key's, session token
 * unreadable, malformed or expired. Messages never carry key material or tokens.
 */
export function fromApiKeyProfile(init: ApiKeyInit): IdentityProvider {
  const clock = init.clock ?? systemClock;
  return () => loadIdentity(init, clock);
}

/**
 * Who the profile signs as, from the profile alone (no key is loaded): the user, tenancy and key
 * fingerprint of an API key, or the subject and tenancy of a session token. Cached credentials are
 * bound to it, so a config file rewritten for another user never gets the previous user's token.
 */
export async function apiKeyPrincipalKey(init: ApiKeyInit): Promise<string> {
  const profile = await readProfile(init);
  const tokenFile = value(profile.values, 'security_token_file');
  if (tokenFile !== undefined) {
    const { claims } = await readSessionToken(init, profile, tokenFile);
    const tenancy = value(profile.values, 'tenancy') ?? claims.tenant ?? '';
    // Without a subject, the token itself is the only name of who it is: its digest, never the token.
    const subject = claims.sub ?? `token-sha256:${sha256Hex(JSON.stringify(claims))}`;
    return `session:${tenancy}/${subject}`;
  }
  const missing = API_KEY_REQUIRED.filter((key) => value(profile.values, key) === undefined);
  if (missing.length > 0) throw missingKeys(profile, missing);
  const [tenancy, user, fingerprint] = (['tenancy', 'user', 'fingerprint'] as const).map((key) => value(profile.values, key) ?? '');
  return `user:${tenancy}/${user}/${(fingerprint ?? '').toLowerCase()}`;
}

/** Names the profile and file in every message. */
interface ProfileContext {
  readonly name: string;
  readonly location: OciConfigLocation;
  readonly values: Readonly<Record<string, string>>;
  readonly where: string;
}

async function readProfile(init: ApiKeyInit): Promise<ProfileContext> {
  const location = locateOciConfig({ env: init.env, homeDir: init.homeDir });
  const name = chooseProfile(init);
  const text = await readConfigFile(init.files, location);
  const values = getProfile(parseOciConfig(text, location.path), name);
  return { name, location, values, where: `profile [${name}] of ${location.path}` };
}

function missingKeys(profile: ProfileContext, missing: readonly string[]): ProviderError {
  return new ProviderError('ERR_OCI_CONFIG', `${profile.where} lacks ${missing.join(', ')}`, {
    key: profile.location.path,
    hint: 'an API-key profile needs tenancy, user, fingerprint and key_file (see oci setup config)',
  });
}

async function loadIdentity(init: ApiKeyInit, clock: Clock): Promise<Identity> {
  const profile = await readProfile(init);
  const { values, location } = profile;

  const tokenFile = value(values, 'security_token_file');
  if (tokenFile !== undefined) return loadSessionIdentity(init, clock, profile, tokenFile);

  const missing = API_KEY_REQUIRED.filter((key) => value(values, key) === undefined);
  if (missing.length > 0) throw missingKeys(profile, missing);
  const tenancy = value(values, 'tenancy') ?? '';
  const user = value(values, 'user') ?? '';
  const fingerprint = (value(values, 'fingerprint') ?? '').toLowerCase();

  const { privateKey, keyPath } = await loadProfileKey(init, profile);
  const actual = md5Fingerprint(privateKey);
  if (actual !== fingerprint) {
    // Fingerprints are public (the console lists them), so both go into the message.
    throw new ProviderError(
      'ERR_OCI_CONFIG',
      `the fingerprint in ${profile.where} is ${fingerprint}, but key_file ${keyPath} has fingerprint ${actual}`,
      {
        key: location.path,
        hint: "set fingerprint to the key's, or point key_file at the private key of the API key with that fingerprint",
      },
    );
  }
  return { keyId: `${tenancy}/${user}/${fingerprint}`, privateKey, principal: `user:${user}`, tenancyId: tenancy };
}

async function loadSessionIdentity(
  init: ApiKeyInit,
  clock: Clock,
  profile: ProfileContext,
  tokenFile: string,
): Promise<Identity> {
  if (value(profile.values, 'key_file') === undefined) {
    throw new ProviderError('ERR_OCI_CONFIG', `${profile.where} has security_token_file but lacks key_file`, {
      key: profile.location.path,
      hint: 'a session-token profile needs key_file, the session key (oci session authenticate writes both)',
    });
  }
  const { token, tokenPath, source, claims } = await readSessionToken(init, profile, tokenFile);
  const lifetime = readSessionLifetime(claims, clock.now());
  if ('unusable' in lifetime) {
    throw new ProviderError('ERR_OCI_CONFIG', `the session token in ${source} ${lifetime.unusable}`, {
      key: tokenPath,
      hint: `run oci session refresh --profile ${profile.name}, or oci session authenticate --profile-name ${profile.name}`,
    });
  }
  const { expiresAtMs } = lifetime;
  const { privateKey } = await loadProfileKey(init, profile);
  const tenancy = value(profile.values, 'tenancy') ?? claims.tenant;
  return {
    keyId: `ST$${token}`,
    privateKey,
    principal: `session:${claims.sub ?? tenancy ?? profile.name}`,
    ...(tenancy === undefined ? {} : { tenancyId: tenancy }),
    expiresAtMs,
  };
}

async function readSessionToken(
  init: ApiKeyInit,
  profile: ProfileContext,
  tokenFile: string,
): Promise<{ token: string; tokenPath: string; source: string; claims: JwtClaims }> {
  const tokenPath = profilePath(tokenFile, init.homeDir, profile.location.path);
  // The CLI writes the token with a trailing newline; Go and Python trim it.
  const token = (await readProfileFile(init.files, tokenPath, 'security_token_file', profile)).trim();
  const source = `security_token_file ${tokenPath} (${profile.where})`;
  if (token === '') {
    throw new ProviderError('ERR_OCI_CONFIG', `${source} is empty`, {
      key: tokenPath,
      hint: `run oci session authenticate --profile-name ${profile.name}`,
    });
  }
  return { token, tokenPath, source, claims: withCode('ERR_OCI_CONFIG', () => decodeJwtClaims(token, source), { key: tokenPath }) };
}

async function loadProfileKey(
  init: ApiKeyInit,
  profile: ProfileContext,
): Promise<{ privateKey: KeyObject; keyPath: string }> {
  const keyPath = profilePath(value(profile.values, 'key_file') ?? '', init.homeDir, profile.location.path);
  const pem = await readProfileFile(init.files, keyPath, 'key_file', profile);
  // Go reads both spellings; Python and the CLI write pass_phrase.
  const passphrase = value(profile.values, 'pass_phrase') ?? value(profile.values, 'passphrase');
  const privateKey = withCode('ERR_OCI_CONFIG', () => loadPrivateKey(pem, { passphrase, source: `key_file ${keyPath} (${profile.where})` }), { key: keyPath });
  return { privateKey, keyPath };
}

function chooseProfile(init: ApiKeyInit): string {
  const named = init.profile?.trim();
  if (named !== undefined && named !== '') return named;
  const fromEnv = init.env[OCI_CLI_PROFILE_ENV]?.trim();
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_PROFILE;
}

/** A profile value, or undefined when absent or blank (an empty `key_file=` is as good as none). */
function value(values: Readonly<Record<string, string>>, key: string): string | undefined {
  const v = values[key];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * `~` expanded; a relative path is relative to the config file's folder. The SDKs open it
 * relative to the working directory, which for a kubelet plugin is wherever the kubelet runs, so
 * only absolute paths would work there.
 */
function profilePath(path: string, homeDir: string | undefined, configPath: string): string {
  const expanded = expandHome(path, homeDir);
  return isAbsolute(expanded) ? expanded : join(dirname(configPath), expanded);
}

async function readConfigFile(files: FileReader, location: OciConfigLocation): Promise<string> {
  try {
    return await files.readText(location.path);
  } catch (cause) {
    const code = errnoCode(cause);
    const fromEnv = location.from === OCI_CONFIG_FILE_ENV;
    const origin = fromEnv ? ` (named by ${OCI_CONFIG_FILE_ENV})` : '';
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ProviderError(
        'ERR_OCI_CONFIG',
        `the OCI config file ${location.path}${origin} does not exist` +
          (fromEnv ? '' : ` and ${OCI_CONFIG_FILE_ENV} is not set`),
        {
          key: fromEnv ? OCI_CONFIG_FILE_ENV : location.path,
          cause,
          hint: fromEnv
            ? `point ${OCI_CONFIG_FILE_ENV} at the config file`
            : `create it (oci setup config), or set ${OCI_CONFIG_FILE_ENV} to its path in the credential provider env`,
        },
      );
    }
    throw new ProviderError('ERR_OCI_CONFIG', `cannot read the OCI config file ${location.path}${origin}: ${describeErrno(code)}`, {
      key: location.path,
      cause,
      hint: 'the kubelet runs the provider as its own user; make the file readable by it',
    });
  }
}

async function readProfileFile(
  files: FileReader,
  path: string,
  setting: 'key_file' | 'security_token_file',
  profile: ProfileContext,
): Promise<string> {
  try {
    return await files.readText(path);
  } catch (cause) {
    const code = errnoCode(cause);
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    throw new ProviderError(
      'ERR_OCI_CONFIG',
      missing
        ? `${setting} ${path} of ${profile.where} does not exist`
        : `cannot read ${setting} ${path} of ${profile.where}: ${describeErrno(code)}`,
      {
        key: path,
        cause,
        hint: missing
          ? `fix ${setting} in the profile; a relative path is relative to the config file's folder`
          : 'make the file readable by the user the kubelet runs the provider as',
      },
    );
  }
}
