import { filepathMatch, urlsMatch } from '../kubelet/glob.ts';
import { isDnsLabel, OC1_REALM_DOMAIN, type RegionInfo, type RegionTable } from '../oci/regions.ts';

/**
 * Which registries may receive the node's signed docker-token request. That request carries the
 * node's session token in its keyId (instance, resource and workload principals), so sending it to a
 * host is trusting the host's owner with the node's identity. The rule is therefore about who owns
 * the domain:
 * - every name under `ocir.io` and under an OCI realm domain (`oraclecloud.com`, ...) is Oracle's, so
 *   any well-formed OCIR-shaped name there is OCIR, even for a region missing from our table;
 * - any other host needs an explicit allowlist entry from the operator;
 * - the check works on the host string exactly as the kubelet sends it, and refuses anything that is
 *   not a plain ASCII host name before looking at it (no userinfo, fragments, Unicode lookalikes).
 */

/** What decides whether a registry host is trusted. */
export interface RegistryPolicy {
  /** Regions and realm domains; OCIR forms are recognised under every realm domain of the table. */
  readonly regions: RegionTable;
  /** More realm domains (dedicated regions, Alloy realms) under which OCIR forms are recognised. */
  readonly extraRealmDomains: readonly string[];
  /** Non-OCIR hosts that may receive the signed request, as kubelet globs (`*.corp.example`, `reg:5000`). */
  readonly allowedHostPatterns: readonly string[];
}

/** Which OCIR host form a name has: `<region>.ocir.io`, `ocir.<id>.oci.<domain>`, `artifacts.<id>.oci.<domain>`. */
export type OcirForm = 'ocir.io' | 'ocir' | 'artifacts';

/** Why a host is trusted: it is OCIR (and which form), or an allowlist pattern matched it. */
export type RegistryMatch =
  | {
      readonly kind: 'ocir';
      readonly form: OcirForm;
      /** The region, when the table knows it and it agrees with the host's realm; undefined otherwise. */
      readonly region?: RegionInfo;
      /** The realm domain the host belongs to (`oraclecloud.com` for `*.ocir.io`). */
      readonly realmDomain: string;
    }
  | { readonly kind: 'allowed'; readonly pattern: string };

/** The shape of an OCI region identifier: letters, hyphenated words, then a number (`eu-frankfurt-1`). */
const REGION_ID_LABEL = /^[a-z]+(?:-[a-z]+)+-[0-9]+$/;

/**
 * A registry host as the docker reference grammar allows it (ASCII labels, optional `:port`). Checked
 * on the raw string before any case folding, because `toLowerCase` maps some non-ASCII characters to
 * ASCII ones (the Kelvin sign becomes `k`).
 */
const REGISTRY_HOST =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?$/;

/**
 * Decides whether `host` (the registry part of an image, as the kubelet sends it: case preserved,
 * maybe with `:port`) may receive the node's signed request. OCIR forms first, then the allowlist;
 * undefined means "do not send anything there".
 */
export function recognizeRegistry(host: string, policy: RegistryPolicy): RegistryMatch | undefined {
  if (!REGISTRY_HOST.test(host)) return undefined;
  return recognizeOcir(host, policy) ?? matchAllowlist(host, policy.allowedHostPatterns);
}

function recognizeOcir(host: string, policy: RegistryPolicy): RegistryMatch | undefined {
  // A port means it is not the public endpoint; a trailing dot or an empty label fails isDnsLabel.
  if (host.includes(':')) return undefined;
  const labels = host.toLowerCase().split('.');
  if (!labels.every(isDnsLabel)) return undefined;

  // <region-key>.ocir.io and <region-id>.ocir.io: exactly one label before ocir.io (oc1 only).
  if (labels.length === 3 && labels[1] === 'ocir' && labels[2] === 'io') {
    const known = policy.regions.lookup(labels[0] ?? '');
    // A region of another realm under ocir.io is still Oracle's name, but it says nothing about the region.
    const region = known?.realmDomain === OC1_REALM_DOMAIN ? known : undefined;
    return ocirMatch('ocir.io', region, OC1_REALM_DOMAIN);
  }

  // ocir.<region-id>.oci.<realm-domain> and artifacts.<region-id>.oci.<realm-domain>.
  const [service, regionLabel = '', oci, ...domainLabels] = labels;
  if ((service !== 'ocir' && service !== 'artifacts') || oci !== 'oci' || domainLabels.length < 2) return undefined;
  const realmDomain = domainLabels.join('.');
  if (!realmDomainsOf(policy).has(realmDomain)) return undefined;
  const known = policy.regions.lookup(regionLabel);
  const region = known?.regionId === regionLabel && known.realmDomain === realmDomain ? known : undefined;
  // Unknown regions are accepted only when the label looks like a region identifier: the domain is
  // Oracle's either way, but a short key or a random word here is not a form OCI uses.
  if (region === undefined && !REGION_ID_LABEL.test(regionLabel)) return undefined;
  return ocirMatch(service, region, realmDomain);
}

function ocirMatch(form: OcirForm, region: RegionInfo | undefined, realmDomain: string): RegistryMatch {
  return region === undefined ? { kind: 'ocir', form, realmDomain } : { kind: 'ocir', form, region, realmDomain };
}

function realmDomainsOf(policy: RegistryPolicy): ReadonlySet<string> {
  if (policy.extraRealmDomains.length === 0) return policy.regions.realmDomains();
  const domains = new Set(policy.regions.realmDomains());
  for (const domain of policy.extraRealmDomains) domains.add(domain.trim().toLowerCase());
  return domains;
}

function matchAllowlist(host: string, patterns: readonly string[]): RegistryMatch | undefined {
  // Matching is the kubelet's (case-sensitive, ports compared as text), so a host is trusted exactly
  // when the kubelet would also use the credentials for it. Unusable patterns are skipped even if
  // config validation let one through, so the allowlist can never be wider than validateHostPattern says.
  const pattern = patterns.find((p) => validateHostPattern(p) === undefined && urlsMatch(p, host));
  return pattern === undefined ? undefined : { kind: 'allowed', pattern };
}

/**
 * Every docker host name of a region's registry, the preferred one first: `<key>.ocir.io` and
 * `<id>.ocir.io` for oc1, then `ocir.<id>.oci.<realm-domain>` and `artifacts.<id>.oci.<realm-domain>`.
 */
export function ocirHostsForRegion(region: RegionInfo): string[] {
  const hosts: string[] = [];
  if (region.realmDomain === OC1_REALM_DOMAIN) hosts.push(`${region.regionKey}.ocir.io`, `${region.regionId}.ocir.io`);
  for (const service of ['ocir', 'artifacts']) hosts.push(`${service}.${region.regionId}.oci.${region.realmDomain}`);
  return [...new Set(hosts)];
}

const MAX_PORT = 65535;

/**
 * Why a `registryHosts` entry is unusable, or undefined when it is fine. An entry is a host glob
 * matched the kubelet's way (`urlsMatch`): `*` stands for one label (or part of one), and the port,
 * when given, must equal the image's. The reasons cover the kubelet traps (kubelet-protocol.md §5,
 * items 5 and 6): a scheme, a path or `/*`, an empty label, a bad port.
 *
 * Two rules are ours, because a wildcard is only as safe as the ownership behind the literal part:
 * - the last two labels must be literal. A wildcard there (`*.*`, `registry.*`, `*.com`) would
 *   trust hosts of any owner with the node's identity; name the domain instead;
 * - an IP address takes no wildcard at all. `*.*.0.1` keeps two literal labels, but an address
 *   has no owner above it the way a domain does: it would trust every network's `x.y.0.1`.
 *   (IPv6 literals are refused whole, above: the kubelet never matches them.)
 */
export function validateHostPattern(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'is empty';
  if (/[\u0000-\u0020\u007f]/.test(pattern)) return 'contains whitespace or a control character';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(pattern)) {
    return 'has a scheme; give the host only, e.g. "registry.example.com"';
  }
  if (pattern.endsWith('/*')) {
    return 'ends in "/*", which the kubelet matches literally (globs in a path never match); give the host only';
  }
  if (pattern.includes('/')) return 'has a path; a registry host entry is the host (and port) only';
  const bad = /[^A-Za-z0-9.*:\-[\]^]/.exec(pattern);
  if (bad !== null) return `contains ${JSON.stringify(bad[0])}, which cannot appear in a registry host`;
  if (pattern.startsWith('[')) return 'starts with "[", which the kubelet reads as an IPv6 literal and never matches';

  const colon = pattern.indexOf(':');
  const hostPart = colon === -1 ? pattern : pattern.slice(0, colon);
  if (colon !== -1) {
    const port = pattern.slice(colon + 1);
    if (port.includes(':')) return 'has more than one ":"';
    if (port === '') return 'has an empty port';
    if (!/^[0-9]+$/.test(port)) return `has a bad port ${JSON.stringify(port)}: digits only, no wildcard`;
    if (port.startsWith('0')) return `has a bad port ${JSON.stringify(port)}: the kubelet compares ports as text`;
    if (Number(port) > MAX_PORT) return `has a bad port ${JSON.stringify(port)}: above ${MAX_PORT}`;
  }

  const labels = hostPart.split('.');
  if (labels.some((label) => label === '')) return 'has an empty label (a leading, trailing or double dot)';
  for (const label of labels) {
    if (filepathMatch(label, 'a') === undefined) return `has a malformed glob in ${JSON.stringify(label)}`;
  }
  const hasWildcard = (label: string) => /[*[\]^]/.test(label);
  if (looksLikeIpv4(labels) && labels.some(hasWildcard)) {
    return 'is an IP address with a wildcard; wildcards belong to DNS names, so list each address (e.g. "10.0.0.5:5000")';
  }
  if (labels.slice(-2).some(hasWildcard)) {
    return (
      'has a wildcard in its last two labels, which would trust hosts of any owner; ' +
      'name the domain, e.g. "*.corp.example"'
    );
  }
  return undefined;
}

/**
 * An IPv4 literal or a glob over one: the last label is all digits (no DNS name ends in a numeric
 * label, RFC 3696 §2), or every label is digits or a glob over digits and one is plain digits
 * (`10.0.0.*`).
 */
function looksLikeIpv4(labels: readonly string[]): boolean {
  const digits = (label: string) => /^[0-9]+$/.test(label);
  if (digits(labels.at(-1) ?? '')) return true;
  return labels.some(digits) && labels.every((label) => /^[0-9*[\]^-]+$/.test(label));
}
