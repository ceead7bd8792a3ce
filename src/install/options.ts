import { INSTALL_BIN_DIR, INSTALL_CONFIG_PATH } from '../doctor/options.ts';

/** What `install` was asked to do; node paths are resolved under `hostRoot`. */
export interface InstallOptions {
  /** The node's root as this process sees it (`/` in the DaemonSet, where the one hostPath is mounted at its node path). */
  readonly hostRoot: string;
  /** The kubelet's --image-credential-provider-bin-dir (node path). */
  readonly binDir: string;
  /** The kubelet's --image-credential-provider-config (node path). */
  readonly kubeletConfig: string;
  /** The executable to install; default: this very executable. */
  readonly executable: string | undefined;
  /** The kubelet config to install; default: `credential-provider-config.yaml` next to the executable. */
  readonly configSource: string | undefined;
  /** Take over files at the install paths that install did not record, once checked to be ours (an older cloud-init's). */
  readonly adopt: boolean;
  /** Put the previous version back instead of installing. */
  readonly rollback: boolean;
  /** Stay up and re-check every so often (ms), logging doctor's findings as JSON; undefined: install once. */
  readonly watchMs: number | undefined;
}

export const DEFAULT_INSTALL_OPTIONS: InstallOptions = {
  hostRoot: '/',
  binDir: INSTALL_BIN_DIR,
  kubeletConfig: INSTALL_CONFIG_PATH,
  executable: undefined,
  configSource: undefined,
  adopt: false,
  rollback: false,
  watchMs: undefined,
};
