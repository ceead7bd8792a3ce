import { formatErrorLine, ProviderError } from '../errors.ts';
import { doctorResults, type DoctorIo } from '../doctor/doctor.ts';
import { formatJson } from '../doctor/format.ts';
import { DEFAULT_PROVIDER_NAME } from '../doctor/options.ts';
import { install, readSources, rollback } from './install.ts';
import type { InstallOptions } from './options.ts';

export interface InstallIo extends DoctorIo {
  /** This executable's path; default `process.execPath` (the compiled program itself). */
  readonly selfPath?: string;
  /** Resolves after `ms` with whether to go on; the watch loop's only timer (tests stop it). */
  sleep?(ms: number): Promise<boolean>;
  /** The CLI's reading of `-config` from the plugin's args (doctor's settings check). */
  readonly configPathOf: (args: readonly string[]) => string | undefined;
}

const realSleep = (ms: number): Promise<boolean> => new Promise((resolve) => setTimeout(() => resolve(true), ms));

/**
 * `install` once (exit 0, or 1 with one line on stderr), or with `--watch` the DaemonSet's loop:
 * install, then every interval install again (repairs a deleted or foreign-free file) and log
 * doctor's checks as one JSON line on stdout. In the loop a failure is logged, not fatal: the
 * pod stays up and says what is wrong, the node keeps its working version.
 */
export async function runInstall(options: InstallOptions, io: InstallIo): Promise<number> {
  const once = async (): Promise<{ ok: boolean; line: string }> => {
    try {
      if (options.rollback) return { ok: true, line: (await rollback(options)).message };
      const { executable, config } = await readSources(options, io.selfPath ?? process.execPath);
      return { ok: true, line: (await install(options, executable, config)).message };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      return { ok: false, line: formatErrorLine(error) };
    }
  };
  if (options.watchMs === undefined) {
    const result = await once();
    if (result.ok) await io.writeStdout(`${result.line}\n`);
    else io.writeStderr(`credential-provider-oke: ${result.line}\n`);
    return result.ok ? 0 : 1;
  }
  for (;;) {
    const result = await once();
    const checks = await doctorResults(
      {
        image: undefined,
        options: { root: options.hostRoot, procDir: undefined, binDir: options.binDir, kubeletConfig: options.kubeletConfig, providerName: DEFAULT_PROVIDER_NAME },
        configPath: undefined,
        logLevel: undefined,
        configPathOf: io.configPathOf,
      },
      undefined,
      io,
    );
    const doctor = JSON.parse(formatJson(checks)) as unknown;
    await io.writeStdout(`${JSON.stringify({ time: new Date(io.clock.now()).toISOString(), install: { ok: result.ok, message: result.line }, doctor })}\n`);
    if (!(await (io.sleep ?? realSleep)(options.watchMs))) return 0;
  }
}
