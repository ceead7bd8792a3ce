import { afterAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MEDIA_TYPES } from '../../scripts/lib/ociImage.ts';
import { imageLayoutName } from '../../scripts/lib/release.ts';
import { executableFileName, BUILD_TARGETS } from '../../scripts/lib/targets.ts';
import { RELEASE_DIR, VERSION, has, isRoot, run } from './support.ts';

/**
 * The OCI image layout in the release: the index and both platform images read by hand, then by
 * skopeo (containers/image) and run: amd64 by podman, arm64 by qemu with only the image's own
 * files as its root (so the glibc copied into it is shown to be enough).
 */

const layout = RELEASE_DIR === undefined ? '' : join(RELEASE_DIR, imageLayoutName(VERSION));
const SLOW_MS = 120_000;
const skips: string[] = [];
if (RELEASE_DIR === undefined) skips.push('image tests skipped: RELEASE_DIR is not set (npm test builds the release and sets it)');
const canSkopeo = has('skopeo');
if (!canSkopeo) skips.push('skopeo inspect skipped: skopeo is not installed (Debian: apt-get install skopeo)');
const canPodman = has('podman') && isRoot;
if (!canPodman) skips.push('podman run skipped: needs podman (Debian: apt-get install podman) and root');
const canQemu = has('qemu-aarch64-static');
if (!canQemu) skips.push('arm64 image run skipped: qemu-aarch64-static is not installed (Debian: apt-get install qemu-user-static)');
for (const line of skips) console.warn(line);

const work = mkdtempSync(join(tmpdir(), 'cpo-image-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}
const blob = (digest: string): Buffer => readFileSync(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
const json = <T>(d: Descriptor): T => {
  const bytes = blob(d.digest);
  expect(bytes.length).toBe(d.size);
  expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(d.digest);
  return JSON.parse(bytes.toString()) as T;
};

/** The platform images: manifest, config, and the layer's files (tar parsed by GNU tar). */
function platformImages(): { platform: Descriptor['platform']; manifest: { layers: Descriptor[]; config: Descriptor }; config: { architecture: string; config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] } } }[] {
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const index = json<{ mediaType: string; manifests: Descriptor[] }>(top.manifests[0] as Descriptor);
  return index.manifests.map((d) => {
    const manifest = json<{ layers: Descriptor[]; config: Descriptor }>(d);
    return { platform: d.platform, manifest, config: json(manifest.config) };
  });
}

describe.skipIf(RELEASE_DIR === undefined)('OCI image layout', () => {
  test('index.json tags one image index (the version) holding linux/amd64 and linux/arm64', () => {
    expect(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    expect(top.manifests).toHaveLength(1);
    expect(top.manifests[0]?.mediaType).toBe(MEDIA_TYPES.index);
    expect(top.manifests[0]?.annotations?.['org.opencontainers.image.ref.name']).toBe(VERSION);
    expect(platformImages().map((p) => p.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
  });

  test('each image: one layer whose diff_id is its uncompressed digest, holding the released executable, its config and glibc only', () => {
    for (const [i, image] of platformImages().entries()) {
      const target = BUILD_TARGETS[i] as (typeof BUILD_TARGETS)[0];
      expect(image.config.architecture).toBe(target.arch);
      expect(image.config.config.Entrypoint).toEqual(['/opt/credential-provider-oke/credential-provider-oke']);
      expect(image.manifest.layers).toHaveLength(1);
      const layerDescriptor = image.manifest.layers[0] as Descriptor;
      expect(layerDescriptor.mediaType).toBe(MEDIA_TYPES.layer);
      const tar = gunzipSync(blob(layerDescriptor.digest));
      expect(image.config.rootfs.diff_ids).toEqual([`sha256:${createHash('sha256').update(tar).digest('hex')}`]);
      const tarFile = join(work, `${target.arch}.tar`);
      writeFileSync(tarFile, tar);
      const listing = run('tar', ['--numeric-owner', '-tvf', tarFile]);
      const names = listing.stdout.trim().split('\n').map((l) => l.split(/\s+/)[5]);
      const triplet = target.arch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
      expect(names.filter((n) => !(n as string).endsWith('/')).sort()).toEqual(
        [
          'opt/credential-provider-oke/LICENSE',
          'opt/credential-provider-oke/README.md',
          'opt/credential-provider-oke/credential-provider-config.yaml',
          'opt/credential-provider-oke/credential-provider-oke',
          ...['ld-linux-' + (target.arch === 'amd64' ? 'x86-64.so.2' : 'aarch64.so.1'), 'libc.so.6', 'libdl.so.2', 'libm.so.6', 'libpthread.so.0'].map((f) => `lib/${triplet}/${f}`),
          target.arch === 'amd64' ? 'lib64/ld-linux-x86-64.so.2' : 'lib/ld-linux-aarch64.so.1',
          'usr/share/doc/glibc/copyright',
        ].sort(),
      );
      for (const row of listing.stdout.trim().split('\n')) expect(row.split(/\s+/)[1]).toBe('0/0');
      const root = join(work, target.arch);
      mkdirSync(root);
      expect(run('tar', ['-xf', tarFile, '-C', root]).status).toBe(0);
      expect(readFileSync(join(root, 'opt/credential-provider-oke/credential-provider-oke')).equals(readFileSync(join(RELEASE_DIR as string, executableFileName(target))))).toBe(true);
    }
  }, SLOW_MS);

  test.skipIf(!canSkopeo)('skopeo inspects both platforms through the tag', () => {
    const ref = `oci:${layout}:${VERSION}`;
    const raw = run('skopeo', ['inspect', '--raw', ref]);
    expect(raw.status).toBe(0);
    expect((JSON.parse(raw.stdout) as { mediaType: string }).mediaType).toBe(MEDIA_TYPES.index);
    for (const arch of ['amd64', 'arm64']) {
      const inspected = run('skopeo', ['--override-os', 'linux', '--override-arch', arch, 'inspect', ref]);
      expect(inspected.stderr).toBe('');
      const info = JSON.parse(inspected.stdout) as { Architecture: string; Os: string; Labels: Record<string, string>; Layers: string[] };
      expect(info.Architecture).toBe(arch);
      expect(info.Os).toBe('linux');
      expect(info.Labels['org.opencontainers.image.version']).toBe(VERSION);
      expect(info.Layers).toHaveLength(1);
    }
  }, SLOW_MS);

  test.skipIf(!canPodman)('podman runs the amd64 image: --version, read-only root, no network', () => {
    const state = join(work, 'podman');
    mkdirSync(join(state, 'tmp'), { recursive: true });
    // podman's default rlimits cannot be set inside some sandboxes (CI's included); the image needs none.
    writeFileSync(join(state, 'containers.conf'), '[containers]\ndefault_ulimits = []\n');
    const podman = (args: string[]) =>
      run('podman', ['--root', join(state, 'root'), '--runroot', join(state, 'run'), '--storage-driver', 'vfs', '--tmpdir', join(state, 'tmp'), ...args], {
        env: { ...process.env, CONTAINERS_CONF: join(state, 'containers.conf') },
      });
    // podman names the image after the layout's path, and image names are lowercase: a checkout in
    // a mktemp folder (tmp.AbCd…) needs a lowercase path to the same layout.
    const lowercase = `/tmp/cpo-layout-${process.pid}-${createHash('sha256').update(layout).digest('hex').slice(0, 8)}`;
    rmSync(lowercase, { force: true });
    symlinkSync(layout, lowercase);
    const ran = podman(['run', '--rm', '--network', 'none', '--read-only', '--platform', 'linux/amd64', `oci:${lowercase}:${VERSION}`, '--version']);
    rmSync(lowercase, { force: true });
    // podman's own words when it could not run the image, so a failure here says why.
    if (ran.status !== 0) throw new Error(`podman exited ${String(ran.status)}: ${ran.stderr.trim()}`);
    expect(ran.stdout.trim()).toMatch(new RegExp(`^credential-provider-oke ${VERSION.replace(/\./g, '\\.')} \\(commit [0-9a-f]{12}(-dirty)?\\)$`));
    expect(ran.status).toBe(0);
  }, SLOW_MS);

  test.skipIf(!canQemu)('the arm64 image runs --version under qemu with nothing but its own files as the root', () => {
    const root = join(work, 'arm64');
    const ran = run('qemu-aarch64-static', ['-L', root, join(root, 'opt/credential-provider-oke/credential-provider-oke'), '--version'], { env: { PATH: '/usr/bin:/bin' } });
    expect(ran.stdout.trim()).toStartWith(`credential-provider-oke ${VERSION} (commit `);
    expect(ran.status).toBe(0);
  }, SLOW_MS);
});
