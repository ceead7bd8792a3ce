// Replaced at build time by `bun build --define` (scripts/build.ts); absent when run from source.
declare const BUILD_VERSION: string | undefined;
declare const BUILD_COMMIT: string | undefined;

export const VERSION: string = typeof BUILD_VERSION === 'string' ? BUILD_VERSION : '0.0.0-source';
export const COMMIT: string = typeof BUILD_COMMIT === 'string' ? BUILD_COMMIT : 'source';

export function versionLine(): string {
  return `credential-provider-oke ${VERSION} (commit ${COMMIT})\n`;
}
