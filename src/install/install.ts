/**
 * `credential-provider-oke install`: puts an executable (by default this very one) and the kubelet
 * config on a node, atomically, keeping the previous version for `--rollback`.
 *
 * - Only files it wrote itself are replaced: `.install/state.json` next to the bin dir records the
 *   sha256 of each; a file that exists and is not recorded (or changed since) is refused, unless it
 *   already has exactly the bytes to install, or `--adopt` finds it is ours by content (an executable
 *   whose `--version` names credential-provider-oke, a kubelet config with our provider entry). The
 *   cloud-init script writes the same record, so nodes it set up need neither.
 * - The new executable must be for this CPU (ELF header) and must run `--version` from its final
 *   folder before the switch; the switch is a rename, so the kubelet execs the old or the new file.
 * - A second run with the same files changes nothing (not even state.json).
 * - It never restarts the kubelet or edits its flags: `doctor` reports a kubelet without them.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { arch as processArch } from 'node:process';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ProviderError } from '../errors.ts';
import { validateKubeletConfig } from '../doctor/kubeletConfig/validate.ts';
import type { InstallOptions } from './options.ts';

export const EXECUTABLE_NAME = 'credential-provider-oke';
export const STATE_DIR_NAME = '.install';
const STATE_VERSION = 1;
const VERSION_TIMEOUT_MS = 20_000;
const ELF_MACHINES: Readonly<Record<number, string>> = { 0x3e: 'amd64', 0xb7: 'arm64' };
const NODE_ARCHES: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };

interface InstalledFile {
  readonly sha256: string;
  readonly versionLine?: string;
}

/** `.install/state.json`: what install wrote, by node path, and the executable kept for rollback. */
export interface InstallState {
  readonly version: typeof STATE_VERSION;
  readonly files: Readonly<Record<string, InstalledFile>>;
  readonly previous: InstalledFile | undefined;
}

export interface InstallResult {
  readonly changed: boolean;
  readonly message: string;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const fail = (message: string, hint: string): ProviderError => new ProviderError('ERR_CONFIG_INVALID', message, { key: 'install', hint });

/** The CPU an ELF file is for (amd64/arm64), or undefined for anything else. */
export function elfArch(bytes: Uint8Array): string | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  if (bytes[4] !== 2 || bytes[5] !== 1) return undefined; // 64-bit little-endian only
  return ELF_MACHINES[(bytes[18] as number) | ((bytes[19] as number) << 8)];
}

/** The paths install touches, as seen from this process. */
export function installPaths(options: InstallOptions): { exe: string; config: string; stateDir: string; state: string; previous: string } {
  if (!isAbsolute(options.binDir) || !isAbsolute(options.kubeletConfig)) throw fail('--bin-dir and --kubelet-config must be absolute node paths', 'e.g. --bin-dir /etc/kubernetes/credential-provider/bin');
  const onHost = (p: string): string => join(options.hostRoot, p);
  const stateDir = join(dirname(onHost(options.binDir)), STATE_DIR_NAME);
  return {
    exe: join(onHost(options.binDir), EXECUTABLE_NAME),
    config: onHost(options.kubeletConfig),
    stateDir,
    state: join(stateDir, 'state.json'),
    previous: join(stateDir, `${EXECUTABLE_NAME}.previous`),
  };
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * `.install/state.json` as written by install or by deploy/cloud-init/oke-node-install.sh (which
 * writes this format by hand: keep the two in step). Throws naming `path` when it is not one.
 */
export function parseInstallState(text: string, path: string): InstallState {
  const refuse = (): ProviderError => fail(`${path} is not an install state this version understands`, 'remove it only if nothing else manages these files');
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    throw refuse();
  }
  const isFile = (f: unknown): f is InstalledFile =>
    typeof f === 'object' && f !== null && typeof (f as InstalledFile).sha256 === 'string' && ['string', 'undefined'].includes(typeof (f as InstalledFile).versionLine);
  if (typeof state !== 'object' || state === null) throw refuse();
  const { version, files, previous } = state as Partial<InstallState>;
  if (version !== STATE_VERSION || typeof files !== 'object' || files === null || !Object.values(files).every(isFile)) throw refuse();
  if (previous !== undefined && !isFile(previous)) throw refuse();
  return { version, files, previous };
}

async function readState(path: string): Promise<InstallState | undefined> {
  const bytes = await readOptional(path);
  return bytes === undefined ? undefined : parseInstallState(bytes.toString('utf8'), path);
}

/** Write to a temp file in the same folder, fsync, rename: readers see the old bytes or the new. */
async function writeAtomically(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** Runs `<file> --version`; resolves to its first line, rejects naming what went wrong. */
export function runVersion(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, ['--version'], { timeout: VERSION_TIMEOUT_MS, env: {}, encoding: 'utf8' }, (error, stdout, stderr) => {
      const line = stdout.split('\n')[0]?.trim() ?? '';
      if (error !== null) reject(new Error(`${(stderr.trim().split('\n')[0] ?? '') || error.message}`));
      else if (!line.startsWith(`${EXECUTABLE_NAME} `)) reject(new Error(`it printed "${line.slice(0, 80)}", not a ${EXECUTABLE_NAME} version`));
      else resolve(line);
    });
  });
}

const isOwned = (nodePath: string, existing: Buffer, state: InstallState | undefined, wanted: Uint8Array): boolean =>
  state?.files[nodePath]?.sha256 === sha256(existing) || sha256(existing) === sha256(wanted);

function notOurs(path: string, nodePath: string, existing: Buffer): ProviderError {
  return fail(
    `${nodePath} was not written by ${EXECUTABLE_NAME} install (sha256 ${sha256(existing).slice(0, 12)}… is not in ${STATE_DIR_NAME}/state.json); refusing to overwrite it`,
    `if it is an older ${EXECUTABLE_NAME} put there by hand or by an older cloud-init, run install --adopt once (it checks the files are ours first) or delete ${path}`,
  );
}

/** Refuses to replace a file that install did not write, unless it already holds `wanted`. */
function checkOwned(path: string, nodePath: string, existing: Buffer | undefined, state: InstallState | undefined, wanted: Uint8Array): void {
  if (existing !== undefined && !isOwned(nodePath, existing, state, wanted)) throw notOurs(path, nodePath, existing);
}

/**
 * Like checkOwned, but with `--adopt` a file install did not write is taken over when it is ours
 * by content. Resolves to the adopted executable's version line (kept with it for --rollback).
 */
async function claim(kind: 'executable' | 'config', path: string, nodePath: string, existing: Buffer | undefined, state: InstallState | undefined, wanted: Uint8Array, adopt: boolean): Promise<string | undefined> {
  if (existing === undefined || isOwned(nodePath, existing, state, wanted)) return undefined;
  if (!adopt) throw notOurs(path, nodePath, existing);
  if (kind === 'config') {
    if (validateKubeletConfig([{ path: nodePath, text: existing.toString('utf8') }], EXECUTABLE_NAME).provider !== undefined) return undefined;
    throw fail(`--adopt: ${nodePath} is not a kubelet CredentialProviderConfig with a usable "${EXECUTABLE_NAME}" provider entry; refusing to overwrite it`, `check what put it there (doctor shows what is wrong with it); delete it only if it can go`);
  }
  try {
    return await runVersion(path);
  } catch (error) {
    throw fail(`--adopt: ${nodePath} is not a ${EXECUTABLE_NAME} executable (--version: ${error instanceof Error ? error.message : String(error)}); refusing to overwrite it`, `check what put it there; delete it only if it can go`);
  }
}

/** Installs `executable` and `config` (already read); see the file comment. */
export async function install(options: InstallOptions, executable: Uint8Array, config: Uint8Array): Promise<InstallResult> {
  const paths = installPaths(options);
  const hostArch = NODE_ARCHES[processArch] ?? processArch;
  const exeArch = elfArch(executable);
  if (exeArch !== hostArch) {
    throw fail(`the executable to install is ${exeArch === undefined ? 'not a 64-bit amd64/arm64 ELF file' : `for ${exeArch}`}, this node is ${hostArch}`, `use the linux-${hostArch} release (the DaemonSet's image index picks it by itself)`);
  }
  const state = await readState(paths.state);
  const currentExe = await readOptional(paths.exe);
  const currentConfig = await readOptional(paths.config);
  const exeNodePath = `${options.binDir}/${EXECUTABLE_NAME}`;
  const adoptedVersion = await claim('executable', paths.exe, exeNodePath, currentExe, state, executable, options.adopt);
  await claim('config', paths.config, options.kubeletConfig, currentConfig, state, config, options.adopt);
  const sameExe = currentExe !== undefined && sha256(currentExe) === sha256(executable);
  const sameConfig = currentConfig !== undefined && sha256(currentConfig) === sha256(config);
  if (sameExe && sameConfig && state?.files[exeNodePath] !== undefined && state.files[options.kubeletConfig] !== undefined) {
    return { changed: false, message: `${exeNodePath} and ${options.kubeletConfig} are already this version (${state.files[exeNodePath]?.versionLine ?? 'unknown'}); nothing to do` };
  }

  // Staged in the bin dir itself, so the final rename cannot cross file systems and the test run
  // below happens where the kubelet will exec it (a noexec mount shows up here, not at the first pull).
  await mkdir(dirname(paths.exe), { recursive: true });
  await mkdir(paths.stateDir, { recursive: true, mode: 0o755 });
  const staged = join(dirname(paths.exe), `.${EXECUTABLE_NAME}.new-${process.pid}`);
  let versionLine: string;
  try {
    await writeAtomically(staged, executable, 0o755);
    versionLine = await runVersion(staged);
  } catch (error) {
    await rm(staged, { force: true });
    if (error instanceof ProviderError) throw error;
    throw fail(`the new executable does not run on this node: ${error instanceof Error ? error.message : String(error)}; nothing was changed`, 'check the release matches this node (CPU, glibc) and that the bin dir is not mounted noexec');
  }
  let previous = state?.previous;
  if (currentExe !== undefined && !sameExe) {
    // Keep the outgoing version: a hard link (same inode) renamed into place, then the switch.
    const keep = `${paths.previous}.tmp-${process.pid}`;
    await rm(keep, { force: true });
    await link(paths.exe, keep);
    await rename(keep, paths.previous);
    const recorded = adoptedVersion ?? state?.files[exeNodePath]?.versionLine;
    previous = { sha256: sha256(currentExe), ...(recorded === undefined ? {} : { versionLine: recorded }) };
  }
  await rename(staged, paths.exe);
  if (!sameConfig) await writeAtomically(paths.config, config, 0o644);
  await writeState(paths.state, {
    version: STATE_VERSION,
    files: { [exeNodePath]: { sha256: sha256(executable), versionLine }, [options.kubeletConfig]: { sha256: sha256(config) } },
    previous,
  });
  const from = adoptedVersion ?? state?.files[exeNodePath]?.versionLine;
  const adopted = adoptedVersion === undefined ? '' : 'adopted, ';
  return { changed: true, message: `installed ${exeNodePath} (${versionLine})${from !== undefined && !sameExe ? `, replacing ${from} (${adopted}kept for --rollback)` : ''} and ${options.kubeletConfig}` };
}

async function writeState(path: string, state: InstallState): Promise<void> {
  await writeAtomically(path, new TextEncoder().encode(`${JSON.stringify(state, null, 2)}\n`), 0o644);
}

/** Puts the kept previous executable back (and keeps the current one as the new "previous"). */
export async function rollback(options: InstallOptions): Promise<InstallResult> {
  const paths = installPaths(options);
  const exeNodePath = `${options.binDir}/${EXECUTABLE_NAME}`;
  const state = await readState(paths.state);
  const kept = await readOptional(paths.previous);
  if (state?.previous === undefined || kept === undefined) throw fail('there is no previous version to roll back to', 'rollback works after install replaced one version with another');
  if (sha256(kept) !== state.previous.sha256) throw fail(`${paths.previous} changed since install kept it; refusing to roll back to it`, 'install a release instead');
  const current = await readOptional(paths.exe);
  checkOwned(paths.exe, exeNodePath, current, state, kept);
  let versionLine: string;
  try {
    versionLine = await runVersion(paths.previous);
  } catch (error) {
    throw fail(`the previous executable does not run: ${error instanceof Error ? error.message : String(error)}; nothing was changed`, 'install a release instead');
  }
  const staged = join(dirname(paths.exe), `.${EXECUTABLE_NAME}.rollback-${process.pid}`);
  await link(paths.previous, staged);
  if (current !== undefined) {
    const keep = `${paths.previous}.tmp-${process.pid}`;
    await link(paths.exe, keep);
    await rename(keep, paths.previous);
  }
  await rename(staged, paths.exe);
  const outgoing = state.files[exeNodePath];
  await writeState(paths.state, {
    version: STATE_VERSION,
    files: { ...state.files, [exeNodePath]: { sha256: state.previous.sha256, versionLine } },
    previous: current === undefined || outgoing === undefined ? undefined : outgoing,
  });
  return { changed: true, message: `rolled ${exeNodePath} back to ${versionLine}${outgoing?.versionLine === undefined ? '' : ` (from ${outgoing.versionLine}, kept for another --rollback)`}` };
}

/** The executable and config to install, from the options (default: this executable and the config beside it). */
export async function readSources(options: InstallOptions, selfPath: string): Promise<{ executable: Uint8Array; config: Uint8Array }> {
  const exePath = options.executable ?? selfPath;
  const configPath = options.configSource ?? join(dirname(exePath), 'credential-provider-config.yaml');
  const read = async (path: string, what: string): Promise<Uint8Array> => {
    try {
      return await readFile(path);
    } catch (error) {
      throw fail(`cannot read the ${what} ${path}: ${(error as { code?: string }).code ?? String(error)}`, what === 'kubelet config' ? 'pass --config-source FILE (the release archive and the image carry credential-provider-config.yaml next to the executable)' : 'pass --executable FILE');
    }
  };
  return { executable: await read(exePath, 'executable'), config: await read(configPath, 'kubelet config') };
}
