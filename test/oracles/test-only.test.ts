import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';

/**
 * The oracles are test-only: Oracle's SDK and the gRPC library are pinned devDependencies, and the
 * executable built from src/main.ts contains no module of theirs (nor of anything they pull in).
 */

const ORACLE_PACKAGES = ['oci-common', '@grpc/grpc-js', '@grpc/proto-loader'] as const;
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** `node_modules/@scope/name/...` or `node_modules/name/...` → the package name. */
function packageOf(path: string): string {
  const parts = path.split('node_modules/').at(-1)!.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

describe('the oracles stay out of the shipped executable', () => {
  test('they are devDependencies pinned to one exact version', () => {
    for (const name of ORACLE_PACKAGES) {
      expect(manifest.dependencies[name], name).toBeUndefined();
      expect(manifest.devDependencies[name], name).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  test('the bundle of src/main.ts holds modules of runtime dependencies only', async () => {
    // What `bun build --compile` bundles (scripts/build.ts), unminified, so each module keeps its path comment.
    const built = await Bun.build({ entrypoints: [new URL('../../src/main.ts', import.meta.url).pathname], target: 'bun' });
    expect(built.success).toBe(true);
    const text = await built.outputs[0]!.text();
    const bundled = new Set([...text.matchAll(/^\/\/ (\S*node_modules\/\S+)$/gm)].map((match) => packageOf(match[1]!)));
    expect(bundled.size).toBeGreaterThan(0);
    expect([...bundled].filter((name) => manifest.dependencies[name] === undefined)).toEqual([]);
  });
});
