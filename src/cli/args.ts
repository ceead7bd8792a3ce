import { DEFAULT_PROVIDER_NAME, type DoctorOptions } from '../doctor/options.ts';
import { ProviderError } from '../errors.ts';
import { DEFAULT_INSTALL_OPTIONS, type InstallOptions } from '../install/options.ts';
import { parseGoDuration } from '../kubelet/duration.ts';
import type { LogLevel } from '../log.ts';

/** What the command line asks for. With no command, the process is the kubelet plugin. */
export type Command =
  | { readonly kind: 'plugin' }
  | { readonly kind: 'get-credentials'; readonly image: string; readonly apiVersion: string }
  | { readonly kind: 'doctor'; readonly image: string | undefined; readonly options: DoctorOptions; readonly json: boolean }
  | { readonly kind: 'install'; readonly options: InstallOptions }
  | { readonly kind: 'version' }
  | { readonly kind: 'help' };

export interface CliArgs {
  readonly command: Command;
  /** `-config <file>` as in the original plugin (also `--config`, `-config=<file>`). */
  readonly configPath: string | undefined;
  /** `--log-level <level>`, or `-v` for debug. */
  readonly logLevel: LogLevel | undefined;
}

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const SHORT_API_VERSIONS: Readonly<Record<string, string>> = {
  v1: 'credentialprovider.kubelet.k8s.io/v1',
  v1beta1: 'credentialprovider.kubelet.k8s.io/v1beta1',
  v1alpha1: 'credentialprovider.kubelet.k8s.io/v1alpha1',
};

function usage(message: string): ProviderError {
  return new ProviderError('ERR_CONFIG_INVALID', message, { key: 'arguments', hint: 'run credential-provider-oke --help' });
}

/** Parses argv (without the executable). Flags take one or two dashes and `=value` or a separate value, like Go's flag package. */
export function parseArgs(argv: readonly string[]): CliArgs {
  let configPath: string | undefined;
  let logLevel: LogLevel | undefined;
  let apiVersion = SHORT_API_VERSIONS.v1 as string;
  let wantsVersion = false;
  let wantsHelp = false;
  /** Flags only `doctor` takes, by name; refused with any other command. */
  const doctorFlags: Partial<Record<DoctorFlag, string>> = {};
  /** Flags only `install` takes (`--bin-dir` and `--kubelet-config` are shared with doctor). */
  const installFlags: Partial<Record<InstallFlag, string>> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const [rawName, inlineValue] = splitFlag(arg);
    const value = (): string => {
      if (inlineValue !== undefined) return inlineValue;
      const next = argv[i + 1];
      if (next === undefined) throw usage(`flag -${rawName} needs a value`);
      i++;
      return next;
    };
    switch (rawName) {
      case 'config':
        configPath = value();
        break;
      case 'log-level': {
        const level = value().toLowerCase();
        if (!LEVELS.includes(level as LogLevel)) throw usage(`--log-level must be one of ${LEVELS.join(', ')}`);
        logLevel = level as LogLevel;
        break;
      }
      case 'v':
      case 'verbose':
        logLevel = 'debug';
        break;
      case 'api-version': {
        const v = value();
        apiVersion = SHORT_API_VERSIONS[v] ?? v;
        break;
      }
      case 'version':
        wantsVersion = true;
        break;
      case 'h':
      case 'help':
        wantsHelp = true;
        break;
      case 'root':
      case 'proc-dir':
      case 'bin-dir':
      case 'kubelet-config':
      case 'provider-name':
        doctorFlags[rawName] = value();
        break;
      case 'json':
        doctorFlags.json = 'true';
        break;
      case 'rollback':
      case 'adopt':
        installFlags[rawName] = 'true';
        break;
      case 'host-root':
      case 'executable':
      case 'config-source':
      case 'watch':
        installFlags[rawName] = value();
        break;
      default:
        throw usage(`unknown flag ${arg}`);
    }
  }
  if (wantsHelp) return { command: { kind: 'help' }, configPath, logLevel };
  if (wantsVersion) return { command: { kind: 'version' }, configPath, logLevel };
  const [name, ...rest] = positional;
  const doctorFlag = Object.keys(doctorFlags).find((f) => name !== 'install' || !SHARED_FLAGS.includes(f));
  if (name !== 'doctor' && doctorFlag !== undefined) throw usage(`--${doctorFlag} is a flag of the doctor command`);
  const installFlag = Object.keys(installFlags)[0];
  if (name !== 'install' && installFlag !== undefined) throw usage(`--${installFlag} is a flag of the install command`);
  if (name === undefined) return { command: { kind: 'plugin' }, configPath, logLevel };
  if (name === 'get-credentials') {
    if (rest.length !== 1) throw usage('get-credentials takes exactly one image, e.g. get-credentials fra.ocir.io/ns/repo');
    return { command: { kind: 'get-credentials', image: rest[0] as string, apiVersion }, configPath, logLevel };
  }
  if (name === 'doctor') {
    if (rest.length > 1) throw usage('doctor takes at most one image, e.g. doctor fra.ocir.io/ns/repo');
    const options: DoctorOptions = {
      root: doctorFlags.root ?? '/',
      procDir: doctorFlags['proc-dir'],
      binDir: doctorFlags['bin-dir'],
      kubeletConfig: doctorFlags['kubelet-config'],
      providerName: doctorFlags['provider-name'] ?? DEFAULT_PROVIDER_NAME,
    };
    return { command: { kind: 'doctor', image: rest[0], options, json: doctorFlags.json === 'true' }, configPath, logLevel };
  }
  if (name === 'install') {
    if (rest.length > 0) throw usage('install takes no arguments, only flags, e.g. install --host-root /');
    let watchMs: number | undefined;
    if (installFlags.watch !== undefined) {
      const nanoseconds = parseGoDuration(installFlags.watch);
      watchMs = nanoseconds === undefined ? undefined : Math.round(nanoseconds / 1e6);
      if (watchMs === undefined || watchMs < 1000) throw usage('--watch needs a duration of at least 1s, e.g. --watch 10m');
    }
    const options: InstallOptions = {
      hostRoot: installFlags['host-root'] ?? DEFAULT_INSTALL_OPTIONS.hostRoot,
      binDir: doctorFlags['bin-dir'] ?? DEFAULT_INSTALL_OPTIONS.binDir,
      kubeletConfig: doctorFlags['kubelet-config'] ?? DEFAULT_INSTALL_OPTIONS.kubeletConfig,
      executable: installFlags.executable,
      configSource: installFlags['config-source'],
      adopt: installFlags.adopt === 'true',
      rollback: installFlags.rollback === 'true',
      watchMs,
    };
    if (options.rollback && watchMs !== undefined) throw usage('--rollback and --watch do not go together');
    if (options.rollback && options.adopt) throw usage('--rollback and --adopt do not go together');
    return { command: { kind: 'install', options }, configPath, logLevel };
  }
  throw usage(`unknown command "${name}"`);
}

type DoctorFlag = 'root' | 'proc-dir' | 'bin-dir' | 'kubelet-config' | 'provider-name' | 'json';
type InstallFlag = 'host-root' | 'executable' | 'config-source' | 'watch' | 'rollback' | 'adopt';
const SHARED_FLAGS: readonly string[] = ['bin-dir', 'kubelet-config'];

function splitFlag(arg: string): [string, string | undefined] {
  const body = arg.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq === -1 ? [body, undefined] : [body.slice(0, eq), body.slice(eq + 1)];
}
