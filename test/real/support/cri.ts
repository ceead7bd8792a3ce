import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/**
 * A client of containerd's CRI plugin that makes the kubelet's own image calls
 * (`runtime.v1.ImageService`), over gRPC on the private containerd socket. The messages come from
 * cri-api.proto, a minimal copy of the published CRI API (same package and field numbers).
 */

const PROTO = fileURLToPath(new URL('./cri-api.proto', import.meta.url));
/** One CRI call's ceiling; a pull of the one-file test image takes well under a second. */
const CALL_TIMEOUT_MS = 30_000;

/** `AuthConfig` as the kubelet fills it from a credential provider's answer: username and password only. */
export interface CriAuth {
  readonly username: string;
  readonly password: string;
}

export interface CriImage {
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
}

/** A failed call as the kubelet sees it: the gRPC status and the runtime's message. */
export interface CriFailure {
  readonly code: number;
  readonly details: string;
}

export interface CriClient {
  /** `RuntimeService/Version`: answers once the CRI plugin is serving. */
  version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>;
  /** `ImageService/PullImage` with `auth`; resolves to the image ref, or to the failure the kubelet would log. */
  pullImage(image: string, auth: CriAuth): Promise<{ imageRef: string } | { failure: CriFailure }>;
  /** `ImageService/ImageStatus`: the image, or undefined when the runtime does not have it. */
  imageStatus(image: string): Promise<CriImage | undefined>;
  removeImage(image: string): Promise<void>;
  close(): void;
}

type Callback<T> = (error: ServiceError | null, response: T) => void;
type Unary = (request: unknown, metadata: Metadata, options: { deadline: number }, callback: Callback<unknown>) => void;
type ServiceConstructor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, Unary>;

export function connectCri(socket: string): CriClient {
  const definition = loadSync(PROTO, { keepCase: false, longs: String, enums: String, defaults: true });
  const runtime = (loadPackageDefinition(definition) as unknown as { runtime: { v1: Record<string, ServiceConstructor> } }).runtime.v1;
  const address = `unix://${socket}`;
  const images = new runtime['ImageService']!(address, credentials.createInsecure());
  const runtimeService = new runtime['RuntimeService']!(address, credentials.createInsecure());

  const call = <T>(client: Client & Record<string, Unary>, method: string, request: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      client[method]!.call(client, request, new Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (error, response) => {
        if (error !== null) reject(error);
        else resolve(response as T);
      });
    });

  return {
    version: () => call(runtimeService, 'Version', { version: 'v1' }),
    pullImage: async (image, auth) => {
      try {
        const response = await call<{ imageRef: string }>(images, 'PullImage', { image: { image }, auth: { username: auth.username, password: auth.password } });
        return { imageRef: response.imageRef };
      } catch (error) {
        const { code, details } = error as ServiceError;
        if (typeof code !== 'number') throw error;
        return { failure: { code, details } };
      }
    },
    imageStatus: async (image) => {
      const response = await call<{ image: CriImage | null }>(images, 'ImageStatus', { image: { image } });
      return response.image ?? undefined;
    },
    removeImage: async (image) => {
      await call(images, 'RemoveImage', { image: { image } });
    },
    close: () => {
      images.close();
      runtimeService.close();
    },
  };
}
