import { errnoCode, type NodeFs } from '../nodeFs.ts';
import { fail, pass, type Outcome } from '../types.ts';

const NAME = 'executable';
const EXECUTE_BITS = 0o111;
const GROUP_OTHER_WRITE_BITS = 0o022;

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * The kubelet resolves each provider `name` with `exec.LookPath(<bin-dir>/<name>)`: the file must
 * exist, not be a directory, and have an execute bit (the kubelet runs as root, so any bit will
 * do). A missing or non-executable provider makes the kubelet refuse to start.
 */
export async function checkExecutable(fs: NodeFs, binDir: string, providerName: string): Promise<Outcome<string>> {
  const path = `${binDir.replace(/\/+$/, '')}/${providerName}`;
  const install = `install the ${providerName} executable for this CPU as ${path} with mode 0755 (docs/install.md)`;
  try {
    if (!(await fs.stat(binDir)).isDirectory) return fail(NAME, `the bin dir ${binDir} is not a directory`, install);
  } catch (error) {
    const code = errnoCode(error);
    return fail(NAME, code === 'ENOENT' ? `the bin dir ${binDir} does not exist` : `the bin dir ${binDir} cannot be read (${code ?? String(error)})`, install);
  }
  let facts;
  try {
    facts = await fs.stat(path);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') {
      return fail(NAME, `${path} does not exist (the file name must equal the provider name in the kubelet config)`, install);
    }
    return fail(NAME, `${path} cannot be read (${code ?? String(error)})`, install);
  }
  if (!facts.isFile) return fail(NAME, `${path} is not a regular file`, install);
  if ((facts.mode & EXECUTE_BITS) === 0) {
    return fail(NAME, `${path} is not executable (mode ${octal(facts.mode)})`, `chmod 0755 ${path}`);
  }
  if ((facts.mode & GROUP_OTHER_WRITE_BITS) !== 0) {
    // The kubelet runs this file as root on every pull: whoever can write it owns the node.
    return {
      result: {
        name: NAME,
        status: 'warn',
        detail: `${path} is writable by group or others (mode ${octal(facts.mode)}): whoever can write it runs code as root`,
        fix: `chown root:root ${path} && chmod 0755 ${path}`,
      },
      value: path,
    };
  }
  return pass(NAME, `${path} is an executable file (mode ${octal(facts.mode)})`, path);
}
