/** One region, all fields lowercase: what the SDKs' table and the region-metadata sources say of it. */
export interface RegionInfo {
  /** Short key, e.g. `fra`. */
  readonly regionKey: string;
  /** Region identifier, e.g. `eu-frankfurt-1`. */
  readonly regionId: string;
  /** Realm key, e.g. `oc1`. */
  readonly realmKey: string;
  /** The realm's second-level domain, e.g. `oraclecloud.com`. */
  readonly realmDomain: string;
}

/**
 * The SDKs' built-in realm and region table (oci-go-sdk `common/regions.json`, oci-python-sdk
 * `regions_definitions.py`, oci-typescript-sdk `realm.ts`/`region.ts`; 20 realms, 85 regions as of
 * mid-2026). Cross-checked against the Python SDK's 2025 definitions (73 regions, all identical) and
 * a snapshot of oci-common 2.140 (the same 85 region-to-realm pairs); the 12 newer short keys come
 * from the spec (oci-auth.md §11).
 *
 * Kept as data, one line per realm, so adding a region is a one-line diff that a reviewer can check
 * against the SDK. Regions missing here still work through `~/.oci/regions-config.json`,
 * `OCI_REGION_METADATA` or IMDS `regionInfo` (see `regions.ts`).
 */
type RealmRow = readonly [realmKey: string, realmDomain: string, regions: Readonly<Record<string, string>>];

const REALMS: readonly RealmRow[] = [
  [
    'oc1',
    'oraclecloud.com',
    {
      lej: 'af-casablanca-1',
      jnb: 'af-johannesburg-1',
      hsg: 'ap-batam-1',
      yny: 'ap-chuncheon-1',
      onm: 'ap-delhi-1',
      hyd: 'ap-hyderabad-1',
      jbp: 'ap-kulai-2',
      mel: 'ap-melbourne-1',
      bom: 'ap-mumbai-1',
      kix: 'ap-osaka-1',
      icn: 'ap-seoul-1',
      sin: 'ap-singapore-1',
      xsp: 'ap-singapore-2',
      syd: 'ap-sydney-1',
      nrt: 'ap-tokyo-1',
      yul: 'ca-montreal-1',
      yyz: 'ca-toronto-1',
      ams: 'eu-amsterdam-1',
      fra: 'eu-frankfurt-1',
      mad: 'eu-madrid-1',
      orf: 'eu-madrid-3',
      mrs: 'eu-marseille-1',
      lin: 'eu-milan-1',
      cdg: 'eu-paris-1',
      arn: 'eu-stockholm-1',
      nrq: 'eu-turin-1',
      zrh: 'eu-zurich-1',
      mtz: 'il-jerusalem-1',
      auh: 'me-abudhabi-1',
      dxb: 'me-dubai-1',
      jed: 'me-jeddah-1',
      ruh: 'me-riyadh-1',
      mty: 'mx-monterrey-1',
      qro: 'mx-queretaro-1',
      bog: 'sa-bogota-1',
      scl: 'sa-santiago-1',
      gru: 'sa-saopaulo-1',
      vap: 'sa-valparaiso-1',
      vcp: 'sa-vinhedo-1',
      cwl: 'uk-cardiff-1',
      lhr: 'uk-london-1',
      iad: 'us-ashburn-1',
      ord: 'us-chicago-1',
      phx: 'us-phoenix-1',
      aga: 'us-saltlake-2',
      sjc: 'us-sanjose-1',
    },
  ],
  ['oc2', 'oraclegovcloud.com', { lfi: 'us-langley-1', luf: 'us-luke-1' }],
  ['oc3', 'oraclegovcloud.com', { ric: 'us-gov-ashburn-1', pia: 'us-gov-chicago-1', tus: 'us-gov-phoenix-1' }],
  ['oc4', 'oraclegovcloud.uk', { brs: 'uk-gov-cardiff-1', ltn: 'uk-gov-london-1' }],
  ['oc8', 'oraclecloud8.com', { nja: 'ap-chiyoda-1', ukb: 'ap-ibaraki-1' }],
  ['oc9', 'oraclecloud9.com', { mct: 'me-dcc-muscat-1', ibr: 'me-ibri-1' }],
  ['oc10', 'oraclecloud10.com', { wga: 'ap-dcc-canberra-1' }],
  [
    'oc14',
    'oraclecloud14.com',
    {
      ork: 'eu-dcc-dublin-1',
      snn: 'eu-dcc-dublin-2',
      bgy: 'eu-dcc-milan-1',
      mxp: 'eu-dcc-milan-2',
      dus: 'eu-dcc-rating-1',
      dtm: 'eu-dcc-rating-2',
    },
  ],
  ['oc15', 'oraclecloud15.com', { dac: 'ap-dcc-gazipur-1' }],
  ['oc19', 'oraclecloud.eu', { str: 'eu-frankfurt-2', vll: 'eu-madrid-2' }],
  ['oc20', 'oraclecloud20.com', { beg: 'eu-jovanovac-1' }],
  ['oc21', 'oraclecloud21.com', { vve: 'me-alrayyan-1', doh: 'me-dcc-doha-1' }],
  ['oc23', 'oraclecloud23.com', { ebb: 'us-somerset-1', ebl: 'us-thames-1' }],
  ['oc24', 'oraclecloud24.com', { avf: 'eu-crissier-1', avz: 'eu-dcc-zurich-1' }],
  ['oc26', 'oraclecloud26.com', { ahu: 'me-abudhabi-3', rba: 'me-alain-1' }],
  ['oc29', 'oraclecloud29.com', { rkt: 'me-abudhabi-2', shj: 'me-abudhabi-4' }],
  ['oc35', 'oraclecloud35.com', { bno: 'ap-chuncheon-2', dtz: 'ap-seoul-2', dln: 'ap-suwon-1' }],
  ['oc42', 'oraclecloud42.com', { yxj: 'us-ashburn-2', pgc: 'us-newark-1' }],
  ['oc51', 'oraclecloud51.com', { jsk: 'eu-budapest-1' }],
  ['oc52', 'oraclecloud52.com', { hnw: 'sa-riodejaneiro-1' }],
];

/**
 * Every built-in region, flattened, lowercase, frozen. Built on first use, not when the module is
 * evaluated: an exec answered from the cache for a registry that names no region never needs it.
 */
let builtIn: readonly RegionInfo[] | undefined;

export function builtInRegions(): readonly RegionInfo[] {
  if (builtIn === undefined) {
    const regions: RegionInfo[] = [];
    for (const [realmKey, realmDomain, byKey] of REALMS) {
      for (const regionKey in byKey) regions.push(Object.freeze({ regionKey, regionId: byKey[regionKey] as string, realmKey, realmDomain }));
    }
    builtIn = Object.freeze(regions);
  }
  return builtIn;
}
