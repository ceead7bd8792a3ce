import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CriClient } from './cri.ts';
import { connectCri } from './cri.ts';
import type { ServerProcess, ToolRun } from './processes.ts';
import { runTool, startServer } from './processes.ts';

/**
 * A private containerd (Debian's 1.6.20) for `ctr images pull --user`: its own config, root,
 * state and socket under the test directory, so it never touches a system containerd
 * (real-components.md §4). `ctr` resolves and fetches in its own process with containerd's
 * remotes/docker code, the same authorizer the CRI uses when the kubelet hands it credentials:
 * the OAuth POST to the realm first, GET with Basic as the fallback.
 */

export const CONTAINERD_BINARY = 'containerd';
export const CTR_BINARY = 'ctr';
/** ctr's namespace for these tests (not `k8s.io`, not `default`: nothing else is ever listed). */
const NAMESPACE = 'cpo-real';
/**
 * The native snapshotter copies layers: slower than overlayfs, but it works on any filesystem,
 * including a CI container whose /tmp is itself an overlay.
 */
const SNAPSHOTTER = 'native';
/** One readiness probe; a containerd that accepts the connection but never answers must not stall the poll. */
const READY_PROBE_TIMEOUT_MS = 3_000;

export interface Containerd {
  readonly socket: string;
  readonly process: ServerProcess;
  /** The CRI plugin on the same socket: the kubelet's own `runtime.v1` calls. */
  readonly cri: CriClient;
  /** Trusts `caFile` for `https://<registryHost>` (the only way ctr trusts a CA: §Pitfalls 5). */
  trustRegistry(registryHost: string, caFile: string): void;
  /** `ctr images pull --user <credentials>`; never rejects for a failed pull. */
  pull(reference: string, credentials: string): Promise<ToolRun>;
  /** The digest of the image's target (its manifest or index), from `ctr images ls`. */
  imageDigest(reference: string): Promise<string | undefined>;
  /** Removes the image, so the next pull fetches again. */
  removeImage(reference: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startContainerd(dir: string): Promise<Containerd> {
  const socket = join(dir, 'containerd.sock');
  const hostsDir = join(dir, 'certs.d');
  mkdirSync(hostsDir, { recursive: true });
  mkdirSync(join(dir, 'cni', 'bin'), { recursive: true });
  mkdirSync(join(dir, 'cni', 'net.d'), { recursive: true });
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(join(dir, 'opt'))}`,
      // The CRI plugin, for the kubelet's own PullImage call (cri.ts). Pulls only: no sandbox is ever
      // run, so the CNI directories are empty ones of ours (never the machine's), and registry trust
      // comes from the same hosts directory ctr uses.
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '  disable_apparmor = true',
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      `  snapshotter = ${JSON.stringify(SNAPSHOTTER)}`,
      '[plugins."io.containerd.grpc.v1.cri".cni]',
      `  bin_dir = ${JSON.stringify(join(dir, 'cni', 'bin'))}`,
      `  conf_dir = ${JSON.stringify(join(dir, 'cni', 'net.d'))}`,
      '[plugins."io.containerd.grpc.v1.cri".registry]',
      `  config_path = ${JSON.stringify(hostsDir)}`,
      '',
    ].join('\n'),
  );
  const ctr = (args: readonly string[], timeoutMs?: number): Promise<ToolRun> =>
    runTool(CTR_BINARY, ['--address', socket, '--namespace', NAMESPACE, ...args], timeoutMs === undefined ? {} : { timeoutMs });
  const cri = connectCri(socket);
  let server: ServerProcess;
  try {
    server = await startServer({
      name: `${CONTAINERD_BINARY} on ${socket}`,
      command: CONTAINERD_BINARY,
      args: ['--config', config, '--log-level', 'info'],
      logFile: join(dir, 'containerd.log'),
      // `ctr version` reports the server's version only once the gRPC API answers; the CRI plugin
      // registers its services last, so its Version call is the second half of ready.
      ready: async () =>
        (await ctr(['version'], READY_PROBE_TIMEOUT_MS)).stdout.includes('Server:') && (await cri.version()).runtimeApiVersion === 'v1',
    });
  } catch (error) {
    cri.close();
    throw error;
  }

  return {
    socket,
    process: server,
    trustRegistry: (registryHost, caFile) => {
      const hostDir = join(hostsDir, registryHost);
      mkdirSync(hostDir, { recursive: true });
      // containerd 1.6 rejects a hosts.toml without a [host] table ("invalid `host` tree") and then
      // silently falls back to plain HTTP. The `server` entry (no CA) is tried after the [host]
      // one, so a refused pull also logs an x509 error for it: the first error is the real one.
      const url = `https://${registryHost}`;
      writeFileSync(
        join(hostDir, 'hosts.toml'),
        `server = ${JSON.stringify(url)}\n[host.${JSON.stringify(url)}]\n  capabilities = ["pull", "resolve"]\n  ca = ${JSON.stringify(caFile)}\n`,
      );
    },
    pull: (reference, credentials) => ctr(['images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', SNAPSHOTTER, '--user', credentials, reference]),
    imageDigest: async (reference) => {
      const listed = await ctr(['images', 'ls']);
      // Columns: REF TYPE DIGEST SIZE PLATFORMS LABELS; the digest is the first sha256:… after the ref.
      const line = listed.stdout.split('\n').find((row) => row.startsWith(`${reference} `));
      return line?.split(/\s+/).find((field) => field.startsWith('sha256:'));
    },
    removeImage: async (reference) => {
      await ctr(['images', 'rm', '--sync', reference]);
    },
    cri,
    stop: () => {
      cri.close();
      return server.stop();
    },
  };
}
