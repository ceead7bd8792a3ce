import { describe, expect, test } from 'bun:test';
import { createMemo, memoryBackend, type Memo, type MemoBackend } from '../../src/cache/memo.ts';
import { answerWarm, keptAnswerEntry, inputsDigest, notingReads, rememberAnswer, warmLookup, type ExecInputs, type KeptAnswer } from '../../src/provider/warmAnswer.ts';
import { tokenResponse } from '../../src/provider/tokenResponse.ts';
import { encodeResponse } from '../../src/kubelet/response.ts';
import { dockerTokenEntry } from '../../src/ocir/cacheEntries.ts';

const V1 = 'credentialprovider.kubelet.k8s.io/v1' as const;
const V1BETA1 = 'credentialprovider.kubelet.k8s.io/v1beta1' as const;
const REGISTRY = 'fra.ocir.io';
const NOW = Date.UTC(2026, 11, 3, 12);
const TOKEN = { token: 'docker-token-value', issuedAtMs: NOW - 60_000, expiresAtMs: NOW + 59 * 60_000 };
const PRINCIPAL = 'ocid1.instance.oc1..i@ocid1.tenancy.oc1..t';
const INPUTS: ExecInputs = { argv: [], env: { PATH: '/usr/bin', OCIR_AUTH_METHOD: 'INSTANCE_PRINCIPAL' }, bootId: 'boot-1' };

const request = (image: string, apiVersion: string = V1): Uint8Array =>
  new TextEncoder().encode(`${JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion, image })}\n`);

/** A world whose files are a map (absent: ENOENT), and a memo in memory that counts its writes. */
function world(options: { inputs?: ExecInputs; files?: Record<string, string>; nowMs?: number; memo: Memo }) {
  const files = options.files ?? {};
  return {
    inputs: () => Promise.resolve(options.inputs ?? INPUTS),
    nowMs: () => options.nowMs ?? NOW,
    readText: (path: string): string => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`${path}: ENOENT`), { code: 'ENOENT' });
      return text;
    },
    memo: options.memo,
  };
}

/** The warm answer as `cli/warm.ts` asks for it: the lookup by request and inputs, then the answer. */
async function warm(bytes: Uint8Array, w: ReturnType<typeof world>): Promise<string | undefined> {
  const lookup = warmLookup(bytes, await w.inputs());
  return lookup === undefined ? undefined : answerWarm(lookup, w);
}

function countingMemo(): { memo: Memo; writes: () => number } {
  const backend = memoryBackend();
  let writes = 0;
  const counted: MemoBackend = { ...backend, write: (name, value) => (writes++, backend.write(name, value)) };
  return { memo: createMemo({ open: () => counted }), writes: () => writes };
}

/** Keeps an answer the way the full path does: with the notes of the files it read. */
async function keep(memo: Memo, files: Record<string, string>, inputs = INPUTS, apiVersion: typeof V1 | typeof V1BETA1 = V1): Promise<void> {
  const noting = notingReads((path) => (files[path] === undefined ? Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' })) : Promise.resolve(files[path])));
  for (const path of ['/etc/oci/config', '/root/.oci/regions-config.json']) await noting.readText(path).catch(() => undefined);
  await memo.write(dockerTokenEntry(REGISTRY, PRINCIPAL), TOKEN);
  await rememberAnswer(memo, inputs, apiVersion, REGISTRY, { username: 'BEARER_TOKEN', principalKey: PRINCIPAL, files: await noting.reads() });
}

const FILES = { '/etc/oci/config': '[DEFAULT]\nuser=ocid1.user.oc1..a\n' };

describe('answerWarm serves an earlier answer only while everything that decided it is the same', () => {
  test('the same inputs: the answer the full path would build, for any repository of the registry', async () => {
    const { memo } = countingMemo();
    await keep(memo, FILES);
    const expected = encodeResponse(tokenResponse({ apiVersion: V1, registry: REGISTRY, username: 'BEARER_TOKEN', token: TOKEN, verdict: 'unchecked', nowMs: NOW }));
    expect(await warm(request('fra.ocir.io/ns/app'), world({ files: FILES, memo }))).toBe(expected);
    expect(await warm(request('fra.ocir.io/other/repo/deep'), world({ files: FILES, memo }))).toBe(expected);
    expect(JSON.parse(expected).cacheDuration).toBe('54m0s');
  });

  const misses: [string, (memo: Memo) => Promise<string | undefined>][] = [
    ['another variable in the environment', (memo) => warm(request('fra.ocir.io/ns/app'), world({ inputs: { ...INPUTS, env: { ...INPUTS.env, LOG_LEVEL: 'debug' } }, files: FILES, memo }))],
    ['a variable with another value', (memo) => warm(request('fra.ocir.io/ns/app'), world({ inputs: { ...INPUTS, env: { ...INPUTS.env, PATH: '/bin' } }, files: FILES, memo }))],
    ['arguments', (memo) => warm(request('fra.ocir.io/ns/app'), world({ inputs: { ...INPUTS, argv: ['-v', 'debug'] }, files: FILES, memo }))],
    ['another boot', (memo) => warm(request('fra.ocir.io/ns/app'), world({ inputs: { ...INPUTS, bootId: 'boot-2' }, files: FILES, memo }))],
    ['a file that reads differently', (memo) => warm(request('fra.ocir.io/ns/app'), world({ files: { '/etc/oci/config': '[DEFAULT]\nuser=ocid1.user.oc1..b\n' }, memo }))],
    ['a file that is gone', (memo) => warm(request('fra.ocir.io/ns/app'), world({ files: {}, memo }))],
    ['a file that was missing and now exists', (memo) => warm(request('fra.ocir.io/ns/app'), world({ files: { ...FILES, '/root/.oci/regions-config.json': '[]' }, memo }))],
    ['another registry', (memo) => warm(request('lhr.ocir.io/ns/app'), world({ files: FILES, memo }))],
    ['another API version', (memo) => warm(request('fra.ocir.io/ns/app', V1BETA1), world({ files: FILES, memo }))],
    ['a token no longer fresh', (memo) => warm(request('fra.ocir.io/ns/app'), world({ files: FILES, memo, nowMs: TOKEN.expiresAtMs - 9 * 60_000 }))],
    ['an image with a tag (not the kubelet form)', (memo) => warm(request('fra.ocir.io/ns/app:v1'), world({ files: FILES, memo }))],
    [
      'a request not in the kubelet encoding',
      (memo) => warm(new TextEncoder().encode(`{ "kind":"CredentialProviderRequest","apiVersion":"${V1}","image":"fra.ocir.io/ns/app"}`), world({ files: FILES, memo })),
    ],
    [
      'a request with a service account token',
      (memo) =>
        warm(
          new TextEncoder().encode(JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: V1, image: 'fra.ocir.io/ns/app', serviceAccountToken: 'x' })),
          world({ files: FILES, memo }),
        ),
    ],
  ];
  for (const [change, attempt] of misses) {
    test(`${change}: no answer (the full path runs)`, async () => {
      const { memo } = countingMemo();
      await keep(memo, FILES);
      expect(await attempt(memo)).toBeUndefined();
    });
  }

  test('the docker token entry gone or replaced: no answer (the kept answer never outlives the token it named)', async () => {
    const { memo } = countingMemo();
    await keep(memo, FILES);
    await memo.write(dockerTokenEntry(REGISTRY, PRINCIPAL), { ...TOKEN, token: 'another-token' });
    const served = await warm(request('fra.ocir.io/ns/app'), world({ files: FILES, memo }));
    expect(JSON.parse(served ?? '{}').auth[REGISTRY].password).toBe('another-token');
    await memo.write({ key: dockerTokenEntry(REGISTRY, PRINCIPAL).key, codec: { encode: (v: unknown) => v, decode: (v: unknown) => v } }, null);
    expect(await warm(request('fra.ocir.io/ns/app'), world({ files: FILES, memo }))).toBeUndefined();
  });

  test('nothing kept, or a kept entry that is not whole: no answer', async () => {
    const { memo } = countingMemo();
    expect(await warm(request('fra.ocir.io/ns/app'), world({ files: FILES, memo }))).toBeUndefined();
    await keep(memo, FILES);
    const entry = keptAnswerEntry(inputsDigest(INPUTS), REGISTRY, V1);
    const good = (memo.read(entry)) as KeptAnswer;
    for (const broken of [
      { ...good, username: '' },
      { ...good, principalKey: 7 },
      { ...good, files: [{ path: 'relative/config', sha256: '0'.repeat(64) }] },
      { ...good, files: [{ path: '/etc/oci/config' }] },
      { ...good, files: 'none' },
    ]) {
      // Written past the codec, as a corrupted or hand-edited file would be.
      await memo.write({ key: entry.key, codec: { encode: (v: unknown) => v, decode: (v: unknown) => v } }, broken);
      expect(await warm(request('fra.ocir.io/ns/app'), world({ files: FILES, memo }))).toBeUndefined();
    }
  });

  test('the full path writes an answer once per token, and never one that read a relative path', async () => {
    const { memo, writes } = countingMemo();
    await keep(memo, FILES);
    await keep(memo, FILES);
    // One docker token entry (written by the test as the full path would) and one kept answer.
    expect(writes()).toBe(3);
    const { memo: other, writes: otherWrites } = countingMemo();
    await rememberAnswer(other, INPUTS, V1, REGISTRY, { username: 'BEARER_TOKEN', principalKey: PRINCIPAL, files: [{ path: 'config', code: 'ENOENT' }] });
    expect(otherWrites()).toBe(0);
  });

  test('the digest of the inputs does not depend on the order of the environment', () => {
    expect(inputsDigest({ ...INPUTS, env: { B: '2', A: '1' } })).toBe(inputsDigest({ ...INPUTS, env: { A: '1', B: '2' } }));
    expect(inputsDigest({ ...INPUTS, env: { A: '1' } })).not.toBe(inputsDigest({ ...INPUTS, env: { A: '1', B: undefined, C: '' } }));
  });
});
