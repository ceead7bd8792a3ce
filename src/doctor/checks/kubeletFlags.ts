import { basename } from 'node:path';
import { INSTALL_BIN_DIR, INSTALL_CONFIG_PATH } from '../options.ts';
import type { NodeFs } from '../nodeFs.ts';
import type { CheckResult } from '../types.ts';

export const BIN_DIR_FLAG = '--image-credential-provider-bin-dir';
export const CONFIG_FLAG = '--image-credential-provider-config';
const NAME = 'kubelet flags';

/** The running kubelet and the two credential-provider flags it was started with (undefined when absent). */
export interface KubeletProcess {
  readonly pid: number;
  readonly binDir: string | undefined;
  readonly configPath: string | undefined;
  /** The whole command line (feature gates, for the version check). */
  readonly argv: readonly string[];
}

/** The check's result, and the paths found (also when it fails: the other flag may still be there). */
export interface KubeletFlagsOutcome {
  readonly result: CheckResult;
  readonly kubelet: KubeletProcess | undefined;
}

/**
 * Finds the kubelet in the process table: the lowest pid whose argv[0] has the basename `kubelet`
 * (the oldest, as `pgrep -o`; a restart in progress may briefly show two).
 */
export async function findKubelet(fs: NodeFs, procDir: string): Promise<KubeletProcess | undefined> {
  const pids = (await fs.readDir(procDir)).filter((entry) => /^[0-9]+$/.test(entry)).map(Number).sort((a, b) => a - b);
  for (const pid of pids) {
    let cmdline: string;
    try {
      cmdline = await fs.readText(`${procDir}/${pid}/cmdline`);
    } catch {
      continue; // the process exited while we looked, or hides its command line
    }
    const argv = cmdline.split('\0');
    if (argv.at(-1) === '') argv.pop();
    if (argv[0] === undefined || basename(argv[0]) !== 'kubelet') continue;
    return { pid, binDir: flagValue(argv, BIN_DIR_FLAG), configPath: flagValue(argv, CONFIG_FLAG), argv };
  }
  return undefined;
}

/**
 * A string flag's value the way the kubelet's pflag reads it: `--flag=value` or `--flag value`,
 * the last occurrence winning, `_` and `-` interchangeable in the name (WordSepNormalizeFunc),
 * nothing after `--`. An empty value counts as absent: the kubelet then registers no provider.
 */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg : arg.slice(0, eq)).replaceAll('_', '-');
    if (name !== flag) continue;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
  }
  return value === '' ? undefined : value;
}

export async function checkKubeletFlags(fs: NodeFs, procDir: string): Promise<KubeletFlagsOutcome> {
  let kubelet: KubeletProcess | undefined;
  try {
    kubelet = await findKubelet(fs, procDir);
  } catch (error) {
    const result: CheckResult = {
      name: NAME,
      status: 'fail',
      detail: `cannot list processes in ${procDir} (${error instanceof Error ? error.message : String(error)})`,
      fix: 'run doctor on the node itself, as root',
    };
    return { result, kubelet: undefined };
  }
  if (kubelet === undefined) {
    const result: CheckResult = {
      name: NAME,
      status: 'fail',
      detail: `no running kubelet found in ${procDir}`,
      fix: 'start the kubelet (systemctl status kubelet); doctor reads its flags from /proc/<pid>/cmdline',
    };
    return { result, kubelet };
  }
  const missing = [kubelet.binDir === undefined ? BIN_DIR_FLAG : '', kubelet.configPath === undefined ? CONFIG_FLAG : ''].filter((f) => f !== '');
  if (missing.length === 0) {
    const detail = `kubelet (pid ${kubelet.pid}) runs with ${BIN_DIR_FLAG}=${kubelet.binDir} ${CONFIG_FLAG}=${kubelet.configPath}`;
    return { result: { name: NAME, status: 'pass', detail }, kubelet };
  }
  const result: CheckResult = {
    name: NAME,
    status: 'fail',
    // Without both flags the kubelet never runs the provider and pulls go anonymous, silently.
    detail: `kubelet (pid ${kubelet.pid}) was started without ${missing.join(' and ')}: it never runs the provider`,
    fix:
      `add ${BIN_DIR_FLAG}=${INSTALL_BIN_DIR} ${CONFIG_FLAG}=${INSTALL_CONFIG_PATH} to the kubelet's flags ` +
      '(on OKE: --kubelet-extra-args of oke-init.sh; see docs/install.md) and restart it',
  };
  return { result, kubelet };
}
