import { describe, expect, test } from 'bun:test';
import { createRegionTable, type RegionInfo } from '../../src/oci/regions.ts';
import {
  ocirHostsForRegion,
  recognizeRegistry,
  validateHostPattern,
  type RegistryMatch,
  type RegistryPolicy,
} from '../../src/ocir/hosts.ts';

const regions = createRegionTable();
const policy = (overrides: Partial<RegistryPolicy> = {}): RegistryPolicy => ({
  regions,
  extraRealmDomains: [],
  allowedHostPatterns: [],
  ...overrides,
});
const OC1_NO_REGION: RegistryMatch = { kind: 'ocir', form: 'ocir.io', realmDomain: 'oraclecloud.com' };
const OPEN_POLICY = policy({
  // Patterns that a careless operator might add; none may widen OCIR recognition or be used unvalidated.
  allowedHostPatterns: ['registry.example.com', '127.0.0.1:5000', '*.corp.example'],
});

describe('every OCIR host form of every built-in region is recognised', () => {
  const cases = regions.all().flatMap((region) => ocirHostsForRegion(region).map((host) => [host, region] as const));

  test('the generated list covers every region and the oc1 ocir.io forms', () => {
    expect(regions.all().length).toBe(85);
    const oc1 = regions.all().filter((r) => r.realmKey === 'oc1').length;
    expect(cases.length).toBe(regions.all().length * 2 + oc1 * 2);
  });

  test.each(cases)('%s', (host, region) => {
    const form = host.endsWith('.ocir.io') ? 'ocir.io' : host.startsWith('ocir.') ? 'ocir' : 'artifacts';
    const expected: RegistryMatch = { kind: 'ocir', form, region, realmDomain: region.realmDomain };
    expect(recognizeRegistry(host, policy())).toEqual(expected);
    // DNS is case-insensitive; the kubelet preserves the case of the image.
    expect(recognizeRegistry(host.toUpperCase(), policy())).toEqual(expected);
  });
});

describe('ocirHostsForRegion', () => {
  test('oc1 regions have the ocir.io forms first', () => {
    expect(ocirHostsForRegion(regions.lookup('fra')!)).toEqual([
      'fra.ocir.io',
      'eu-frankfurt-1.ocir.io',
      'ocir.eu-frankfurt-1.oci.oraclecloud.com',
      'artifacts.eu-frankfurt-1.oci.oraclecloud.com',
    ]);
  });

  test('other realms use ocir.<id>.oci.<domain> and artifacts.<id>.oci.<domain> only', () => {
    expect(ocirHostsForRegion(regions.lookup('ltn')!)).toEqual([
      'ocir.uk-gov-london-1.oci.oraclegovcloud.uk',
      'artifacts.uk-gov-london-1.oci.oraclegovcloud.uk',
    ]);
    expect(ocirHostsForRegion(regions.lookup('ric')!)).toEqual([
      'ocir.us-gov-ashburn-1.oci.oraclegovcloud.com',
      'artifacts.us-gov-ashburn-1.oci.oraclegovcloud.com',
    ]);
  });
});

describe('OCIR names not in the table', () => {
  test('any well-formed single label before .ocir.io is OCIR, with no region', () => {
    expect(recognizeRegistry('xyz.ocir.io', policy())).toEqual(OC1_NO_REGION);
    expect(recognizeRegistry('us-newcity-1.ocir.io', policy())).toEqual(OC1_NO_REGION);
  });

  test('a region of another realm under ocir.io is Oracle-owned but gets no region', () => {
    expect(recognizeRegistry('str.ocir.io', policy())).toEqual(OC1_NO_REGION);
  });

  test('a region-id-shaped label under a known realm domain is OCIR, with no region', () => {
    expect(recognizeRegistry('ocir.us-newcity-1.oci.oraclecloud.com', policy())).toEqual({
      kind: 'ocir',
      form: 'ocir',
      realmDomain: 'oraclecloud.com',
    });
    expect(recognizeRegistry('artifacts.eu-dcc-newplace-2.oci.oraclecloud14.com', policy())).toEqual({
      kind: 'ocir',
      form: 'artifacts',
      realmDomain: 'oraclecloud14.com',
    });
    // Known identifier, wrong realm: the domain is still Oracle's, but the region is not claimed.
    expect(recognizeRegistry('ocir.eu-frankfurt-1.oci.oraclegovcloud.com', policy())).toEqual({
      kind: 'ocir',
      form: 'ocir',
      realmDomain: 'oraclegovcloud.com',
    });
  });

  test('labels that are not region identifiers are refused under a realm domain', () => {
    for (const host of [
      'ocir.fra.oci.oraclecloud.com',
      'ocir.frankfurt.oci.oraclecloud.com',
      'ocir.eu-frankfurt.oci.oraclecloud.com',
      'ocir.1-eu-frankfurt.oci.oraclecloud.com',
      'ocir.eu-frankfurt-1a.oci.oraclecloud.com',
      'ocir.a.b.oci.oraclecloud.com',
      'ocir.oci.oraclecloud.com',
    ]) {
      expect(recognizeRegistry(host, policy())).toBeUndefined();
    }
  });

  test('extraRealmDomains add dedicated-region and Alloy realm domains', () => {
    const host = 'ocir.xx-alloy-1.oci.alloy.example.com';
    expect(recognizeRegistry(host, policy())).toBeUndefined();
    expect(recognizeRegistry(host, policy({ extraRealmDomains: ['Alloy.Example.com'] }))).toEqual({
      kind: 'ocir',
      form: 'ocir',
      realmDomain: 'alloy.example.com',
    });
  });

  test('realm domains from region metadata count, with their region', () => {
    const extra: RegionInfo = {
      regionKey: 'xyz',
      regionId: 'xx-newcity-1',
      realmKey: 'oc99',
      realmDomain: 'oraclecloud99.com',
    };
    const table = createRegionTable([extra]);
    expect(recognizeRegistry('artifacts.xx-newcity-1.oci.oraclecloud99.com', policy({ regions: table }))).toEqual({
      kind: 'ocir',
      form: 'artifacts',
      region: extra,
      realmDomain: 'oraclecloud99.com',
    });
    expect(recognizeRegistry('artifacts.xx-newcity-1.oci.oraclecloud99.com', policy())).toBeUndefined();
  });
});

describe('spoofing attempts are refused', () => {
  const spoofs: readonly (readonly [string, string])[] = [
    ['fra.ocir.io.attacker.example', 'OCIR name as a prefix of another domain'],
    ['evil.com', 'the registry of evil.com/fra.ocir.io'],
    ['fraocir.io', 'no dot before ocir'],
    ['fra-ocir.io', 'hyphen instead of dot'],
    ['ocir.io', 'the bare domain'],
    ['a.b.ocir.io', 'two labels before ocir.io'],
    ['fra.ocir.io:8443', 'a port: not the public endpoint'],
    ['fra.ocir.io:443', 'even the https port: the kubelet compares ports as text'],
    ['fra.ocir.io.', 'trailing dot'],
    ['.fra.ocir.io', 'leading dot'],
    ['fra..ocir.io', 'empty label'],
    ['-fra.ocir.io', 'label starting with a hyphen'],
    ['ocir.eu-frankfurt-1.oci.oraclecloud.com.evil.com', 'realm domain as a prefix'],
    ['ocir.eu-frankfurt-1.oci.oraclecloud.co', 'lookalike realm domain'],
    ['ocir.eu-frankfurt-1.oraclecloud.com', 'missing oci. label'],
    ['xocir.eu-frankfurt-1.oci.oraclecloud.com', 'wrong service label'],
    ['registry.eu-frankfurt-1.oci.oraclecloud.com', 'another service label'],
    ['ocir.eu-frankfurt-1.oci.com', 'a one-label domain'],
    ['ocir.eu-frankfurt-1.oci.ocir.io', 'ocir.io is not a realm domain'],
    ['artifacts.x.oci.oraclecloud.com.attacker.example', 'realm domain as a prefix, artifacts form'],
    ['artifacts.x.oci.oraclecloud.com', 'a label that is no region identifier'],
    ['fr\u0430.ocir.io', 'Cyrillic а lookalike'],
    ['\u212Aix.ocir.io', 'Kelvin sign, which toLowerCase turns into an ASCII k'],
    ['xn--fr-ocir.io', 'a punycode name is not ocir.io'],
    ['fra.ocir.io@evil.com', 'userinfo: the real host is evil.com'],
    ['evil.com@fra.ocir.io', 'userinfo in front of an OCIR name'],
    ['fra.ocir.io#', 'fragment'],
    ['fra.ocir.io?', 'query'],
    ['fra.ocir.io/', 'a slash: not a host'],
    ['fra.ocir.io\\evil.com', 'backslash'],
    ['', 'empty string'],
    [' ', 'whitespace'],
    [' fra.ocir.io', 'leading whitespace'],
    ['fra.ocir.io\n', 'trailing newline'],
    ['fra.ocir.io\u0000', 'NUL'],
    ['[::1]:5000', 'IPv6 literal'],
    ['https://fra.ocir.io', 'a URL, not a host'],
    [`${'a'.repeat(64)}.ocir.io`, 'label longer than 63'],
  ];

  test.each(spoofs)('%j (%s)', (host) => {
    expect(recognizeRegistry(host, policy())).toBeUndefined();
    expect(recognizeRegistry(host, OPEN_POLICY)).toBeUndefined();
  });

  test('an allowlist pattern for evil.com does not make fra.ocir.io@evil.com acceptable', () => {
    expect(recognizeRegistry('fra.ocir.io@evil.com', policy({ allowedHostPatterns: ['evil.com'] }))).toBeUndefined();
    expect(recognizeRegistry('evil.com', policy({ allowedHostPatterns: ['evil.com'] }))).toEqual({
      kind: 'allowed',
      pattern: 'evil.com',
    });
  });
});

describe('allowlist', () => {
  test('exact hosts, with and without port', () => {
    expect(recognizeRegistry('registry.example.com', OPEN_POLICY)).toEqual({
      kind: 'allowed',
      pattern: 'registry.example.com',
    });
    expect(recognizeRegistry('127.0.0.1:5000', OPEN_POLICY)).toEqual({ kind: 'allowed', pattern: '127.0.0.1:5000' });
  });

  test('ports must be equal, as in the kubelet', () => {
    expect(recognizeRegistry('registry.example.com:443', OPEN_POLICY)).toBeUndefined();
    expect(recognizeRegistry('127.0.0.1', OPEN_POLICY)).toBeUndefined();
    expect(recognizeRegistry('127.0.0.1:5001', OPEN_POLICY)).toBeUndefined();
  });

  test('* is one label', () => {
    expect(recognizeRegistry('a.corp.example', OPEN_POLICY)).toEqual({ kind: 'allowed', pattern: '*.corp.example' });
    expect(recognizeRegistry('a.b.corp.example', OPEN_POLICY)).toBeUndefined();
    expect(recognizeRegistry('corp.example', OPEN_POLICY)).toBeUndefined();
    expect(recognizeRegistry('a.corp.example:5000', OPEN_POLICY)).toBeUndefined();
  });

  test('matching is case-sensitive, like the kubelet (refusing is the safe side)', () => {
    expect(recognizeRegistry('Registry.Example.com', OPEN_POLICY)).toBeUndefined();
  });

  test('OCIR hosts are reported as OCIR even when a pattern also matches', () => {
    const both = policy({ allowedHostPatterns: ['*.ocir.io'] });
    expect(recognizeRegistry('fra.ocir.io', both)).toMatchObject({ kind: 'ocir', region: { regionKey: 'fra' } });
  });

  test('an allowlist entry can admit an OCIR name with a port (an explicit operator choice)', () => {
    expect(recognizeRegistry('fra.ocir.io:8443', policy({ allowedHostPatterns: ['fra.ocir.io:8443'] }))).toEqual({
      kind: 'allowed',
      pattern: 'fra.ocir.io:8443',
    });
  });

  test('unusable patterns are ignored even if validation was skipped', () => {
    const careless = policy({ allowedHostPatterns: ['*.*', '*', 'https://evil.com', 'evil.com/*', 'registry.*'] });
    for (const host of ['evil.com', 'localhost', 'registry.anything']) {
      expect(recognizeRegistry(host, careless)).toBeUndefined();
    }
  });
});

describe('validateHostPattern', () => {
  test.each([
    'registry.example.com',
    '127.0.0.1:5000',
    '*.corp.example',
    'registry-*.corp.example',
    '*.*.corp.example:5000',
    'localhost',
    'localhost:5000',
    'reg[0-9].corp.example',
    'fra.ocir.io:8443',
    '10.0.0.5:5000',
    '*.10-0-0-1.nip.example',
    '*.1e100.net',
    'reg1.corp2.example3',
  ])('%s is usable', (pattern) => {
    expect(validateHostPattern(pattern)).toBeUndefined();
  });

  test.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['reg .example.com', 'whitespace'],
    ['https://registry.example.com', 'scheme'],
    ['oci://registry.example.com', 'scheme'],
    ['registry.example.com/*', '"/*"'],
    ['*.registry.io/*', '"/*"'],
    ['registry.example.com/team', 'path'],
    ['registry.example.com/', 'path'],
    ['user@registry.example.com', '"@"'],
    ['registry.example.com?x', '"?"'],
    ['registry.example.com#x', '"#"'],
    ['reg%41.example.com', '"%"'],
    ['[::1]:5000', 'IPv6'],
    ['.registry.example.com', 'empty label'],
    ['registry.example.com.', 'empty label'],
    ['registry..example.com', 'empty label'],
    ['registry.example.com:', 'empty port'],
    ['registry.example.com:*', 'bad port'],
    ['registry.example.com:50a', 'bad port'],
    ['registry.example.com:05000', 'as text'],
    ['registry.example.com:70000', 'above 65535'],
    ['a:1:2', 'more than one'],
    ['reg[.example.com', 'malformed glob'],
    ['*', 'last two labels'],
    ['*.*', 'last two labels'],
    ['*.com', 'last two labels'],
    ['registry.*', 'last two labels'],
    ['prefix.kubernetes.*', 'last two labels'],
    ['10.0.0.*:5000', 'IP address with a wildcard'],
    // Two literal labels, but an address has no owner to scope the wildcard to.
    ['*.*.0.1:5000', 'IP address with a wildcard'],
    ['*.*.0.1', 'IP address with a wildcard'],
    ['10.*.0.1', 'IP address with a wildcard'],
    ['10.0.*.1:5000', 'IP address with a wildcard'],
    ['1[0-9].0.0.1', 'IP address with a wildcard'],
    ['10.[^1].0.1', 'IP address with a wildcard'],
    ['10.0.[0-9].*', 'IP address with a wildcard'],
    ['*.10', 'IP address with a wildcard'],
    ['1*.2*.3*.4*', 'wildcard'],
    ['[::*]:5000', 'IPv6'],
    ['[fe80::*]', 'IPv6'],
    ['[*]', 'IPv6'],
    ['reg.ex[a-z]mple.com', 'last two labels'],
  ])('%j is refused (%s)', (pattern, reason) => {
    expect(validateHostPattern(pattern)).toContain(reason);
  });
});
