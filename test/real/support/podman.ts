import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PullResult } from './skopeo.ts';
import { runTool } from './processes.ts';

/**
 * podman 4.3 as a third client (containers/image underneath, like skopeo, but through podman's
 * own storage and pull logic). Everything it would read or write system-wide is pointed into the
 * test directory: storage (vfs, so no overlay questions), run root, registries.conf,
 * containers.conf, the CNI config dir and the signature policy.
 */

export const PODMAN_BINARY = 'podman';

export interface Podman {
  /** `podman pull --creds`, then the stored image's manifest digest. */
  pull(reference: string, credentials: string): Promise<PullResult>;
}

export function createPodman(dir: string, certDir: string): Podman {
  const root = join(dir, 'root');
  const runRoot = join(dir, 'run');
  for (const sub of [root, runRoot, join(dir, 'tmp'), join(dir, 'cni'), join(dir, 'xdg')]) mkdirSync(sub, { recursive: true });
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const env = {
    HOME: dir,
    XDG_RUNTIME_DIR: join(dir, 'xdg'),
    CONTAINERS_REGISTRIES_CONF: file('registries.conf', 'unqualified-search-registries = []\n'),
    CONTAINERS_STORAGE_CONF: file('storage.conf', `[storage]\ndriver = "vfs"\nrunroot = ${JSON.stringify(runRoot)}\ngraphroot = ${JSON.stringify(root)}\n`),
    CONTAINERS_CONF: file(
      'containers.conf',
      `[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n[network]\nnetwork_config_dir = ${JSON.stringify(join(dir, 'cni'))}\n`,
    ),
  };
  const policy = file('policy.json', JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const podman = (args: readonly string[]) =>
    runTool(PODMAN_BINARY, ['--root', root, '--runroot', runRoot, '--storage-driver', 'vfs', '--tmpdir', join(dir, 'tmp'), ...args], { env });
  return {
    pull: async (reference, credentials) => {
      const run = await podman(['pull', '--signature-policy', policy, '--creds', credentials, '--cert-dir', certDir, reference]);
      if (run.status !== 0) return { ...run, digest: undefined };
      const inspected = await podman(['image', 'inspect', '--format', '{{.Digest}}', reference]);
      return { ...run, digest: inspected.status === 0 ? inspected.stdout.trim() : undefined };
    },
  };
}
