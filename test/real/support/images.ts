import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToolOrThrow } from './processes.ts';
import type { Skopeo } from './skopeo.ts';

/**
 * Tiny single-layer images made without a Docker daemon: umoci writes an OCI layout holding one
 * text file, skopeo pushes it (real-components.md §1 "Pushing a tiny image"). Each image's file
 * names its repository, so two repositories never share a digest and a pull of the wrong one shows.
 */

export const UMOCI_BINARY = 'umoci';

/** The running architecture as OCI names it: containerd and podman pull only the host's platform. */
export function ociArchitecture(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

export interface SeededImage {
  /** `<namespace>/<repo>`. */
  readonly repository: string;
  readonly tag: string;
  /** The manifest digest the registry stored, as skopeo reported it after the push. */
  readonly digest: string;
}

/** Builds `<repository>:<tag>` as an OCI layout under `dir` and pushes it to `registryHost` with `pushToken`. */
export async function seedImage(
  dir: string,
  skopeo: Skopeo,
  target: { readonly registryHost: string; readonly repository: string; readonly tag: string; readonly pushToken: string },
): Promise<SeededImage> {
  mkdirSync(dir, { recursive: true });
  const layout = join(dir, 'layout');
  const image = `${layout}:${target.tag}`;
  const content = join(dir, 'hello.txt');
  writeFileSync(content, `hello from ${target.repository}:${target.tag}\n`);
  await runToolOrThrow(UMOCI_BINARY, ['init', '--layout', layout]);
  await runToolOrThrow(UMOCI_BINARY, ['new', '--image', image]);
  // --rootless: no chown to the file's owner, so the layer is the same whoever runs the tests.
  await runToolOrThrow(UMOCI_BINARY, ['insert', '--rootless', '--image', image, content, '/hello.txt']);
  await runToolOrThrow(UMOCI_BINARY, ['config', '--image', image, '--os', 'linux', '--architecture', ociArchitecture(), '--config.cmd', '/hello.txt']);
  const digestFile = join(dir, 'digest');
  await skopeo.push(`oci:${image}`, `docker://${target.registryHost}/${target.repository}:${target.tag}`, target.pushToken, digestFile);
  return { repository: target.repository, tag: target.tag, digest: readFileSync(digestFile, 'utf8').trim() };
}
