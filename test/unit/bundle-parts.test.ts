import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The release build splits the bundle at each dynamic `import()` and loads a part only when it runs
 * (scripts/build.ts, `--splitting`). What each kind of exec loads is read here from the bundler's
 * own account (the metafile), with the build's settings: a module that slips into the kubelet's
 * warm exec costs every image pull its loading (measured on a warm exec, callgrind: the arguments'
 * parser and help text 0.13 M instructions; `node:path`, the logger and the general request and image
 * readers 0.26 M together).
 */

interface MetaImport {
  readonly path: string;
  readonly kind: string;
  readonly external?: boolean;
}
interface Meta {
  readonly inputs: Record<string, { readonly imports: readonly MetaImport[] }>;
  readonly outputs: Record<string, { readonly entryPoint?: string; readonly imports: readonly MetaImport[]; readonly inputs: Record<string, unknown> }>;
}

const ROOT = join(import.meta.dir, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'bundle-parts-'));
const built = await Bun.build({ entrypoints: [join(ROOT, 'src/main.ts')], target: 'bun', format: 'esm', splitting: true, metafile: true, outdir });
rmSync(outdir, { recursive: true, force: true });
const meta = built.metafile as unknown as Meta;

/** The output holding `module`, with every output it imports statically: what loading that module loads. */
function loadedWith(module: string): { readonly modules: string[]; readonly builtins: string[] } {
  const start = Object.keys(meta.outputs).find((name) => module in (meta.outputs[name]?.inputs ?? {}));
  if (start === undefined) throw new Error(`no output holds ${module}`);
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const imported of meta.outputs[name]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
    }
  };
  visit(start);
  const modules = [...seen].flatMap((name) => Object.keys(meta.outputs[name]?.inputs ?? {}));
  const builtins = modules.flatMap((m) => (meta.inputs[m]?.imports ?? []).filter((i) => i.external && i.kind === 'import-statement').map((i) => i.path));
  return { modules: modules.sort(), builtins: [...new Set(builtins)].sort() };
}

describe('each kind of exec loads its own part of the executable', () => {
  test('the entry imports nothing before it knows what the exec is', () => {
    const entry = Object.values(meta.outputs).find((output) => output.entryPoint === 'src/main.ts');
    expect(entry).toBeDefined();
    expect(Object.keys(entry?.inputs ?? {})).toEqual(['src/main.ts']);
    expect((entry?.imports ?? []).filter((imported) => imported.kind !== 'dynamic-import')).toEqual([]);
  });

  test("the kubelet's warm exec: the cache, the request as the kubelet encodes it, the response; node:fs and nothing else built in", () => {
    const { modules, builtins } = loadedWith('src/cli/warm.ts');
    expect(modules).toContain('src/provider/warmAnswer.ts');
    expect(modules).toContain('src/cache/memo.ts');
    const never = [
      'src/cli/args.ts',
      'src/cli/help.ts',
      'src/cli/processMain.ts',
      'src/log.ts',
      'src/fs/logFileSink.ts',
      'src/kubelet/request.ts',
      'src/kubelet/jsonDocument.ts',
      'src/kubelet/image.ts',
      'src/config/load.ts',
      'src/cache/fileLock.ts',
    ];
    expect(modules.filter((m) => never.includes(m) || m.startsWith('node_modules/') || m.startsWith('src/identity/') || m.startsWith('src/oci/'))).toEqual([]);
    expect(builtins).toEqual(['fs']);
  });

  test('--version and --help: the arguments and the texts, no cache, identity or dependency', () => {
    const { modules, builtins } = loadedWith('src/cli/quickAnswer.ts');
    expect(modules).toContain('src/cli/args.ts');
    expect(modules.filter((m) => m.startsWith('src/cache/') || m.startsWith('src/identity/') || m.startsWith('node_modules/'))).toEqual([]);
    expect(builtins).toEqual(['fs']);
  });
});
