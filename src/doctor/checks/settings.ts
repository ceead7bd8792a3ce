import { loadSettings } from '../../config/load.ts';
import type { Settings } from '../../config/settings.ts';
import type { Env, FileReader } from '../../runtime.ts';
import { describeError } from '../describeError.ts';
import type { ProviderEntry } from '../kubeletConfig/validate.ts';
import type { NodeFs } from '../nodeFs.ts';
import { fail, pass, warn, type Outcome } from '../types.ts';

const NAME = 'provider settings';

/** The settings and environment the provider gets when the kubelet runs it. */
export interface ProviderRun {
  readonly settings: Settings;
  readonly env: Env;
}

export interface SettingsInput {
  /** doctor's own `-config`, which wins: the operator named the file. */
  readonly cliConfigPath: string | undefined;
  /** Our kubelet config entry, whose `env` and `args` the kubelet passes to the provider. */
  readonly provider: ProviderEntry | undefined;
  readonly env: Env;
  readonly files: FileReader;
  readonly fs: NodeFs;
  /** The `-config` path the plugin's args name, as the command line reads them (passed in: doctor does not import the CLI). */
  readonly configPathOf: (args: readonly string[]) => string | undefined;
}

/**
 * Loads the settings as the kubelet-run provider would see them: the kubelet's environment plus the
 * entry's `env` (later entries win, as Go's exec dedups), and `-config` from the entry's `args`.
 */
export async function checkSettings(input: SettingsInput): Promise<Outcome<ProviderRun>> {
  const extraEnv = input.provider?.env ?? [];
  const env: Env = { ...input.env, ...Object.fromEntries(extraEnv.map((e) => [e.name, e.value])) };
  let configPath = input.cliConfigPath;
  let files = input.files;
  let source = configPath === undefined ? 'the environment' : `-config ${configPath}`;
  try {
    if (configPath === undefined && input.provider !== undefined && input.provider.args.length > 0) {
      configPath = input.configPathOf(input.provider.args);
      if (configPath !== undefined) {
        // A path in the kubelet config is a node path: read it under the root, like the config itself.
        files = { readText: (path) => input.fs.readText(path) };
        source = `-config ${configPath} (from the kubelet config's args)`;
      }
    }
    const settings = await loadSettings({ configPath, env, files });
    const withEnv = extraEnv.length > 0 && configPath === undefined ? ` with the kubelet config's env` : '';
    const detail = `from ${source}${withEnv}: ${summarize(settings)}`;
    if (settings.ignored.length > 0) {
      // The provider runs, without the ignored conveniences: a warning, with the value to correct.
      return warn(NAME, `${detail}; ${settings.ignored.join('; ')}`, 'correct the setting named above; until then the provider runs without it', { settings, env });
    }
    return pass(NAME, detail, { settings, env });
  } catch (error) {
    const { detail, fix } = describeError(error);
    return fail(NAME, `${source}: ${detail}`, fix ?? 'correct the setting named above; the provider fails every pull until then');
  }
}

function summarize(s: Settings): string {
  const parts = [s.ocirAuthMethod, `registry ${s.registryProtocol}`, `token validation ${s.tokenValidation ? 'enabled' : 'disabled'}`];
  if (s.registryHosts.length > 0) parts.push(`registryHosts ${s.registryHosts.join(',')}`);
  if (s.realmDomains.length > 0) parts.push(`realmDomains ${s.realmDomains.join(',')}`);
  return parts.join(', ');
}
