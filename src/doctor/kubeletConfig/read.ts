import { errnoCode, type NodeFs } from '../nodeFs.ts';

/** One file of the kubelet's credential provider config, as text. */
export interface ConfigFile {
  readonly path: string;
  readonly text: string;
}

/** Why the config could not be read, in words for the report. */
export interface ConfigReadFailure {
  readonly problem: string;
}

/** Extensions the kubelet reads from a config directory (kubelet-protocol.md §3.1). */
const CONFIG_EXTENSIONS = /\.(ya?ml|json)$/;

/**
 * The config file, or since kubelet 1.34 a directory of them: every non-directory `.yaml`, `.yml`
 * or `.json` entry in lexicographic order, without recursion, at least one.
 */
export async function readKubeletConfig(fs: NodeFs, path: string): Promise<ConfigFile[] | ConfigReadFailure> {
  let isDirectory: boolean;
  try {
    isDirectory = (await fs.stat(path)).isDirectory;
  } catch (error) {
    const code = errnoCode(error);
    return { problem: code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${code ?? String(error)})` };
  }
  const paths: string[] = [];
  if (!isDirectory) paths.push(path);
  else {
    const base = path.replace(/\/+$/, '');
    for (const entry of (await fs.readDir(path)).sort()) {
      if (CONFIG_EXTENSIONS.test(entry) && !(await fs.stat(`${base}/${entry}`)).isDirectory) paths.push(`${base}/${entry}`);
    }
    if (paths.length === 0) return { problem: `the directory ${path} holds no .yaml, .yml or .json file` };
  }
  const files: ConfigFile[] = [];
  for (const file of paths) {
    try {
      files.push({ path: file, text: await fs.readText(file) });
    } catch (error) {
      return { problem: `${file} cannot be read (${errnoCode(error) ?? String(error)})` };
    }
  }
  return files;
}
