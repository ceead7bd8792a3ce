import { describe, expect, test } from 'bun:test';
import { expandHome, getProfile, locateOciConfig, locateOciConfigFile, parseOciConfig } from '../../src/oci/configFile.ts';
import type { OciConfigLocation } from '../../src/oci/configFile.ts';
import { caught } from '../support/caught.ts';

const PATH = '/home/u/.oci/config';


describe('parseOciConfig and getProfile', () => {
  const TEXT = [
    '\uFEFF# written by oci setup config',
    '[DEFAULT]',
    'user=ocid1.user.oc1..default',
    'fingerprint = 20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34',
    'region=eu-frankfurt-1',
    'key_file=~/.oci/key.pem',
    '',
    '; a semicolon comment',
    '[prod]',
    '  User = ocid1.user.oc1..prod  ',
    'pass_phrase=a=b=c',
    'note=value # not a comment',
    'empty=',
    '',
    '[Prod]',
    'region=us-ashburn-1',
  ].join('\r\n');

  const rows: readonly { name: string; profile: string; expected: Record<string, string> }[] = [
    {
      name: 'DEFAULT is itself',
      profile: 'DEFAULT',
      expected: {
        user: 'ocid1.user.oc1..default',
        fingerprint: '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34',
        region: 'eu-frankfurt-1',
        key_file: '~/.oci/key.pem',
      },
    },
    {
      name: 'a profile inherits DEFAULT and overrides it; keys lowercased, split on the first =',
      profile: 'prod',
      expected: {
        user: 'ocid1.user.oc1..prod',
        fingerprint: '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34',
        region: 'eu-frankfurt-1',
        key_file: '~/.oci/key.pem',
        pass_phrase: 'a=b=c',
        note: 'value # not a comment',
        empty: '',
      },
    },
    {
      name: 'profile names are case-sensitive',
      profile: 'Prod',
      expected: {
        user: 'ocid1.user.oc1..default',
        fingerprint: '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34',
        region: 'us-ashburn-1',
        key_file: '~/.oci/key.pem',
      },
    },
  ];
  const config = parseOciConfig(TEXT, PATH);
  for (const row of rows) {
    test(row.name, () => {
      expect({ ...getProfile(config, row.profile) }).toEqual(row.expected);
    });
  }

  test('profiles are listed in file order with their own keys only', () => {
    expect([...config.profiles.keys()]).toEqual(['DEFAULT', 'prod', 'Prod']);
    expect({ ...config.profiles.get('Prod') }).toEqual({ region: 'us-ashburn-1' });
    expect(config.path).toBe(PATH);
  });

  test('without DEFAULT there is nothing to inherit', () => {
    const c = parseOciConfig('[a]\nuser=x\n', PATH);
    expect({ ...getProfile(c, 'a') }).toEqual({ user: 'x' });
  });

  test('a missing profile names the file and the profiles that exist', () => {
    const error = caught(() => getProfile(config, 'PROD'));
    expect(error.code).toBe('ERR_OCI_CONFIG');
    expect(error.message).toBe(`the OCI config file ${PATH} has no profile [PROD]; it has [DEFAULT], [prod], [Prod]`);
    expect(caught(() => getProfile(parseOciConfig('# empty\n', PATH), 'DEFAULT')).message).toEndWith(
      'has no profile [DEFAULT]; it has no profiles',
    );
  });

  const bad: readonly { name: string; text: string; message: string }[] = [
    { name: 'a key before any profile', text: 'user=x\n[DEFAULT]\n', message: `${PATH} line 1: user comes before any [profile] header` },
    { name: 'a line without =', text: '[DEFAULT]\nkey_file: /k.pem\n', message: `${PATH} line 2 is not key=value, [profile] or a comment` },
    { name: 'an empty key', text: '[DEFAULT]\n = x\n', message: `${PATH} line 2: the key before = is empty` },
    { name: 'an empty profile name', text: '[ ]\n', message: `${PATH} line 1: the profile name is empty` },
    { name: 'a duplicate profile', text: '[a]\nuser=x\n[a]\n', message: `${PATH} line 3: the profile [a] appears twice` },
    { name: 'a duplicate key, any case', text: '[a]\nuser=x\nUSER=y\n', message: `${PATH} line 3: user appears twice in [a]` },
  ];
  for (const row of bad) {
    test(`refuses ${row.name}`, () => {
      const error = caught(() => parseOciConfig(row.text, PATH));
      expect(error.code).toBe('ERR_OCI_CONFIG');
      expect(error.message).toBe(row.message);
      expect(error.details.key).toBe(PATH);
    });
  }

  test('never echoes a value in an error', () => {
    const error = caught(() => parseOciConfig('[a]\npass_phrase=s3cret\npass_phrase=s3cret\n', PATH));
    expect(error.message).not.toContain('s3cret');
  });

  test('a key named __proto__ is data', () => {
    const c = parseOciConfig('[a]\n__proto__=x\n', PATH);
    expect(getProfile(c, 'a')['__proto__']).toBe('x');
  });
});

describe('locateOciConfigFile', () => {
  const rows: readonly { name: string; env: Record<string, string>; home: string | undefined; path: string; from: OciConfigLocation['from'] }[] = [
    { name: 'default under home', env: {}, home: '/home/u', path: '/home/u/.oci/config', from: 'default' },
    { name: 'OCI_CONFIG_FILE first', env: { OCI_CONFIG_FILE: '/etc/oci/config' }, home: '/home/u', path: '/etc/oci/config', from: 'OCI_CONFIG_FILE' },
    { name: 'OCI_CONFIG_FILE with ~', env: { OCI_CONFIG_FILE: '~/alt/config' }, home: '/root', path: '/root/alt/config', from: 'OCI_CONFIG_FILE' },
    { name: 'OCI_CONFIG_FILE without a home', env: { OCI_CONFIG_FILE: '/etc/oci/config' }, home: undefined, path: '/etc/oci/config', from: 'OCI_CONFIG_FILE' },
    { name: 'a blank OCI_CONFIG_FILE is unset', env: { OCI_CONFIG_FILE: '  ' }, home: '/home/u', path: '/home/u/.oci/config', from: 'default' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      expect(locateOciConfigFile({ env: row.env, homeDir: row.home })).toBe(row.path);
      expect(locateOciConfig({ env: row.env, homeDir: row.home }).from).toBe(row.from);
    });
  }

  test('no home and no variable is an error naming OCI_CONFIG_FILE', () => {
    const error = caught(() => locateOciConfigFile({ env: {}, homeDir: undefined }));
    expect(error.code).toBe('ERR_OCI_CONFIG');
    expect(error.message).toContain('OCI_CONFIG_FILE is not set');
  });
});

describe('expandHome', () => {
  const rows: readonly [string, string | undefined, string][] = [
    ['~', '/home/u', '/home/u'],
    ['~/.oci/key.pem', '/home/u', '/home/u/.oci/key.pem'],
    ['~/.oci/key.pem', '/home/u/', '/home/u/.oci/key.pem'],
    ['/abs/key.pem', undefined, '/abs/key.pem'],
    ['relative/key.pem', undefined, 'relative/key.pem'],
    ['~other/key.pem', '/home/u', '~other/key.pem'],
    ['a/~/b', '/home/u', 'a/~/b'],
  ];
  for (const [path, home, expected] of rows) {
    test(`${path} with home ${home ?? '(none)'}`, () => {
      expect(expandHome(path, home)).toBe(expected);
    });
  }

  test('~ without a home is an error naming the path', () => {
    const error = caught(() => expandHome('~/.oci/key.pem', undefined));
    expect(error.code).toBe('ERR_OCI_CONFIG');
    expect(error.message).toBe('cannot expand ~ in ~/.oci/key.pem: no home directory is known');
  });
});
