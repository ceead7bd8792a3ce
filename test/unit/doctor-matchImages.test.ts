import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkMatchImages } from '../../src/doctor/checks/matchImages.ts';
import { parseImage } from '../../src/kubelet/image.ts';
import { createRegionTable, type RegionInfo } from '../../src/oci/regions.ts';

const DEPLOYED = parse(readFileSync(join(import.meta.dir, '../../deploy/credential-provider-config.yaml'), 'utf8')) as {
  providers: { matchImages: string[] }[];
};
const RELEASED = DEPLOYED.providers[0]!.matchImages;
const regions = createRegionTable();
const FRA = regions.lookup('fra') as RegionInfo;
const LONDON_GOV = regions.all().find((r) => r.realmKey === 'oc4') as RegionInfo;

describe('checkMatchImages', () => {
  test('the released patterns match every host form of an oc1 region and of another realm', () => {
    for (const region of [FRA, LONDON_GOV]) {
      const { result } = checkMatchImages({ patterns: RELEASED, region, image: undefined });
      expect(result.status).toBe('pass');
      expect(result.detail).toContain(`ocir.${region.regionId}.oci.${region.realmDomain}`);
    }
  });

  test('*.ocir.io alone covers fra.ocir.io but warns about the other host forms', () => {
    const outcome = checkMatchImages({ patterns: ['*.ocir.io'], region: FRA, image: undefined });
    expect(outcome.result.status).toBe('warn');
    expect(outcome.result.detail).toContain('matched: fra.ocir.io, eu-frankfurt-1.ocir.io');
    expect(outcome.result.detail).toContain('no entry matches: ocir.eu-frankfurt-1.oci.oraclecloud.com, artifacts.eu-frankfurt-1.oci.oraclecloud.com');
    expect(outcome.value).toBe(true);
  });

  test("fails when no entry matches the region's registries", () => {
    const { result } = checkMatchImages({ patterns: ['*.example.com', 'https://fra.ocir.io'], region: FRA, image: undefined });
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('no entry matches the registries of region eu-frankfurt-1');
    expect(result.fix).toContain('deploy/credential-provider-config.yaml');
  });

  test('fails when the image is not matched: the kubelet would pull it anonymously', () => {
    const { result } = checkMatchImages({ patterns: ['*.ocir.io'], region: FRA, image: parseImage('ocir.eu-frankfurt-1.oci.oraclecloud.com/ns/app:1.0') });
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('no entry matches ocir.eu-frankfurt-1.oci.oraclecloud.com/ns/app');
    expect(result.fix).toContain('add "ocir.eu-frankfurt-1.oci.oraclecloud.com" to matchImages');
  });

  test('a matched image with entries scoped to its namespace only warns about the bare hosts', () => {
    const { result } = checkMatchImages({ patterns: ['fra.ocir.io/ns'], region: FRA, image: parseImage('fra.ocir.io/ns/app') });
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('matched: fra.ocir.io/ns/app');
  });

  test('with an image and no region, only the image is checked', () => {
    expect(checkMatchImages({ patterns: ['127.0.0.1:5000'], region: undefined, image: parseImage('127.0.0.1:5000/ns/app') }).result).toEqual({
      name: 'matchImages',
      status: 'pass',
      detail: 'matched: 127.0.0.1:5000/ns/app',
    });
  });

  test('skips without region and image', () => {
    expect(checkMatchImages({ patterns: RELEASED, region: undefined, image: undefined }).result.status).toBe('skip');
  });
});
