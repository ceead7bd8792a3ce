import { CONTAINERD_BINARY, CTR_BINARY } from './containerd.ts';
import { UMOCI_BINARY } from './images.ts';
import { PODMAN_BINARY } from './podman.ts';
import { TOOL_PATH } from './processes.ts';
import { REGISTRY_BINARY } from './registry.ts';
import { SKOPEO_BINARY } from './skopeo.ts';

/**
 * Which real components this machine has. Without them the suite skips with one clear line
 * instead of failing, so `bun test` works on a bare machine; `.ci/run` installs them all.
 */

export const APT_PACKAGES = 'docker-registry skopeo umoci containerd podman';

export interface Availability {
  /** Registry, skopeo and umoci: the registry can be seeded and pulled from. */
  readonly core: boolean;
  /** containerd and ctr, and root (containerd cannot run unprivileged). */
  readonly containerd: boolean;
  /** podman, as root (rootless podman needs subuid set-up these tests do not do). */
  readonly podman: boolean;
  /** Why something is skipped, one line each. */
  readonly skipped: readonly string[];
}

export function detectTools(): Availability {
  const missing = (names: readonly string[]) => names.filter((name) => Bun.which(name, { PATH: TOOL_PATH }) === null);
  const isRoot = process.getuid?.() === 0;
  const skipped: string[] = [];
  const note = (what: string, names: readonly string[], needsRoot: boolean): boolean => {
    const absent = missing(names);
    if (absent.length > 0) skipped.push(`${what} skipped: ${absent.join(', ')} not installed (Debian: apt-get install ${APT_PACKAGES})`);
    else if (needsRoot && !isRoot) skipped.push(`${what} skipped: needs root`);
    return absent.length === 0 && (!needsRoot || isRoot);
  };
  const core = note('real registry tests', [REGISTRY_BINARY, SKOPEO_BINARY, UMOCI_BINARY], false);
  const containerd = core && note('containerd pulls', [CONTAINERD_BINARY, CTR_BINARY], true);
  const podman = core && note('podman pulls', [PODMAN_BINARY], true);
  return { core, containerd, podman, skipped };
}
