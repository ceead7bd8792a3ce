import { ProviderError, type ErrorCode } from '../errors.ts';
import { redactOutside } from '../log.ts';
import { builtInRegions, type RegionInfo } from './regionTable.ts';

export type { RegionInfo };

/**
 * Regions and realms: which realm a region belongs to decides where the node's certificate is sent
 * (`auth.<region-id>.<realm-domain>`) and which registry hosts are Oracle's (`ocir/hosts.ts`).
 */

/**
 * The raw text of each optional region-metadata source, as read by the caller (who reads each at
 * most once per process, as the SDKs do). Absent means the source does not exist or was not enabled.
 */
export interface RegionMetadataSources {
  /** Contents of `~/.oci/regions-config.json`: a JSON array of region-metadata objects. */
  readonly regionsConfigJson?: string;
  /** Value of `OCI_REGION_METADATA`: one region-metadata object. */
  readonly regionMetadataEnv?: string;
  /** Body of IMDS `/opc/v2/instance/regionInfo`: one region-metadata object. */
  readonly imdsRegionInfo?: string;
}

/** Names used in messages for each source, so an operator knows which one to fix. */
export const REGIONS_CONFIG_SOURCE = '~/.oci/regions-config.json';
export const REGION_METADATA_ENV = 'OCI_REGION_METADATA';
export const IMDS_REGION_INFO_SOURCE = 'IMDS /opc/v2/instance/regionInfo';

/** A lookup over the built-in table plus any region metadata the node supplied. */
export interface RegionTable {
  /** The region named by its short key or identifier (trimmed, case-insensitive); undefined when unknown. */
  lookup(regionKeyOrId: string): RegionInfo | undefined;
  /** Every realm domain of the table (e.g. `oraclecloud.com`, `oraclegovcloud.uk`). */
  realmDomains(): ReadonlySet<string>;
  /** Every region the table resolves to, built-in first. */
  all(): readonly RegionInfo[];
}

/** The realm domain of oc1, the only realm whose registries also answer as `<region>.ocir.io`. */
export const OC1_REALM_DOMAIN = 'oraclecloud.com';

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_DNS_NAME_CHARS = 253;

/** True for one lowercase ASCII DNS label (letters, digits, inner hyphens; at most 63 characters). */
export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

/**
 * True for a lowercase ASCII DNS name of at least two labels, without a trailing dot. Anything that
 * goes into a host name we build (realm domains, dotted regions) passes this first, so a `/`, `@` or
 * `:` in a setting can never turn a host into a path or userinfo.
 */
export function isDnsName(value: string): boolean {
  if (value.length > MAX_DNS_NAME_CHARS) return false;
  const labels = value.split('.');
  return labels.length >= 2 && labels.every(isDnsLabel);
}

const SCHEMA_FIELDS = ['realmKey', 'realmDomainComponent', 'regionKey', 'regionIdentifier'] as const;
type SchemaField = (typeof SCHEMA_FIELDS)[number];

/**
 * Parses one region-metadata object (`OCI_REGION_METADATA`, or one entry of regions-config.json):
 * `{"realmKey","realmDomainComponent","regionKey","regionIdentifier"}`, all required non-empty
 * strings, lowercased; other fields are ignored. `source` names the file or variable in errors.
 *
 * Throws `ERR_CONFIG_INVALID` (not `ERR_REGION_UNKNOWN`): the operator has to fix the named file or
 * variable, and the region-unknown hint ("set OCI_REGION_METADATA") would send them in a circle.
 * Unlike the SDKs, which skip an invalid entry with a debug log, this refuses it: a silently skipped
 * entry would surface later as a puzzling "unknown region".
 */
export function parseRegionMetadata(json: string, source: string): RegionInfo {
  return toRegionInfo(parseJson(json, source, 'ERR_CONFIG_INVALID'), source, 'ERR_CONFIG_INVALID');
}

/** Parses `~/.oci/regions-config.json`: a JSON array of region-metadata objects (see `parseRegionMetadata`). */
export function parseRegionsConfig(json: string, source: string): RegionInfo[] {
  const value = parseJson(json, source, 'ERR_CONFIG_INVALID');
  if (!Array.isArray(value)) {
    throw new ProviderError('ERR_CONFIG_INVALID', `${source} must be a JSON array of region objects`, {
      key: source,
      hint:
        `write ${source} as [{"realmKey":"oc1","realmDomainComponent":"oraclecloud.com",` +
        '"regionKey":"fra","regionIdentifier":"eu-frankfurt-1"}, ...]',
    });
  }
  return value.map((entry: unknown, i) => toRegionInfo(entry, `${source}[${i}]`, 'ERR_CONFIG_INVALID'));
}

/**
 * Parses the IMDS `regionInfo` body. Same schema, but a bad answer is `ERR_IMDS`: nothing the
 * operator configured is wrong, the metadata service answered with something unusable.
 */
export function parseImdsRegionInfo(body: string): RegionInfo {
  return toRegionInfo(parseJson(body, IMDS_REGION_INFO_SOURCE, 'ERR_IMDS'), IMDS_REGION_INFO_SOURCE, 'ERR_IMDS');
}

/**
 * Parses every source that is present, in the SDKs' order (regions-config.json, then
 * `OCI_REGION_METADATA`, then IMDS regionInfo), ready for `createRegionTable`. Callers that want to
 * avoid failing on a broken file when the region is built in call this only after a built-in miss.
 */
export function regionMetadataFromSources(sources: RegionMetadataSources): RegionInfo[] {
  const extra: RegionInfo[] = [];
  if (sources.regionsConfigJson !== undefined) {
    extra.push(...parseRegionsConfig(sources.regionsConfigJson, REGIONS_CONFIG_SOURCE));
  }
  if (sources.regionMetadataEnv !== undefined && sources.regionMetadataEnv.trim() !== '') {
    extra.push(parseRegionMetadata(sources.regionMetadataEnv, REGION_METADATA_ENV));
  }
  if (sources.imdsRegionInfo !== undefined) extra.push(parseImdsRegionInfo(sources.imdsRegionInfo));
  return extra;
}

function parseJson(text: string, source: string, code: ErrorCode): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the input; it stays out of the error (and no cause is kept).
    throw new ProviderError(code, `${source} is not valid JSON`, { key: source, hint: metadataHint(source) });
  }
}

function toRegionInfo(value: unknown, source: string, code: ErrorCode): RegionInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProviderError(code, `${source} must be a JSON object with ${SCHEMA_FIELDS.join(', ')}`, {
      key: source,
      hint: metadataHint(source),
    });
  }
  const record = value as Readonly<Record<string, unknown>>;
  const field = (name: SchemaField, valid: (v: string) => boolean, shape: string): string => {
    const raw = record[name];
    if (typeof raw !== 'string' || raw.trim() === '') {
      throw new ProviderError(code, `${source}: "${name}" must be a non-empty string`, {
        key: source,
        hint: metadataHint(source),
      });
    }
    const normalized = raw.trim().toLowerCase();
    // Every value ends up inside a host name (auth.<regionIdentifier>.<realmDomainComponent>).
    if (!valid(normalized)) {
      throw new ProviderError(code, `${source}: "${name}" ${quote(normalized)} is not ${shape}`, {
        key: source,
        hint: metadataHint(source),
      });
    }
    return normalized;
  };
  return {
    realmKey: field('realmKey', isDnsLabel, 'a DNS label such as "oc1"'),
    realmDomain: field('realmDomainComponent', isDnsName, 'a domain such as "oraclecloud.com"'),
    regionKey: field('regionKey', isDnsLabel, 'a DNS label such as "fra"'),
    regionId: field('regionIdentifier', isDnsLabel, 'a DNS label such as "eu-frankfurt-1"'),
  };
}

function metadataHint(source: string): string {
  if (source.startsWith(IMDS_REGION_INFO_SOURCE)) {
    return (
      'IMDS regionInfo should be {"realmKey","realmDomainComponent","regionKey","regionIdentifier"}; ' +
      'retry, or set OCI_REGION_METADATA'
    );
  }
  return `${source} needs {"realmKey","realmDomainComponent","regionKey","regionIdentifier"}, all non-empty strings`;
}

/** JSON-quotes a value for a message, cut short: region strings are not secret, but may be long. */
function quote(value: string): string {
  const MAX_QUOTED_CHARS = 64;
  // Values from IMDS, a file or the environment: cleaned before they reach a log line.
  return JSON.stringify(redactOutside(value, MAX_QUOTED_CHARS));
}

function normalizeRegion(region: RegionInfo): RegionInfo {
  return Object.freeze({
    regionKey: region.regionKey.trim().toLowerCase(),
    regionId: region.regionId.trim().toLowerCase(),
    realmKey: region.realmKey.trim().toLowerCase(),
    realmDomain: region.realmDomain.trim().toLowerCase(),
  });
}

/**
 * The built-in table followed by `extra` (in the SDKs' order: regions-config.json, then
 * `OCI_REGION_METADATA`, then IMDS regionInfo; see `regionMetadataFromSources`).
 *
 * The first source that knows a name wins, as in the SDKs, which consult the next source only when
 * the region is still unknown. An extra entry whose short key or identifier is already known is
 * dropped whole, so a local file can add regions but never move a built-in region (or an earlier
 * entry) to another realm, which would send the node's certificate to that realm's auth host.
 */
export function createRegionTable(extra: readonly RegionInfo[] = []): RegionTable {
  // Built on the first question: recognising a registry with a port, or an allowed host, asks none.
  let built: { byName: Map<string, RegionInfo>; all: readonly RegionInfo[]; domains: ReadonlySet<string> } | undefined;
  const table = (): NonNullable<typeof built> => {
    if (built !== undefined) return built;
    const byName = new Map<string, RegionInfo>();
    const effective: RegionInfo[] = [];
    for (const region of [...builtInRegions(), ...extra.map(normalizeRegion)]) {
      if (byName.has(region.regionKey) || byName.has(region.regionId)) continue;
      byName.set(region.regionKey, region);
      byName.set(region.regionId, region);
      effective.push(region);
    }
    built = { byName, all: Object.freeze(effective), domains: new Set(effective.map((r) => r.realmDomain)) };
    return built;
  };
  return {
    lookup: (regionKeyOrId) => table().byName.get(regionKeyOrId.trim().toLowerCase()),
    realmDomains: () => table().domains,
    all: () => table().all,
  };
}

/** The federation endpoint of a region: `https://auth.<region-id>.<realm-domain>` (no `oci.` label). */
export function authEndpoint(region: RegionInfo): string {
  return `https://auth.${region.regionId}.${region.realmDomain}`;
}

/**
 * The region for a region string (short key or identifier, any case), or `ERR_REGION_UNKNOWN`.
 *
 * There is deliberately no fallback to oc1 (or `OCI_DEFAULT_REALM`) as in the Go and TypeScript
 * SDKs: guessing the realm would send the node's instance certificate and a signed federation
 * request to another realm's auth service. A clear error that says how to name the realm is better.
 */
export function resolveRegion(regionString: string, table: RegionTable): RegionInfo {
  const name = regionString.trim().toLowerCase();
  if (name === '') {
    throw new ProviderError('ERR_REGION_UNKNOWN', 'no region is known for this node', {
      hint: 'check that IMDS /opc/v2/instance/region answers, or set the region in the provider settings',
    });
  }
  const region = table.lookup(name);
  if (region !== undefined) return region;
  throw new ProviderError(
    'ERR_REGION_UNKNOWN',
    `region ${quote(name)} is unknown: it is neither built in nor in the region metadata read ` +
      `(${REGIONS_CONFIG_SOURCE}, ${REGION_METADATA_ENV}, IMDS regionInfo)`,
    {
      key: 'region',
      hint:
        `set ${REGION_METADATA_ENV} to {"realmKey":"ocN","realmDomainComponent":"<realm domain>",` +
        `"regionKey":"<key>","regionIdentifier":${quote(name)}} or enable the IMDS regionInfo lookup; ` +
        'the provider does not guess the realm',
    },
  );
}

/** Options of `resolveAuthEndpoint`. */
export interface AuthEndpointOptions {
  /** A full auth endpoint URL that replaces the derived one (Go's `OCI_SDK_AUTH_CLIENT_REGION_URL`). */
  readonly override?: string;
  /** The setting or variable `override` came from, named in errors; `authEndpoint` when not given. */
  readonly overrideName?: string;
}

/**
 * The federation endpoint for a region string:
 * - `override`, when set, wins (validated by `validateAuthEndpointOverride`, returned as its origin);
 * - a region containing a dot is a domain, used as `https://auth.<that>` (Go's "dotted region" rule);
 * - otherwise the region is looked up in `table`; unknown is `ERR_REGION_UNKNOWN` (see `resolveRegion`).
 */
export function resolveAuthEndpoint(
  regionString: string,
  table: RegionTable,
  options: AuthEndpointOptions = {},
): string {
  if (options.override !== undefined && options.override.trim() !== '') {
    const override = options.override.trim();
    const reason = validateAuthEndpointOverride(override);
    if (reason !== undefined) {
      const name = options.overrideName ?? 'authEndpoint';
      throw new ProviderError('ERR_CONFIG_INVALID', `the auth endpoint override ${name}=${quote(override)} ${reason}`, {
        key: name,
        hint: 'give an origin such as https://auth.eu-frankfurt-1.oraclecloud.com',
      });
    }
    return new URL(override).origin;
  }
  const name = regionString.trim().toLowerCase();
  if (name.includes('.')) {
    if (!isDnsName(name)) {
      throw new ProviderError('ERR_REGION_UNKNOWN', `region ${quote(name)} contains a dot but is not a valid domain`, {
        key: 'region',
        hint: 'give a region key (fra), an identifier (eu-frankfurt-1) or a domain (eu-frankfurt-1.oraclecloud.com)',
      });
    }
    return `https://auth.${name}`;
  }
  return authEndpoint(resolveRegion(name, table));
}

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Why an auth endpoint override is unusable, or undefined when it is fine: it must be an `https`
 * origin (no path, query, fragment or credentials). Plain `http` is accepted only for a loopback host
 * (tests, a local emulator), because the federation answer carries a session token.
 */
export function validateAuthEndpointOverride(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) return 'must use https (http only for loopback)';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return 'must be an origin without a path or query';
  return undefined;
}
