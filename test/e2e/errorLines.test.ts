import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { ProviderError, type ErrorCode } from '../../src/errors.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { pinRequestId, runCliInProcess, type CliRun } from '../support/runCliInProcess.ts';
import { kubeletRequest } from '../support/runProvider.ts';

/**
 * One realistic failure per error code, and the whole stderr line it gives, word for word: the
 * line is the operator's only view of a failed pull (the kubelet appends it to its own log), so
 * its wording is behaviour. Answers carry a pinned `opc-request-id` so each line is one string.
 */
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.clearFaults());

const REQUEST_ID = 'test-request-id';
const OPT_IN = { 'oke.credential-provider.oracle.com/workload-identity': 'enabled' };
const image = () => `${emulator.registryHost}/${emulator.namespace}/app`;
const run = (options: { env?: Record<string, string>; stdin?: string | Promise<Uint8Array> } = {}) =>
  runCliInProcess({ env: { ...emulator.env(), ...options.env }, stdin: options.stdin ?? kubeletRequest(image()), transport: pinRequestId(REQUEST_ID) });

/** Exactly one line, nothing on stdout, a failing status. */
function expectLine(result: CliRun, line: string): void {
  expect(result.stderr).toBe(`credential-provider-oke: ${line}\n`);
  expect(result.stdout).toBe('');
  expect(result.status).not.toBe(0);
}

const cases: Record<ErrorCode, () => Promise<void>> = {
  ERR_REQUEST_INVALID: async () => {
    expectLine(
      await run({ stdin: 'not json' }),
      'ERR_REQUEST_INVALID: the request is not valid JSON: unexpected character at character 1; ' +
        'check: the kubelet writes one JSON CredentialProviderRequest on stdin; check the kubelet version and providers[].apiVersion',
    );
  },
  ERR_CONFIG_INVALID: async () => {
    expectLine(
      await run({ env: { OCIR_AUTH_METHOD: 'WORKLOAD' } }),
      'ERR_CONFIG_INVALID: OCIR_AUTH_METHOD must be one of INSTANCE_PRINCIPAL, USER_PRINCIPAL, RESOURCE_PRINCIPAL, not "WORKLOAD"',
    );
  },
  ERR_REGISTRY_NOT_ALLOWED: async () => {
    expectLine(
      await run({ stdin: kubeletRequest('docker.io/library/nginx') }),
      'ERR_REGISTRY_NOT_ALLOWED: refusing to sign for docker.io: it is not an OCIR host (host=docker.io); ' +
        'check: narrow matchImages in the kubelet config to OCIR hosts, or allow this registry explicitly with registryHosts / REGISTRY_HOSTS',
    );
  },
  ERR_REGION_UNKNOWN: async () => {
    const elsewhere = await startEmulator({ region: 'xyz' });
    try {
      const result = await runCliInProcess({
        env: { OCI_METADATA_BASE_URL: elsewhere.imdsBaseUrl, REGISTRY_PROTOCOL: 'http', REGISTRY_HOSTS: elsewhere.registryHost },
        stdin: kubeletRequest(`${elsewhere.registryHost}/${elsewhere.namespace}/app`),
      });
      expectLine(
        result,
        'ERR_REGION_UNKNOWN: region "xyz" is unknown: it is neither built in nor in the region metadata read ' +
          '(~/.oci/regions-config.json, OCI_REGION_METADATA, IMDS regionInfo); ' +
          'check: set OCI_REGION_METADATA to {"realmKey":"ocN","realmDomainComponent":"<realm domain>","regionKey":"<key>","regionIdentifier":"xyz"} ' +
          'or enable the IMDS regionInfo lookup; the provider does not guess the realm',
      );
    } finally {
      await elsewhere.stop();
    }
  },
  ERR_IMDS: async () => {
    emulator.inject('imds.cert', { status: 403 });
    const host = new URL(emulator.imdsBaseUrl).host;
    expectLine(
      await run(),
      `ERR_IMDS: IMDS GET /opc/v2/identity/cert.pem answered 403 (host=${host} status=403 code=NotAuthorized opc-request-id=${REQUEST_ID}); ` +
        'check: IMDS v2 must be enabled on the instance and reachable at 169.254.169.254',
    );
  },
  ERR_INSTANCE_CERTIFICATE: async () => {
    emulator.inject('imds.cert', { status: 200, body: 'not a certificate' });
    expectLine(await run(), 'ERR_INSTANCE_CERTIFICATE: IMDS cert.pem is not a PEM certificate');
  },
  ERR_FEDERATION: async () => {
    emulator.inject('auth.x509', { status: 400, body: { code: 'InvalidParameter', message: 'bad request, token=abc123 from the tenancy' } });
    expectLine(
      await run(),
      `ERR_FEDERATION: the auth service refused instance-principal federation for tenancy ${emulator.tenancyId}: bad request, token=[redacted] from the tenancy ` +
        `(host=${new URL(emulator.authUrl).host} status=400 code=InvalidParameter opc-request-id=${REQUEST_ID}); ` +
        'check: OCI rejected the federation request; open a support ticket with the opc-request-id',
    );
  },
  ERR_OCI_CONFIG: async () => {
    expectLine(
      await run({ env: { OCIR_AUTH_METHOD: 'USER_PRINCIPAL', OCI_CONFIG_FILE: '/nonexistent/oci/config' } }),
      'ERR_OCI_CONFIG: the OCI config file /nonexistent/oci/config (named by OCI_CONFIG_FILE) does not exist; check: point OCI_CONFIG_FILE at the config file',
    );
  },
  ERR_RESOURCE_PRINCIPAL: async () => {
    expectLine(
      await run({ env: { OCIR_AUTH_METHOD: 'RESOURCE_PRINCIPAL' } }),
      'ERR_RESOURCE_PRINCIPAL: OCI_RESOURCE_PRINCIPAL_VERSION is not set; check: OCIR_AUTH_METHOD=RESOURCE_PRINCIPAL reads the RP v2.2 environment: ' +
        'set OCI_RESOURCE_PRINCIPAL_VERSION=2.2, OCI_RESOURCE_PRINCIPAL_RPST and OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM',
    );
  },
  ERR_SERVICE_ACCOUNT_TOKEN: async () => {
    expectLine(
      await run({ stdin: kubeletRequest(image(), undefined, { serviceAccountToken: 'not-a-jwt', serviceAccountAnnotations: OPT_IN }) }),
      'ERR_SERVICE_ACCOUNT_TOKEN: the service account token from the kubelet is not a valid JWT: it has 1 dot-separated parts, not 3; ' +
        'check: the kubelet requests this token for the pod; check tokenAttributes in the credential provider config and the kubelet log',
    );
  },
  ERR_WORKLOAD_IDENTITY: async () => {
    expectLine(
      await run({ stdin: kubeletRequest(image(), undefined, { serviceAccountAnnotations: OPT_IN }) }),
      'ERR_WORKLOAD_IDENTITY: the service account opted in with oke.credential-provider.oracle.com/workload-identity, but the kubelet sent no service account token; ' +
        'check: set tokenAttributes (serviceAccountTokenAudience) for this provider in the kubelet credential provider config, apiVersion credentialprovider.kubelet.k8s.io/v1',
    );
  },
  ERR_OCIR_TOKEN: async () => {
    emulator.inject('ocir.token', { status: 403, body: { code: 'NotAuthorized', message: 'denied, password=hunter2' } });
    expectLine(
      await run(),
      `ERR_OCIR_TOKEN: OCIR refused the docker token request for ${emulator.registryHost} signed as instance:${emulator.instanceId}: denied, password=[redacted] ` +
        `(host=${emulator.registryHost} status=403 code=NotAuthorized opc-request-id=${REQUEST_ID}); ` +
        'check: OCIR rejected the request; open a support ticket with the opc-request-id',
    );
  },
  ERR_NETWORK: async () => {
    // Port 9 (discard) on loopback: nothing listens, every attempt is refused.
    expectLine(
      await run({ env: { REGISTRY_HOSTS: '127.0.0.1:9' }, stdin: kubeletRequest('127.0.0.1:9/ns/app') }),
      'ERR_NETWORK: OCIR GET 127.0.0.1:9/20180419/docker/token could not connect (ECONNREFUSED) (host=127.0.0.1:9 attempts=5); ' +
        'check: DNS, routes, proxies (HTTPS_PROXY, NO_PROXY) and security lists from the node to 127.0.0.1:9',
    );
  },
  ERR_DEADLINE: async () => {
    expectLine(
      await run({ env: { EXEC_TIMEOUT: '1s' }, stdin: new Promise<Uint8Array>(() => undefined) }),
      'ERR_DEADLINE: the request on stdin was not complete (no EOF) within the 1s exec deadline; ' +
        'check: the kubelet writes the request and closes stdin; by hand, pipe a request in or use get-credentials <image>',
    );
  },
  ERR_OUTPUT: async () => {
    const closed = () => Promise.reject(new ProviderError('ERR_OUTPUT', 'cannot write the response to stdout (EPIPE)', { hint: 'the kubelet closes the pipe only once it gave up on the exec; run by hand, keep stdout open' }));
    expectLine(
      await runCliInProcess({ env: emulator.env(), stdin: kubeletRequest(image()), writeStdout: closed }),
      'ERR_OUTPUT: cannot write the response to stdout (EPIPE); check: the kubelet closes the pipe only once it gave up on the exec; run by hand, keep stdout open',
    );
  },
  ERR_INTERNAL: async () => {
    // A bug injected through the transport seam: an answer whose headers cannot be read.
    const broken = () => () =>
      Promise.resolve({
        status: 200,
        body: '',
        headers: {
          get: (): string | null => {
            throw new TypeError('injected bug');
          },
        },
      });
    const result = await runCliInProcess({ env: emulator.env(), stdin: kubeletRequest(image()), transport: broken });
    expectLine(result, 'ERR_INTERNAL: injected bug; check: this is a bug in credential-provider-oke; please report it with this line');
  },
};

describe('every error code gives one exact stderr line', () => {
  for (const [code, check] of Object.entries(cases)) test(code, check, 30_000);
});
