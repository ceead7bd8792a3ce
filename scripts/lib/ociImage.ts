/**
 * Writes an OCI image layout (image-spec 1.1) holding one image index with a linux/amd64 and a
 * linux/arm64 image, without a container engine: each image is one gzip layer made by our
 * deterministic tar writer, a config and a manifest, all content-addressed JSON.
 *
 * Why not umoci (Debian has 0.4.7): `umoci repack` takes modes and times from an unpacked
 * rootfs and writes history entries with the current time, and it cannot make a multi-platform
 * index, which would have to be written by hand anyway. Here every byte follows from the inputs
 * and SOURCE_DATE_EPOCH, and skopeo and podman (Debian) check the result in the tests.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarArchive, type TarEntry } from './tar.ts';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** The gzip level of layers and release archives: level 9 saves ~1.3 MB per executable for ~3 s. */
export const GZIP_LEVEL = 9;

export interface ImagePlatform {
  /** OCI/Go architecture name: amd64, arm64. */
  readonly architecture: string;
  readonly variant?: string;
  /** The root file system, as tar entries. */
  readonly files: readonly TarEntry[];
}

export interface ImageInput {
  readonly platforms: readonly ImagePlatform[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** `org.opencontainers.image.*` annotations/labels (version, revision, source, licenses...). */
  readonly labels: Readonly<Record<string, string>>;
  /** The tag: `org.opencontainers.image.ref.name` of the index in index.json. */
  readonly refName: string;
  readonly sourceDateEpoch: number;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A blob store in memory, written out at the end so a failure leaves no half layout. */
class Blobs {
  readonly byDigest = new Map<string, Uint8Array>();
  add(bytes: Uint8Array): string {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    this.byDigest.set(digest, bytes);
    return digest;
  }
  json(value: unknown, mediaType: string): Descriptor {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    return { mediaType, digest: this.add(bytes), size: bytes.length };
  }
}

/** Builds the layout's files: path (relative to the layout folder) to bytes. */
export function buildImageLayout(input: ImageInput): Map<string, Uint8Array> {
  const blobs = new Blobs();
  const created = new Date(input.sourceDateEpoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const manifests: Descriptor[] = [];
  for (const platform of input.platforms) {
    const layerTar = tarArchive(platform.files, input.sourceDateEpoch);
    const diffId = `sha256:${createHash('sha256').update(layerTar).digest('hex')}`;
    // zlib writes no name and a zero mtime in the gzip header, so the layer is as stable as the tar.
    const layerGz = gzipSync(layerTar, { level: GZIP_LEVEL });
    const layer: Descriptor = { mediaType: MEDIA_TYPES.layer, digest: blobs.add(layerGz), size: layerGz.length };
    const config = blobs.json(
      {
        created,
        architecture: platform.architecture,
        ...(platform.variant === undefined ? {} : { variant: platform.variant }),
        os: 'linux',
        config: {
          Entrypoint: input.entrypoint,
          Cmd: input.cmd,
          Env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
          WorkingDir: '/',
          Labels: input.labels,
        },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created, created_by: 'scripts/release.ts (one layer: the executable and the glibc it links)' }],
      },
      MEDIA_TYPES.config,
    );
    const manifest = blobs.json(
      { schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer], annotations: input.labels },
      MEDIA_TYPES.manifest,
    );
    manifests.push({
      ...manifest,
      platform: { architecture: platform.architecture, os: 'linux', ...(platform.variant === undefined ? {} : { variant: platform.variant }) },
    });
  }
  const index = blobs.json({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests, annotations: input.labels }, MEDIA_TYPES.index);
  const files = new Map<string, Uint8Array>();
  files.set('oci-layout', new TextEncoder().encode(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  files.set(
    'index.json',
    new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.index,
        manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': input.refName } }],
      }),
    ),
  );
  for (const [digest, bytes] of blobs.byDigest) files.set(`blobs/sha256/${digest.slice('sha256:'.length)}`, bytes);
  return files;
}

/** Writes the layout's files under `dir` (which must not exist yet or be empty). */
export function writeLayout(dir: string, files: ReadonlyMap<string, Uint8Array>): void {
  for (const [path, bytes] of files) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), bytes, { mode: 0o644 });
  }
}
