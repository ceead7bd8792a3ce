import type { Memo, MemoEntry } from '../cache/memo.ts';
import type { Settings } from '../config/settings.ts';
import type { ApiVersion } from '../kubelet/apiVersion.ts';
import { plainImage } from '../kubelet/plainImage.ts';
import { kubeletEncodedRequest } from '../kubelet/requestBytes.ts';
import { encodeResponse } from '../kubelet/response.ts';
import { dockerTokenEntry, dockerTokenIsFresh } from '../ocir/cacheEntries.ts';
import type { Env } from '../runtime.ts';
import { sha256Hex } from '../webCrypto.ts';
import { tokenResponse } from './tokenResponse.ts';

/**
 * The warm answer: an exec whose every input is what an earlier exec saw is answered the way that
 * exec was, from one cache entry, before settings, identity or the registry policy are loaded.
 *
 * An answer is kept (`rememberAnswer`) only when it holds for the whole registry (no token
 * validation, no service-account token) and the exec printed nothing but it. It is served again
 * (`answerWarm`) only to a request in the kubelet's own encoding for a plain image of the same
 * registry and the same API version, from the same command line, the same environment (all of it)
 * and the same boot, when every file the first exec read still reads the same, and while its docker
 * token is fresh by the same rule as the full path's. Then the full path would read the same
 * settings, pick the same signer, accept the same registry and serve the same cached token: the
 * warm answer skips the work, not the decisions. Anything else, or anything odd, and the full path
 * runs as if the warm answer did not exist; it has no errors and no output of its own.
 *
 * In a burst, the execs that look up the same entry and find nothing wait for the one of them that
 * leads (`Memo.lead` on that entry, driven by `cli/warm.ts`) to keep it, then look again.
 */

/** Besides the request, what decided an answer: the command line, the whole environment, this boot. */
export interface ExecInputs {
  readonly argv: readonly string[];
  readonly env: Env;
  readonly bootId: string | undefined;
}

/** One file an exec read, by what came back: its text's digest, or why it could not be read. */
export type FileRead = { readonly path: string; readonly sha256: string } | { readonly path: string; readonly code: string };

/**
 * What is kept of an answer: who signed it (the docker token is read from its own cache entry, so
 * a warm answer serves exactly the token the full path would, and none once that entry is gone or
 * replaced), the username, and the files to read again first. No secret.
 */
export interface KeptAnswer {
  readonly username: string;
  readonly principalKey: string;
  readonly files: readonly FileRead[];
}

export interface WarmWorld {
  readonly nowMs: () => number;
  /** Reads a file as the full path's `FileReader` does, synchronously; throws with the same `code`. */
  readonly readText: (path: string) => string;
  /** The cache, read-only: a warm answer never creates, tags or writes anything. */
  readonly memo: Memo;
}

/** What a request is looked up by: its kept answer's entry, bound to the exec's inputs. */
export interface WarmLookup {
  readonly apiVersion: ApiVersion;
  readonly registry: string;
  readonly entry: MemoEntry<KeptAnswer>;
}

/** Undefined for a request that is never answered warm (another encoding, an image the quick parse leaves to the full path). */
export function warmLookup(requestBytes: Uint8Array, inputs: ExecInputs): WarmLookup | undefined {
  const request = kubeletEncodedRequest(requestBytes);
  const image = request === undefined ? undefined : plainImage(request.image);
  if (request === undefined || image === undefined) return undefined;
  return { apiVersion: request.apiVersion, registry: image.registry, entry: keptAnswerEntry(inputsDigest(inputs), image.registry, request.apiVersion) };
}

/** The response text for the request looked up when an earlier exec's answer may be served again; else undefined. */
export function answerWarm(lookup: WarmLookup, world: WarmWorld): string | undefined {
  const kept = world.memo.read(lookup.entry);
  const token = kept === undefined ? undefined : world.memo.read(dockerTokenEntry(lookup.registry, kept.principalKey));
  const nowMs = world.nowMs();
  if (kept === undefined || token === undefined || !dockerTokenIsFresh(token, nowMs)) return undefined;
  for (const file of kept.files) {
    if (!sameNote(file, noteOf(file.path, readAgain(file.path, world.readText)))) return undefined;
  }
  return encodeResponse(
    tokenResponse({ apiVersion: lookup.apiVersion, registry: lookup.registry, username: kept.username, token, verdict: 'unchecked', nowMs }),
  );
}

/**
 * Whether an exec with these settings can keep an answer at all: not when it checks each
 * repository's access (its answer is then for one repository), nor when it logs every answer (at
 * `info` and `debug`, "credentials issued"). With such settings no exec waits for another's answer.
 */
export function mayKeepAnswers(settings: Pick<Settings, 'tokenValidation' | 'logLevel'>): boolean {
  return !settings.tokenValidation && (settings.logLevel === 'error' || settings.logLevel === 'warn');
}

/** Keeps an answer for `answerWarm`; the caller has checked that it holds for the whole registry and nothing was logged. */
export async function rememberAnswer(memo: Memo, inputs: ExecInputs, apiVersion: ApiVersion, registry: string, answer: KeptAnswer): Promise<void> {
  // A relative path depends on the working directory, which is not among the inputs.
  if (answer.files.some((file) => !file.path.startsWith('/'))) return;
  const entry = keptAnswerEntry(inputsDigest(inputs), registry, apiVersion);
  // Every process of a burst gets here; only the first of each token writes.
  const known = memo.read(entry);
  if (known !== undefined && known.username === answer.username && known.principalKey === answer.principalKey && sameFiles(known.files, answer.files)) return;
  await memo.write(entry, answer);
}

/**
 * Wraps a file reader to note what each read gave, for `rememberAnswer`. The digest is of the
 * text, so the notes hold no content.
 */
export function notingReads(readText: (path: string) => Promise<string>): { readonly readText: (path: string) => Promise<string>; readonly reads: () => Promise<FileRead[]> } {
  // Digests are taken only when asked for: most execs never keep an answer.
  const outcomes: Promise<{ readonly path: string; readonly outcome: ReadOutcome }>[] = [];
  return {
    readText: (path) => {
      const read = readText(path);
      outcomes.push(read.then((text) => ({ path, outcome: { text } }), (error: unknown) => ({ path, outcome: { code: codeOf(error) } })));
      return read;
    },
    reads: async () => (await Promise.all(outcomes)).map(({ path, outcome }) => noteOf(path, outcome)),
  };
}

/** What one read gave: the text, or the `code` it failed with. */
type ReadOutcome = { readonly text: string } | { readonly code: string };

function readAgain(path: string, readText: (path: string) => string): ReadOutcome {
  try {
    return { text: readText(path) };
  } catch (error) {
    return { code: codeOf(error) };
  }
}

/** A read as it is kept: the digest of its text, or its `code`. */
function noteOf(path: string, outcome: ReadOutcome): FileRead {
  return 'text' in outcome ? { path, sha256: sha256Hex(outcome.text) } : { path, code: outcome.code };
}

function sameNote(a: FileRead, b: FileRead): boolean {
  return a.path === b.path && ('code' in a ? 'code' in b && a.code === b.code : 'sha256' in b && a.sha256 === b.sha256);
}

function sameFiles(a: readonly FileRead[], b: readonly FileRead[]): boolean {
  return a.length === b.length && a.every((read, i) => sameNote(read, b[i] as FileRead));
}

/** The `code` a `FileReader` rejects with (an errno code or a refusal), or a fixed word. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'unreadable';
}

/**
 * Bound to everything that decided the answer: the inputs' digest (never the inputs: the
 * environment may hold a passphrase), the registry and the API version the kubelet asked with.
 */
export function keptAnswerEntry(inputsDigest: string, registry: string, apiVersion: ApiVersion): MemoEntry<KeptAnswer> {
  return {
    key: ['answer', inputsDigest, registry, apiVersion],
    codec: {
      encode: (answer) => ({ username: answer.username, principalKey: answer.principalKey, files: answer.files }),
      decode: (json) => {
        const e = json as Partial<KeptAnswer> | undefined;
        if (typeof e?.username !== 'string' || e.username === '' || typeof e.principalKey !== 'string' || e.principalKey === '' || !Array.isArray(e.files)) return undefined;
        const files = (e.files as unknown[]).map(fileReadOf);
        return files.every((f) => f !== undefined) ? { username: e.username, principalKey: e.principalKey, files } : undefined;
      },
    },
  };
}

function fileReadOf(json: unknown): FileRead | undefined {
  const e = json as { path?: unknown; sha256?: unknown; code?: unknown } | undefined;
  if (typeof e?.path !== 'string' || !e.path.startsWith('/')) return undefined;
  if (typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) && e.code === undefined) return { path: e.path, sha256: e.sha256 };
  if (typeof e.code === 'string' && e.code !== '' && e.sha256 === undefined) return { path: e.path, code: e.code };
  return undefined;
}

/** One digest of the inputs, the same whoever computes it: the full path when it keeps an answer, the warm one when it looks. */
export function inputsDigest(inputs: ExecInputs): string {
  const env = Object.keys(inputs.env)
    .filter((name) => inputs.env[name] !== undefined)
    .sort()
    .map((name) => [name, inputs.env[name]]);
  return sha256Hex(JSON.stringify([inputs.argv, env, inputs.bootId ?? null]));
}
