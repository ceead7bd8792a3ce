import { describe, expect, test } from 'bun:test';
import { isProviderError, type ProviderError } from '../../src/errors.ts';
import {
  authEndpoint,
  createRegionTable,
  IMDS_REGION_INFO_SOURCE,
  parseImdsRegionInfo,
  parseRegionMetadata,
  parseRegionsConfig,
  regionMetadataFromSources,
  REGION_METADATA_ENV,
  REGIONS_CONFIG_SOURCE,
  resolveAuthEndpoint,
  resolveRegion,
  validateAuthEndpointOverride,
  type RegionInfo,
} from '../../src/oci/regions.ts';

/** oci-auth.md §11, written out independently of src/oci/regionTable.ts so a typo in either shows. */
const SPEC_TABLE: Record<string, { domain: string; regions: string }> = {
  oc1: {
    domain: 'oraclecloud.com',
    regions:
      'lej = af-casablanca-1, jnb = af-johannesburg-1, hsg = ap-batam-1, yny = ap-chuncheon-1, onm = ap-delhi-1, ' +
      'hyd = ap-hyderabad-1, jbp = ap-kulai-2, mel = ap-melbourne-1, bom = ap-mumbai-1, kix = ap-osaka-1, ' +
      'icn = ap-seoul-1, sin = ap-singapore-1, xsp = ap-singapore-2, syd = ap-sydney-1, nrt = ap-tokyo-1, ' +
      'yul = ca-montreal-1, yyz = ca-toronto-1, ams = eu-amsterdam-1, fra = eu-frankfurt-1, mad = eu-madrid-1, ' +
      'orf = eu-madrid-3, mrs = eu-marseille-1, lin = eu-milan-1, cdg = eu-paris-1, arn = eu-stockholm-1, ' +
      'nrq = eu-turin-1, zrh = eu-zurich-1, mtz = il-jerusalem-1, auh = me-abudhabi-1, dxb = me-dubai-1, ' +
      'jed = me-jeddah-1, ruh = me-riyadh-1, mty = mx-monterrey-1, qro = mx-queretaro-1, bog = sa-bogota-1, ' +
      'scl = sa-santiago-1, gru = sa-saopaulo-1, vap = sa-valparaiso-1, vcp = sa-vinhedo-1, cwl = uk-cardiff-1, ' +
      'lhr = uk-london-1, iad = us-ashburn-1, ord = us-chicago-1, phx = us-phoenix-1, aga = us-saltlake-2, ' +
      'sjc = us-sanjose-1',
  },
  oc2: { domain: 'oraclegovcloud.com', regions: 'lfi = us-langley-1, luf = us-luke-1' },
  oc3: {
    domain: 'oraclegovcloud.com',
    regions: 'ric = us-gov-ashburn-1, pia = us-gov-chicago-1, tus = us-gov-phoenix-1',
  },
  oc4: { domain: 'oraclegovcloud.uk', regions: 'brs = uk-gov-cardiff-1, ltn = uk-gov-london-1' },
  oc8: { domain: 'oraclecloud8.com', regions: 'nja = ap-chiyoda-1, ukb = ap-ibaraki-1' },
  oc9: { domain: 'oraclecloud9.com', regions: 'mct = me-dcc-muscat-1, ibr = me-ibri-1' },
  oc10: { domain: 'oraclecloud10.com', regions: 'wga = ap-dcc-canberra-1' },
  oc14: {
    domain: 'oraclecloud14.com',
    regions:
      'ork = eu-dcc-dublin-1, snn = eu-dcc-dublin-2, bgy = eu-dcc-milan-1, mxp = eu-dcc-milan-2, ' +
      'dus = eu-dcc-rating-1, dtm = eu-dcc-rating-2',
  },
  oc15: { domain: 'oraclecloud15.com', regions: 'dac = ap-dcc-gazipur-1' },
  oc19: { domain: 'oraclecloud.eu', regions: 'str = eu-frankfurt-2, vll = eu-madrid-2' },
  oc20: { domain: 'oraclecloud20.com', regions: 'beg = eu-jovanovac-1' },
  oc21: { domain: 'oraclecloud21.com', regions: 'vve = me-alrayyan-1, doh = me-dcc-doha-1' },
  oc23: { domain: 'oraclecloud23.com', regions: 'ebb = us-somerset-1, ebl = us-thames-1' },
  oc24: { domain: 'oraclecloud24.com', regions: 'avf = eu-crissier-1, avz = eu-dcc-zurich-1' },
  oc26: { domain: 'oraclecloud26.com', regions: 'ahu = me-abudhabi-3, rba = me-alain-1' },
  oc29: { domain: 'oraclecloud29.com', regions: 'rkt = me-abudhabi-2, shj = me-abudhabi-4' },
  oc35: { domain: 'oraclecloud35.com', regions: 'bno = ap-chuncheon-2, dtz = ap-seoul-2, dln = ap-suwon-1' },
  oc42: { domain: 'oraclecloud42.com', regions: 'yxj = us-ashburn-2, pgc = us-newark-1' },
  oc51: { domain: 'oraclecloud51.com', regions: 'jsk = eu-budapest-1' },
  oc52: { domain: 'oraclecloud52.com', regions: 'hnw = sa-riodejaneiro-1' },
};

const SPEC_REGIONS: RegionInfo[] = Object.entries(SPEC_TABLE).flatMap(([realmKey, { domain, regions }]) =>
  regions.split(', ').map((pair) => {
    const [regionKey = '', regionId = ''] = pair.split(' = ');
    return { regionKey, regionId, realmKey, realmDomain: domain };
  }),
);

/** Runs `fn`, expecting a ProviderError, and returns it. */
function providerError(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected a ProviderError, nothing was thrown');
}

const metadata = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    realmKey: 'oc99',
    realmDomainComponent: 'example-realm.com',
    regionKey: 'xyz',
    regionIdentifier: 'xx-newcity-1',
    ...fields,
  });

describe('built-in table', () => {
  const table = createRegionTable();

  test('has every realm and region of oci-auth.md §11, and nothing else', () => {
    expect(SPEC_REGIONS.length).toBe(85);
    expect(new Set(Object.keys(SPEC_TABLE)).size).toBe(20);
    const key = (r: RegionInfo) => `${r.realmKey} ${r.realmDomain} ${r.regionKey} ${r.regionId}`;
    expect(table.all().map(key).sort()).toEqual(SPEC_REGIONS.map(key).sort());
  });

  test.each(SPEC_REGIONS.map((r) => [r.regionKey, r.regionId, r.realmKey] as const))(
    '%s / %s (%s) resolves by short key and by identifier, in any case and with spaces',
    (regionKey, regionId) => {
      const expected = SPEC_REGIONS.find((r) => r.regionId === regionId);
      expect(expected).toBeDefined();
      expect(table.lookup(regionKey)).toEqual(expected);
      expect(table.lookup(regionId)).toEqual(expected);
      expect(table.lookup(` ${regionKey.toUpperCase()}\n`)).toEqual(expected);
      expect(table.lookup(regionId.toUpperCase())).toEqual(expected);
    },
  );

  test('short keys and identifiers are unique across the table', () => {
    const names = SPEC_REGIONS.flatMap((r) => [r.regionKey, r.regionId]);
    expect(new Set(names).size).toBe(names.length);
  });

  test('realm domains are the 19 distinct second-level domains', () => {
    const domains = new Set(Object.values(SPEC_TABLE).map((r) => r.domain));
    expect(domains.size).toBe(19);
    expect([...table.realmDomains()].sort()).toEqual([...domains].sort());
  });

  test('unknown names are undefined, not a guess', () => {
    expect(table.lookup('xx-newcity-1')).toBeUndefined();
    expect(table.lookup('')).toBeUndefined();
    expect(table.lookup('fra.')).toBeUndefined();
  });
});

describe('region metadata parsing', () => {
  test('a good object is lowercased and trimmed; extra fields are ignored', () => {
    const json = JSON.stringify({
      realmKey: 'OC99',
      realmDomainComponent: 'Example-Realm.COM',
      regionKey: ' XYZ ',
      regionIdentifier: 'XX-NewCity-1',
      extra: 42,
    });
    expect(parseRegionMetadata(json, REGION_METADATA_ENV)).toEqual({
      realmKey: 'oc99',
      realmDomain: 'example-realm.com',
      regionKey: 'xyz',
      regionId: 'xx-newcity-1',
    });
  });

  test('the IMDS example of oci-auth.md §2.1 parses', () => {
    const body =
      '{"realmKey":"oc1","realmDomainComponent":"oraclecloud.com","regionKey":"YUL","regionIdentifier":"ca-montreal-1"}';
    expect(parseImdsRegionInfo(body)).toEqual({
      realmKey: 'oc1',
      realmDomain: 'oraclecloud.com',
      regionKey: 'yul',
      regionId: 'ca-montreal-1',
    });
  });

  test.each(['realmKey', 'realmDomainComponent', 'regionKey', 'regionIdentifier'])(
    'a missing, empty or non-string %s is ERR_CONFIG_INVALID naming the source and the field',
    (field) => {
      for (const bad of [undefined, '', '   ', 7, null, ['oc1'], { a: 1 }]) {
        const error = providerError(() => parseRegionMetadata(metadata({ [field]: bad }), REGION_METADATA_ENV));
        expect(error.code).toBe('ERR_CONFIG_INVALID');
        expect(error.message).toContain(REGION_METADATA_ENV);
        expect(error.message).toContain(`"${field}"`);
        expect(error.details.key).toBe(REGION_METADATA_ENV);
        expect(error.hint).toBeDefined();
      }
    },
  );

  test('values that would break a host name are refused', () => {
    const cases: Record<string, unknown>[] = [
      { regionIdentifier: 'eu-frankfurt-1/evil' },
      { regionIdentifier: 'eu.frankfurt' },
      { realmDomainComponent: 'evil.com/x' },
      { realmDomainComponent: 'com' },
      { realmDomainComponent: 'oraclecloud.com.' },
      { realmDomainComponent: 'user@evil.com' },
      { regionKey: 'fra:443' },
      { realmKey: 'oc 1' },
      { regionIdentifier: 'frаnkfurt-1' }, // Cyrillic а
    ];
    for (const fields of cases) {
      const error = providerError(() => parseRegionMetadata(metadata(fields), REGION_METADATA_ENV));
      expect(error.code).toBe('ERR_CONFIG_INVALID');
      expect(error.message).toContain(Object.keys(fields)[0]!);
    }
  });

  test('text that is not JSON, or not an object, is refused without echoing it', () => {
    for (const text of ['{realmKey: oc1}', '', 'secret-looking-text', '[]', '"fra"', 'null', '42']) {
      const error = providerError(() => parseRegionMetadata(text, REGION_METADATA_ENV));
      expect(error.code).toBe('ERR_CONFIG_INVALID');
      expect(error.message).toContain(REGION_METADATA_ENV);
      expect(error.message).not.toContain('secret-looking-text');
      expect(error.cause).toBeUndefined();
    }
  });

  test('regions-config.json is an array; a bad entry is named by its index', () => {
    const good = metadata({});
    const other = metadata({ regionKey: 'abc', regionIdentifier: 'xx-othercity-1' });
    expect(parseRegionsConfig(`[${good},${other}]`, REGIONS_CONFIG_SOURCE).map((r) => r.regionKey)).toEqual([
      'xyz',
      'abc',
    ]);
    expect(parseRegionsConfig('[]', REGIONS_CONFIG_SOURCE)).toEqual([]);

    const notArray = providerError(() => parseRegionsConfig(good, REGIONS_CONFIG_SOURCE));
    expect(notArray.code).toBe('ERR_CONFIG_INVALID');
    expect(notArray.message).toContain('~/.oci/regions-config.json');

    const badEntry = providerError(() =>
      parseRegionsConfig(`[${good},${metadata({ regionKey: 3 })}]`, '/home/opc/.oci/regions-config.json'),
    );
    expect(badEntry.code).toBe('ERR_CONFIG_INVALID');
    expect(badEntry.message).toContain('/home/opc/.oci/regions-config.json[1]');
    expect(badEntry.message).toContain('"regionKey"');

    expect(providerError(() => parseRegionsConfig('[{', REGIONS_CONFIG_SOURCE)).code).toBe('ERR_CONFIG_INVALID');
  });

  test('a bad IMDS regionInfo answer is ERR_IMDS, not a config error', () => {
    for (const body of ['<html>', '{}', metadata({ regionIdentifier: 42 })]) {
      const error = providerError(() => parseImdsRegionInfo(body));
      expect(error.code).toBe('ERR_IMDS');
      expect(error.message).toContain(IMDS_REGION_INFO_SOURCE);
    }
  });
});

describe('resolution order and precedence', () => {
  const entry = (regionKey: string, regionIdentifier: string, realmKey: string, realmDomainComponent: string) =>
    metadata({ regionKey, regionIdentifier, realmKey, realmDomainComponent });
  const configEntry = entry('aaa', 'xx-shared-1', 'oc90', 'from-file.com');
  const envEntry = entry('bbb', 'xx-shared-1', 'oc91', 'from-env.com');
  const imdsEntry = entry('ccc', 'xx-imds-1', 'oc92', 'from-imds.com');
  const allSources = { regionsConfigJson: `[${configEntry}]`, regionMetadataEnv: envEntry, imdsRegionInfo: imdsEntry };

  test('sources are read in the SDK order: regions-config.json, OCI_REGION_METADATA, IMDS', () => {
    const extra = regionMetadataFromSources(allSources);
    expect(extra.map((r) => r.realmKey)).toEqual(['oc90', 'oc91', 'oc92']);
  });

  test('absent sources and an empty OCI_REGION_METADATA contribute nothing', () => {
    expect(regionMetadataFromSources({})).toEqual([]);
    expect(regionMetadataFromSources({ regionMetadataEnv: '  ' })).toEqual([]);
  });

  test('the first source that knows a name wins', () => {
    const table = createRegionTable(regionMetadataFromSources(allSources));
    expect(table.lookup('xx-shared-1')?.realmDomain).toBe('from-file.com');
    expect(table.lookup('aaa')?.realmDomain).toBe('from-file.com');
    // The env entry collides on its identifier, so it is dropped whole, short key included.
    expect(table.lookup('bbb')).toBeUndefined();
    expect(table.lookup('ccc')?.realmDomain).toBe('from-imds.com');
    expect(table.realmDomains().has('from-file.com')).toBe(true);
    expect(table.realmDomains().has('from-env.com')).toBe(false);
    expect(table.all().length).toBe(SPEC_REGIONS.length + 2);
  });

  test('the built-in table wins: local metadata cannot move a known region to another realm', () => {
    const table = createRegionTable([
      { regionKey: 'fra', regionId: 'eu-frankfurt-1', realmKey: 'oc99', realmDomain: 'evil.example' },
      { regionKey: 'zzz', regionId: 'us-ashburn-1', realmKey: 'oc99', realmDomain: 'evil.example' },
    ]);
    expect(table.lookup('fra')?.realmDomain).toBe('oraclecloud.com');
    expect(table.lookup('us-ashburn-1')?.realmDomain).toBe('oraclecloud.com');
    expect(table.lookup('zzz')).toBeUndefined();
    expect(table.realmDomains().has('evil.example')).toBe(false);
  });

  test('an IMDS regionInfo for a new region makes it resolvable', () => {
    const table = createRegionTable([parseImdsRegionInfo(imdsEntry)]);
    expect(table.lookup('CCC')).toEqual({
      regionKey: 'ccc',
      regionId: 'xx-imds-1',
      realmKey: 'oc92',
      realmDomain: 'from-imds.com',
    });
    expect(authEndpoint(table.lookup('ccc')!)).toBe('https://auth.xx-imds-1.from-imds.com');
  });

  test('extra entries given by hand are normalised to lowercase', () => {
    const table = createRegionTable([{ regionKey: 'QQQ', regionId: 'XX-Q-1', realmKey: 'OC98', realmDomain: 'Q.Ex' }]);
    const expected: RegionInfo = { regionKey: 'qqq', regionId: 'xx-q-1', realmKey: 'oc98', realmDomain: 'q.ex' };
    expect(table.lookup('qqq')).toEqual(expected);
  });
});

describe('auth endpoint', () => {
  const table = createRegionTable();

  test.each(SPEC_REGIONS.map((r) => [r.regionKey, `https://auth.${r.regionId}.${r.realmDomain}`] as const))(
    '%s → %s',
    (regionKey, expected) => {
      expect(resolveAuthEndpoint(regionKey, table)).toBe(expected);
      expect(authEndpoint(table.lookup(regionKey)!)).toBe(expected);
    },
  );

  test('there is no oci. label and no trailing slash', () => {
    expect(resolveAuthEndpoint('eu-frankfurt-1', table)).toBe('https://auth.eu-frankfurt-1.oraclecloud.com');
    expect(resolveAuthEndpoint(' PHX ', table)).toBe('https://auth.us-phoenix-1.oraclecloud.com');
    expect(resolveAuthEndpoint('ltn', table)).toBe('https://auth.uk-gov-london-1.oraclegovcloud.uk');
  });

  test('an unknown region is ERR_REGION_UNKNOWN that says how to name the realm, never an oc1 guess', () => {
    const error = providerError(() => resolveAuthEndpoint('xx-newcity-1', table));
    expect(error.code).toBe('ERR_REGION_UNKNOWN');
    expect(error.message).toContain('"xx-newcity-1"');
    expect(error.hint).toContain('OCI_REGION_METADATA');
    expect(error.hint).toContain('IMDS regionInfo');
    expect(providerError(() => resolveAuthEndpoint('test', table)).code).toBe('ERR_REGION_UNKNOWN');
    expect(providerError(() => resolveRegion('', table)).code).toBe('ERR_REGION_UNKNOWN');
    expect(providerError(() => resolveRegion('   ', table)).code).toBe('ERR_REGION_UNKNOWN');
  });

  test('a region containing a dot is a domain: auth.<that>', () => {
    expect(resolveAuthEndpoint('us-ashburn-1.oraclecloud.com', table)).toBe(
      'https://auth.us-ashburn-1.oraclecloud.com',
    );
    expect(resolveAuthEndpoint('XX-New-1.Example-Realm.com', table)).toBe('https://auth.xx-new-1.example-realm.com');
    for (const bad of ['evil.com/x', 'a..b', 'fra.', '.fra', 'user@evil.com', 'evil.com:443', 'frа.com']) {
      expect(providerError(() => resolveAuthEndpoint(bad, table)).code).toBe('ERR_REGION_UNKNOWN');
    }
  });

  test('an override wins over the region, as its origin', () => {
    const override = 'https://auth.example.com/';
    expect(resolveAuthEndpoint('fra', table, { override })).toBe('https://auth.example.com');
    expect(resolveAuthEndpoint('unknown', table, { override: 'http://127.0.0.1:8443' })).toBe('http://127.0.0.1:8443');
    expect(resolveAuthEndpoint('fra', table, { override: '  ' })).toBe('https://auth.eu-frankfurt-1.oraclecloud.com');
  });

  test('an unusable override is ERR_CONFIG_INVALID', () => {
    const unusable = [
      'auth.example.com',
      'ftp://auth.example.com',
      'http://auth.example.com',
      'https://u:p@auth.example.com',
      'https://auth.example.com/v1/x509',
      'https://auth.example.com?x=1',
    ];
    for (const bad of unusable) {
      expect(validateAuthEndpointOverride(bad)).toBeString();
      expect(providerError(() => resolveAuthEndpoint('fra', table, { override: bad })).code).toBe('ERR_CONFIG_INVALID');
    }
    const named = providerError(() =>
      resolveAuthEndpoint('fra', table, {
        override: 'http://evil.example',
        overrideName: 'OCI_SDK_AUTH_CLIENT_REGION_URL',
      }),
    );
    expect(named.details.key).toBe('OCI_SDK_AUTH_CLIENT_REGION_URL');
    expect(named.message).toContain('OCI_SDK_AUTH_CLIENT_REGION_URL');
    expect(validateAuthEndpointOverride('https://auth.eu-frankfurt-1.oraclecloud.com')).toBeUndefined();
    expect(validateAuthEndpointOverride('http://localhost:1234/')).toBeUndefined();
    expect(validateAuthEndpointOverride('http://[::1]:1234')).toBeUndefined();
  });
});
