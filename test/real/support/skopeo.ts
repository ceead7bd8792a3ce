import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolRun } from './processes.ts';
import { runTool, runToolOrThrow } from './processes.ts';

/**
 * skopeo (containers/image 5.23, the library podman, buildah and CRI-O share): after the
 * registry's 401 it GETs the realm with `Authorization: Basic base64(user:password)` plus
 * `service` and `scope` (real-components.md §2). Isolated from the machine: its own HOME (no
 * auth.json found by accident), an explicit signature policy, and the test CA through
 * `--cert-dir` only.
 */

export const SKOPEO_BINARY = 'skopeo';

export interface PullResult extends ToolRun {
  /** The manifest digest written at the destination; undefined when the pull failed. */
  readonly digest: string | undefined;
}

export interface Skopeo {
  /** `skopeo copy --src-creds` from the registry into a fresh OCI layout: a pull, blobs included. */
  pull(reference: string, credentials: string): Promise<PullResult>;
  /** Reads the manifest with a bearer token given directly (no challenge flow). */
  inspectWithToken(reference: string, registryToken: string): Promise<ToolRun>;
  /** Pushes `source` to `destination` with a bearer token that carries push rights; throws on failure. */
  push(source: string, destination: string, registryToken: string, digestFile: string): Promise<void>;
}

/** A policy that accepts any image: signatures are not what these tests are about. */
const ACCEPT_ANYTHING_POLICY = { default: [{ type: 'insecureAcceptAnything' }] };

export function createSkopeo(dir: string, certDir: string): Skopeo {
  mkdirSync(dir, { recursive: true });
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(ACCEPT_ANYTHING_POLICY));
  const env = { HOME: dir, XDG_RUNTIME_DIR: dir };
  const skopeo = (args: readonly string[]): Promise<ToolRun> => runTool(SKOPEO_BINARY, ['--policy', policy, ...args], { env });
  let pulls = 0;
  return {
    pull: async (reference, credentials) => {
      pulls += 1;
      const destination = join(dir, `pull-${pulls}`);
      const digestFile = `${destination}.digest`;
      const run = await skopeo(['copy', '--src-creds', credentials, '--src-cert-dir', certDir, '--digestfile', digestFile, `docker://${reference}`, `oci:${destination}:pulled`]);
      const digest = run.status === 0 && existsSync(digestFile) ? readFileSync(digestFile, 'utf8').trim() : undefined;
      return { ...run, digest };
    },
    inspectWithToken: (reference, registryToken) => skopeo(['inspect', '--registry-token', registryToken, '--cert-dir', certDir, `docker://${reference}`]),
    push: async (source, destination, registryToken, digestFile) => {
      await runToolOrThrow(
        SKOPEO_BINARY,
        ['--policy', policy, 'copy', '--dest-registry-token', registryToken, '--dest-cert-dir', certDir, '--digestfile', digestFile, source, destination],
        { env },
      );
    },
  };
}
