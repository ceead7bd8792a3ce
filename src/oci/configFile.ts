import { join } from 'node:path';
import { ProviderError } from '../errors.ts';
import { redactOutside } from '../log.ts';
import type { Env } from '../runtime.ts';

/**
 * The `~/.oci/config` INI file of the OCI CLI and SDKs (oci-auth.md §5). The SDKs disagree on
 * details; this reader takes the most predictable rule of each:
 * - split on the first `=` (Go splits on every `=` and drops what follows a second one);
 * - trim names and values; keys lowercased (Go and Python), profile names case-sensitive (all);
 * - `#` and `;` start full-line comments (Python's configparser); a `#` inside a value is kept;
 * - `DEFAULT` keys are inherited by every profile (Python, and TS's `get` fallback);
 * - a duplicate profile or key is an error, as in Python's strict configparser, because Go and
 *   Python would each pick a different one of the two;
 * - any other line without `=` is an error naming the line (Go skips it silently, which turns a
 *   typo like `key_file: ...` into a confusing "key_file missing" later).
 */

/** The profile every SDK uses when none is named, and whose keys the others inherit. */
export const DEFAULT_PROFILE = 'DEFAULT';

/** The variable that names the config file (read by the Go, Python and TS SDKs). */
export const OCI_CONFIG_FILE_ENV = 'OCI_CONFIG_FILE';

/** A parsed config file: each profile's own keys, before DEFAULT inheritance. */
export interface OciConfig {
  /** The file the text came from, for messages. */
  readonly path: string;
  /** Profiles in file order, keys lowercased, values trimmed; `DEFAULT` included when present. */
  readonly profiles: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * Parses the text of an OCI config file. Throws `ERR_OCI_CONFIG` naming `path` and the line
 * number for a key before any `[profile]`, a line that is neither a section, a comment nor
 * `key=value`, an empty profile name or key, and duplicates. Never echoes a value (it could be
 * a `pass_phrase`).
 */
export function parseOciConfig(text: string, path: string): OciConfig {
  const profiles = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  let currentName = '';

  // A leading BOM (Windows editors) would otherwise glue itself to the first header.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const at = `${path} line ${index + 1}`;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;

    const section = /^\[(.*)\]$/.exec(line);
    if (section !== null) {
      const name = (section[1] ?? '').trim();
      if (name === '') throw configError(`${at}: the profile name is empty`, path);
      if (profiles.has(name)) throw configError(`${at}: the profile [${name}] appears twice`, path);
      current = Object.create(null) as Record<string, string>;
      currentName = name;
      profiles.set(name, current);
      return;
    }

    const eq = line.indexOf('=');
    if (eq < 0) throw configError(`${at} is not key=value, [profile] or a comment`, path);
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (key === '') throw configError(`${at}: the key before = is empty`, path);
    if (current === undefined) throw configError(`${at}: ${key} comes before any [profile] header`, path);
    if (Object.hasOwn(current, key)) throw configError(`${at}: ${key} appears twice in [${currentName}]`, path);
    current[key] = value;
  });

  const frozen = new Map<string, Readonly<Record<string, string>>>();
  for (const [name, keys] of profiles) frozen.set(name, Object.freeze({ ...keys }));
  return { path, profiles: frozen };
}

/**
 * A profile's keys with DEFAULT's inherited underneath. Throws `ERR_OCI_CONFIG` naming the file
 * and the profiles that exist when `name` is not one of them.
 */
export function getProfile(config: OciConfig, name: string): Readonly<Record<string, string>> {
  const own = config.profiles.get(name);
  if (own === undefined) {
    const names = [...config.profiles.keys()];
    // Profile names come from the file and the environment: cleaned before they reach a log line.
    const existing = names.length > 0 ? `it has ${names.map((n) => `[${redactOutside(n, 64)}]`).join(', ')}` : 'it has no profiles';
    throw new ProviderError('ERR_OCI_CONFIG', `the OCI config file ${config.path} has no profile [${redactOutside(name, 64)}]; ${existing}`, {
      key: config.path,
      hint: 'profile names are case-sensitive; set the profile (or OCI_CLI_PROFILE) to one of those listed',
    });
  }
  const inherited = name === DEFAULT_PROFILE ? undefined : config.profiles.get(DEFAULT_PROFILE);
  return Object.freeze({ ...inherited, ...own });
}

/** Where the config file is and why: for messages that tell the operator what to change. */
export interface OciConfigLocation {
  readonly path: string;
  /** `OCI_CONFIG_FILE` when the variable chose the path, `default` for `<home>/.oci/config`. */
  readonly from: typeof OCI_CONFIG_FILE_ENV | 'default';
}

/**
 * The config file path: `OCI_CONFIG_FILE` when set and not blank (with `~` expanded), else
 * `<home>/.oci/config`. The SDKs (and so the seed plugin, through Go's `DefaultConfigProvider`)
 * consult the variable only when the default file is missing; this provider puts it first, with
 * no existence check, because a variable set in the kubelet's credential-provider `env` is the
 * operator's explicit choice, and a pure function cannot look at the disk. Throws
 * `ERR_OCI_CONFIG` when neither gives a path.
 */
export function locateOciConfigFile(init: { readonly env: Env; readonly homeDir: string | undefined }): string {
  return locateOciConfig(init).path;
}

/** {@link locateOciConfigFile}, also saying whether the variable or the default chose it. */
export function locateOciConfig(init: { readonly env: Env; readonly homeDir: string | undefined }): OciConfigLocation {
  const fromEnv = init.env[OCI_CONFIG_FILE_ENV]?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    return { path: expandHome(fromEnv, init.homeDir), from: OCI_CONFIG_FILE_ENV };
  }
  if (init.homeDir === undefined || init.homeDir === '') {
    throw new ProviderError('ERR_OCI_CONFIG', 'cannot locate the OCI config file: no home directory is known and OCI_CONFIG_FILE is not set', {
      key: OCI_CONFIG_FILE_ENV,
      hint: 'set OCI_CONFIG_FILE (or HOME) in the credential provider env',
    });
  }
  return { path: join(init.homeDir, '.oci', 'config'), from: 'default' };
}

/**
 * Expands a leading `~` or `~/` to `homeDir`, as the SDKs do for `key_file` and the config path
 * (Python `os.path.expanduser`, Go `expandPath`). `~user` is left alone: the SDKs' handling
 * differs and it never appears in generated configs. Throws `ERR_OCI_CONFIG` when the path needs
 * a home directory and none is known.
 */
export function expandHome(path: string, homeDir: string | undefined): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  if (homeDir === undefined || homeDir === '') {
    throw new ProviderError('ERR_OCI_CONFIG', `cannot expand ~ in ${path}: no home directory is known`, {
      key: path,
      hint: 'use an absolute path, or set HOME in the credential provider env',
    });
  }
  return path === '~' ? homeDir : join(homeDir, path.slice(2));
}

function configError(message: string, path: string): ProviderError {
  return new ProviderError('ERR_OCI_CONFIG', message, {
    key: path,
    hint: 'fix the OCI config file: [PROFILE] headers followed by key=value lines',
  });
}
