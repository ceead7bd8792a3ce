import { describe, expect, test } from 'bun:test';
import { Realm, Region } from 'oci-common';
import { createRegionTable } from '../../src/oci/regions.ts';
import { ocirHostsForRegion, recognizeRegistry } from '../../src/ocir/hosts.ts';

/**
 * Every region and realm Oracle's TS SDK knows, held against src/oci/regions.ts (same realm, same
 * realm domain, same short key) and src/ocir/hosts.ts (every OCIR host form recognised as OCIR of
 * that region). When an SDK upgrade brings a region we lack, this fails and names it.
 *
 * The SDK's built-in lists are its static `Region.*` and `Realm.*` members: `Region.values()` would
 * also read `~/.oci/regions-config.json` and `OCI_REGION_METADATA` of whoever runs the tests.
 */

const sdkRegions = Object.values(Region).filter((value): value is Region => value instanceof Region);
const sdkRealms = Object.values(Realm).filter((value): value is Realm => value instanceof Realm);
const table = createRegionTable();
const policy = { regions: table, extraRealmDomains: [], allowedHostPatterns: [] };

describe("the SDK's regions and realms", () => {
  test('the SDK lists some (a guard against reading its module wrong)', () => {
    expect(sdkRegions.length).toBeGreaterThan(80);
    expect(sdkRealms.length).toBeGreaterThan(15);
  });

  test('every realm the SDK knows has a region here with the same realm domain', () => {
    const ours = new Map(table.all().map((region) => [region.realmKey, region.realmDomain]));
    const missing = sdkRealms.filter((realm) => ours.get(realm.realmId) !== realm.secondLevelDomain);
    expect(missing.map((realm) => `${realm.realmId} (${realm.secondLevelDomain}) is ${ours.has(realm.realmId) ? `${ours.get(realm.realmId)} here` : 'unknown here'}`)).toEqual([]);
  });

  test('every region the SDK knows is built in here, by identifier and by short key, in the same realm', () => {
    const problems: string[] = [];
    for (const sdk of sdkRegions) {
      if (sdk.regionCode === undefined) {
        problems.push(`${sdk.regionId} has no short key in the SDK`);
        continue;
      }
      const expected = `${sdk.regionId} (${sdk.regionCode}, ${sdk.realm.realmId} ${sdk.realm.secondLevelDomain})`;
      const byId = table.lookup(sdk.regionId);
      const byKey = table.lookup(sdk.regionCode);
      if (byId === undefined) problems.push(`${expected} is not in src/oci/regionTable.ts`);
      else if (byId.realmKey !== sdk.realm.realmId || byId.realmDomain !== sdk.realm.secondLevelDomain || byId.regionKey !== sdk.regionCode) {
        problems.push(`${expected} is ${byId.regionId} (${byId.regionKey}, ${byId.realmKey} ${byId.realmDomain}) here`);
      } else if (byKey?.regionId !== sdk.regionId) problems.push(`short key ${sdk.regionCode} of ${expected} resolves to ${byKey?.regionId ?? 'nothing'} here`);
    }
    expect(problems).toEqual([]);
  });

  test('every OCIR host form of every SDK region is recognised as OCIR of that region', () => {
    const problems: string[] = [];
    for (const sdk of sdkRegions) {
      const domain = sdk.realm.secondLevelDomain;
      const forms = [`ocir.${sdk.regionId}.oci.${domain}`, `artifacts.${sdk.regionId}.oci.${domain}`];
      if (sdk.realm.realmId === 'oc1') forms.push(`${sdk.regionCode}.ocir.io`, `${sdk.regionId}.ocir.io`);
      for (const host of forms) {
        const match = recognizeRegistry(host, policy);
        if (match?.kind !== 'ocir' || match.realmDomain !== domain || match.region?.regionId !== sdk.regionId) {
          problems.push(`${host} (${sdk.regionId}) is ${match === undefined ? 'not OCIR' : JSON.stringify(match)} here`);
        }
      }
      const region = table.lookup(sdk.regionId);
      if (region !== undefined) expect(ocirHostsForRegion(region).sort()).toEqual([...forms].sort());
    }
    expect(problems).toEqual([]);
  });
});
