/** What `doctor` was asked to look at; every path is a path on the node, read under `root`. */
export interface DoctorOptions {
  /** Prefix for every node path doctor reads (`/` on a node; a temp dir in tests, a mounted image for inspection). */
  readonly root: string;
  /** The process table; default `/proc`. */
  readonly procDir: string | undefined;
  /** Overrides the running kubelet's `--image-credential-provider-bin-dir`. */
  readonly binDir: string | undefined;
  /** Overrides the running kubelet's `--image-credential-provider-config`. */
  readonly kubeletConfig: string | undefined;
  /** The `providers[].name` to look for, which is also the executable's file name. */
  readonly providerName: string;
}

/** The name the release and the install script use. */
export const DEFAULT_PROVIDER_NAME = 'credential-provider-oke';
/** Where `deploy/cloud-init/oke-node-install.sh` puts things (docs/install.md). */
export const INSTALL_BIN_DIR = '/etc/kubernetes/credential-provider/bin';
export const INSTALL_CONFIG_PATH = '/etc/kubernetes/credential-provider/config.yaml';
export const DEFAULT_PROC_DIR = '/proc';
