import { describe, expect, test } from 'bun:test';
import { homedir } from 'node:os';
import { ConfigFileReader } from 'oci-common';
import { expandHome, getProfile, parseOciConfig } from '../../src/oci/configFile.ts';
import { caught } from '../support/caught.ts';

/**
 * Our OCI config reader (src/oci/configFile.ts) against the SDK's `ConfigFileReader`, on a corpus of
 * config files: for every key the provider reads, both give the same value (and `~` expands to the
 * same path), or the difference is one of the few deliberate ones below, each asserted here so a
 * change on either side shows up:
 * - `ours refuses`: a duplicate key or profile. The SDK silently keeps the last one (Go and Python
 *   would each pick differently), so we refuse the file and name the line.
 * - `sdk refuses`: a `;` comment line. The SDK reads it as a malformed key=value line; we skip it as
 *   Python's configparser and the OCI CLI do.
 * - `key case`: `User=` is `user` for us (Go and Python lowercase keys); the SDK keeps the case, so
 *   its `get('user')` misses it and falls back to DEFAULT.
 */

/** Every key the provider reads from a profile (src/oci/principals/apiKey.ts). */
const KEYS = ['tenancy', 'user', 'fingerprint', 'key_file', 'pass_phrase', 'region', 'security_token_file'] as const;
const PATH_KEYS: ReadonlySet<string> = new Set(['key_file', 'security_token_file']);

type Outcome = 'agree' | 'ours refuses' | 'sdk refuses' | 'key case';

interface Case {
  readonly name: string;
  readonly lines: readonly string[];
  readonly profile: string;
  readonly outcome: Outcome;
  /** Line separator, default `\n`. */
  readonly eol?: string;
}

const FULL_DEFAULT = [
  '[DEFAULT]',
  'user=ocid1.user.oc1..default',
  'fingerprint=20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34',
  'tenancy=ocid1.tenancy.oc1..tenancy',
  'region=eu-frankfurt-1',
  'key_file=~/.oci/oci_api_key.pem',
];

const CORPUS: readonly Case[] = [
  { name: 'a DEFAULT profile as oci setup config writes it', lines: FULL_DEFAULT, profile: 'DEFAULT', outcome: 'agree' },
  {
    name: 'a named profile inherits DEFAULT and overrides some keys',
    lines: [...FULL_DEFAULT, '', '[prod]', 'user=ocid1.user.oc1..prod', 'region=us-ashburn-1', 'pass_phrase=secret'],
    profile: 'prod',
    outcome: 'agree',
  },
  {
    name: 'DEFAULT does not inherit from a named profile',
    lines: [...FULL_DEFAULT, '[prod]', 'pass_phrase=secret'],
    profile: 'DEFAULT',
    outcome: 'agree',
  },
  {
    name: 'comments, blank lines, and a # inside a value',
    lines: ['# top comment', '', '[DEFAULT]', '  # indented comment', 'user=ocid1.user.oc1..u # not a comment', 'region=fra', ''],
    profile: 'DEFAULT',
    outcome: 'agree',
  },
  {
    name: '~ paths for key_file and security_token_file, and absolute and relative ones',
    lines: ['[DEFAULT]', 'key_file=~/.oci/key.pem', 'security_token_file=~/.oci/sessions/DEFAULT/token', '[abs]', 'key_file=/etc/oci/key.pem', 'security_token_file=token'],
    profile: 'DEFAULT',
    outcome: 'agree',
  },
  {
    name: 'absolute and relative paths in a profile',
    lines: ['[DEFAULT]', 'key_file=~/.oci/key.pem', '[abs]', 'key_file=/etc/oci/key.pem', 'security_token_file=token'],
    profile: 'abs',
    outcome: 'agree',
  },
  {
    name: 'a session profile (security_token_file, no user)',
    lines: ['[DEFAULT]', 'region=eu-frankfurt-1', '[session]', 'fingerprint=aa:bb', 'key_file=~/.oci/sessions/session/oci_api_key.pem', 'tenancy=ocid1.tenancy.oc1..t', 'security_token_file=~/.oci/sessions/session/token'],
    profile: 'session',
    outcome: 'agree',
  },
  {
    name: 'odd whitespace: tabs and spaces around =, indented keys and headers, trailing blanks, [ spaced name ]',
    lines: ['  [DEFAULT]  ', '\tuser\t=\tocid1.user.oc1..u\t', 'fingerprint =   aa:bb   ', '   region= fra', '[ spaced ]', ' tenancy = ocid1.tenancy.oc1..t '],
    profile: 'spaced',
    outcome: 'agree',
  },
  { name: 'CRLF line endings and a byte-order mark', lines: ['\uFEFF[DEFAULT]', 'user=ocid1.user.oc1..u', 'region=fra'], profile: 'DEFAULT', outcome: 'agree', eol: '\r\n' },
  { name: 'a value containing = (split on the first =)', lines: ['[DEFAULT]', 'pass_phrase=a=b==c', 'key_file=/k=1.pem'], profile: 'DEFAULT', outcome: 'agree' },
  { name: 'missing keys and empty values', lines: ['[DEFAULT]', 'user=', 'key_file=', '[p]', 'region='], profile: 'p', outcome: 'agree' },
  { name: 'no DEFAULT profile at all', lines: ['[only]', 'user=ocid1.user.oc1..u', 'region=fra'], profile: 'only', outcome: 'agree' },
  { name: 'profile names are case-sensitive', lines: [...FULL_DEFAULT, '[Prod]', 'region=us-ashburn-1', '[prod]', 'region=us-phoenix-1'], profile: 'Prod', outcome: 'agree' },
  { name: 'a duplicate key in one profile', lines: ['[DEFAULT]', 'user=ocid1.user.oc1..first', 'user=ocid1.user.oc1..second'], profile: 'DEFAULT', outcome: 'ours refuses' },
  { name: 'a profile that appears twice', lines: ['[DEFAULT]', 'region=fra', '[p]', 'user=a', '[p]', 'fingerprint=aa'], profile: 'p', outcome: 'ours refuses' },
  { name: 'a ; comment line', lines: ['; written by hand', '[DEFAULT]', 'region=fra'], profile: 'DEFAULT', outcome: 'sdk refuses' },
  { name: 'an upper-case key', lines: ['[DEFAULT]', 'user=ocid1.user.oc1..default', '[p]', 'User=ocid1.user.oc1..p'], profile: 'p', outcome: 'key case' },
];

/** What the SDK's reader gives for each provider key; absent (null, undefined) and empty are kept apart. */
function sdkValues(text: string, profile: string): Record<string, string | undefined> {
  const file = ConfigFileReader.parse(text, profile);
  return Object.fromEntries(KEYS.map((key) => [key, file.get(key) ?? undefined]));
}

function ourValues(text: string, profile: string): Record<string, string | undefined> {
  const values = getProfile(parseOciConfig(text, '/test/config'), profile);
  return Object.fromEntries(KEYS.map((key) => [key, values[key]]));
}

/** Whether the SDK's reader throws (plain `Error`s; it also logs "No DEFAULT profile" when that is missing). */
function refuses(read: () => unknown): boolean {
  try {
    read();
    return false;
  } catch {
    return true;
  }
}

describe("our config reader and the SDK's ConfigFileReader", () => {
  for (const entry of CORPUS) {
    test(`${entry.outcome}: ${entry.name}`, () => {
      const text = entry.lines.join(entry.eol ?? '\n');
      const ours = (): Record<string, string | undefined> => ourValues(text, entry.profile);
      const sdk = (): Record<string, string | undefined> => sdkValues(text, entry.profile);
      switch (entry.outcome) {
        case 'agree': {
          expect(ours()).toEqual(sdk());
          for (const key of PATH_KEYS) {
            const value = ours()[key];
            if (value !== undefined && value !== '') expect(expandHome(value, homedir())).toBe(ConfigFileReader.expandUserHome(value));
          }
          break;
        }
        case 'ours refuses':
          expect(caught(ours)?.code).toBe('ERR_OCI_CONFIG');
          expect(refuses(sdk)).toBe(false);
          break;
        case 'sdk refuses':
          expect(refuses(sdk)).toBe(true);
          expect(ours()['region']).toBe('fra');
          break;
        case 'key case':
          expect(ours()['user']).toBe('ocid1.user.oc1..p');
          expect(sdk()['user']).toBe('ocid1.user.oc1..default');
          break;
      }
    });
  }

  test('a profile that does not exist: both refuse', () => {
    const text = FULL_DEFAULT.join('\n');
    expect(caught(() => ourValues(text, 'missing'))?.code).toBe('ERR_OCI_CONFIG');
    expect(refuses(() => sdkValues(text, 'missing'))).toBe(true);
  });

  test('a key before any [profile]: both refuse', () => {
    const text = ['user=ocid1.user.oc1..u', '[DEFAULT]', 'region=fra'].join('\n');
    expect(caught(() => ourValues(text, 'DEFAULT'))?.code).toBe('ERR_OCI_CONFIG');
    expect(refuses(() => sdkValues(text, 'DEFAULT'))).toBe(true);
  });
});
