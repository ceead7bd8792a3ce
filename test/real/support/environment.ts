import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulator } from '../../emulator/index.ts';
import { startEmulator } from '../../emulator/index.ts';
import type { Containerd } from './containerd.ts';
import { startContainerd } from './containerd.ts';
import type { OcirFront } from './front.ts';
import { TOKEN_PATH, startOcirFront } from './front.ts';
import type { SeededImage } from './images.ts';
import { seedImage } from './images.ts';
import type { TestPki } from './pki.ts';
import { createTestPki } from './pki.ts';
import type { Podman } from './podman.ts';
import { createPodman } from './podman.ts';
import type { RealRegistry } from './registry.ts';
import { startRegistry } from './registry.ts';
import type { Skopeo } from './skopeo.ts';
import { createSkopeo } from './skopeo.ts';
import type { Availability } from './tools.ts';

/**
 * Everything the real-component tests run against, wired like OCIR:
 *
 *   client ──https──► front 127.0.0.1:F ──/20180419/docker/token──► emulator (OCIR token endpoint)
 *                                       └─/v2/…──────────────────► docker-registry 127.0.0.1:R (https)
 *
 * The image host, the token realm's host and the registry's `service` (= the tokens' `aud`) are
 * all the front's `127.0.0.1:F`, as they are all `fra.ocir.io` on OCIR. The registry trusts the
 * emulator's docker-token CA. Seeding goes straight to 127.0.0.1:R with a push token.
 */

export interface RealEnvironment {
  readonly pki: TestPki;
  readonly front: OcirFront;
  readonly emulator: Emulator;
  readonly registry: RealRegistry;
  readonly skopeo: Skopeo;
  /** Undefined when containerd is not available (see tools.ts). */
  readonly containerd: Containerd | undefined;
  readonly podman: Podman | undefined;
  /** `emulatorns/app:v1`: the instance's own namespace. */
  readonly ownImage: SeededImage;
  /** `otherns/app:v1`: another tenancy's namespace; it exists, but the instance may not pull it. */
  readonly foreignImage: SeededImage;
  /** `<front>/<repository>` as the kubelet names it (no tag: the kubelet sends none). */
  imageName(repository: string): string;
  /** `<front>/<repository>:<tag>`, what a runtime pulls. */
  reference(image: SeededImage): string;
  /** The environment the kubelet's provider config would give the provider here. */
  providerEnv(extra?: Readonly<Record<string, string>>): Record<string, string>;
  /** Moves the emulator's clock (token issuance and expiry checks) by this much from real time. */
  setEmulatorClockOffset(ms: number): void;
  stop(): Promise<void>;
}

export const OWN_REPOSITORY = 'emulatorns/app';
export const FOREIGN_REPOSITORY = 'otherns/app';
const TAG = 'v1';

export async function startRealEnvironment(available: Availability): Promise<RealEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), 'cpo-real-'));
  // Undone in reverse on stop, or at once if the start fails halfway: no server outlives the suite.
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'stopping the real-component environment');
  };

  try {
    const pki = await createTestPki(join(dir, 'pki'));
    const front = await startOcirFront({ certificatePem: pki.serverCertificatePem, keyPem: pki.serverKeyPem });
    cleanups.push(() => front.stop());
    let clockOffsetMs = 0;
    const emulator = await startEmulator({ registryService: front.host, now: () => Date.now() + clockOffsetMs });
    cleanups.push(() => emulator.stop());
    const registry = await startRegistry(join(dir, 'registry'), pki, {
      realm: `https://${front.host}${TOKEN_PATH}`,
      service: emulator.registryService,
      issuer: emulator.registryTokenIssuer,
      rootCertificatesPem: emulator.registryTokenCaPem,
    });
    cleanups.push(() => registry.stop());
    front.connect({
      tokenEndpoint: { protocol: 'http', host: emulator.registryHost },
      registry: { protocol: 'https', host: registry.host, caPem: pki.caPem },
    });

    const skopeo = createSkopeo(join(dir, 'skopeo'), pki.certDir);
    const pushToken = await emulator.issuePushToken([OWN_REPOSITORY, FOREIGN_REPOSITORY]);
    const seed = (repository: string) =>
      seedImage(join(dir, 'images', repository), skopeo, { registryHost: registry.host, repository, tag: TAG, pushToken });
    const startingContainerd = available.containerd ? startContainerd(join(dir, 'containerd')) : Promise.resolve(undefined);
    // Registered before awaiting, so a containerd that started is stopped even if seeding fails.
    cleanups.push(async () => (await startingContainerd.catch(() => undefined))?.stop());
    const [ownImage, foreignImage, containerd] = await Promise.all([seed(OWN_REPOSITORY), seed(FOREIGN_REPOSITORY), startingContainerd]);
    containerd?.trustRegistry(front.host, pki.caFile);
    const podman = available.podman ? createPodman(join(dir, 'podman'), pki.certDir) : undefined;

    return {
      pki,
      front,
      emulator,
      registry,
      skopeo,
      containerd,
      podman,
      ownImage,
      foreignImage,
      imageName: (repository) => `${front.host}/${repository}`,
      reference: (image) => `${front.host}/${image.repository}:${image.tag}`,
      providerEnv: (extra = {}) => ({
        ...emulator.env(),
        // The provider fetches its docker token from https://<image host>/20180419/docker/token: the front.
        REGISTRY_PROTOCOL: 'https',
        REGISTRY_HOSTS: front.host,
        NODE_EXTRA_CA_CERTS: pki.caFile,
        ...extra,
      }),
      setEmulatorClockOffset: (ms) => {
        clockOffsetMs = ms;
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
