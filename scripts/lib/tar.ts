/**
 * A deterministic tar (POSIX ustar) writer: the same entries give the same bytes on any machine,
 * whatever the files' owners, times or the order the file system lists them in. GNU tar can do
 * this too (`--sort=name --mtime --owner=0 --numeric-owner`), but only GNU tar, and its output
 * changes with its version; this is 100 lines under the lockfile's Bun.
 *
 * Every entry gets uid/gid 0, empty user/group names (numeric owner), the one `mtime` given, and
 * the mode given; entries are written sorted by path, each folder before what it holds.
 */

/** One entry; paths are relative, `/`-separated, without a leading `./`. */
export type TarEntry =
  | { readonly type: 'file'; readonly path: string; readonly mode: number; readonly data: Uint8Array }
  | { readonly type: 'dir'; readonly path: string; readonly mode: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

const BLOCK_BYTES = 512;
const NAME_BYTES = 100;
const PREFIX_BYTES = 155;

/** Builds the archive: sorted entries, then two zero blocks. Throws on a path ustar cannot hold. */
export function tarArchive(entries: readonly TarEntry[], mtimeSeconds: number): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  for (const entry of sorted) {
    if (seen.has(entry.path)) throw new Error(`tar: ${entry.path} is listed twice`);
    seen.add(entry.path);
    const data = entry.type === 'file' ? entry.data : new Uint8Array(0);
    parts.push(header(entry, data.length, mtimeSeconds));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK_BYTES - (data.length % BLOCK_BYTES)) % BLOCK_BYTES;
      if (pad > 0) parts.push(new Uint8Array(pad));
    }
  }
  parts.push(new Uint8Array(2 * BLOCK_BYTES));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function header(entry: TarEntry, size: number, mtimeSeconds: number): Uint8Array {
  if (entry.path === '' || entry.path.startsWith('/') || entry.path.split('/').includes('..')) {
    throw new Error(`tar: refusing the path "${entry.path}"`);
  }
  const block = new Uint8Array(BLOCK_BYTES);
  const name = entry.type === 'dir' ? `${entry.path}/` : entry.path;
  const [prefix, rest] = splitName(name);
  put(block, 0, NAME_BYTES, rest);
  octal(block, 100, 8, entry.type === 'symlink' ? 0o777 : entry.mode);
  octal(block, 108, 8, 0); // uid
  octal(block, 116, 8, 0); // gid
  octal(block, 124, 12, size);
  octal(block, 136, 12, mtimeSeconds);
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block[156] = entry.type === 'file' ? 0x30 : entry.type === 'dir' ? 0x35 : 0x32;
  if (entry.type === 'symlink') put(block, 157, NAME_BYTES, entry.target);
  put(block, 257, 6, 'ustar\0');
  put(block, 263, 2, '00');
  octal(block, 329, 8, 0); // devmajor
  octal(block, 337, 8, 0); // devminor
  put(block, 345, PREFIX_BYTES, prefix);
  const sum = block.reduce((n, b) => n + b, 0);
  put(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** ustar keeps long names as prefix + '/' + name; split at a slash so both parts fit. */
function splitName(path: string): [string, string] {
  if (byteLength(path) <= NAME_BYTES) return ['', path];
  for (let i = path.lastIndexOf('/', path.length - 2); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const rest = path.slice(i + 1);
    if (byteLength(prefix) <= PREFIX_BYTES && byteLength(rest) <= NAME_BYTES) return [prefix, rest];
  }
  throw new Error(`tar: the path "${path}" is too long for ustar`);
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

function put(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new Error(`tar: "${text}" does not fit in ${length} bytes`);
  block.set(bytes, offset);
}

/** Zero-padded octal with a NUL terminator, as ustar readers expect. */
function octal(block: Uint8Array, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit in a ${length}-byte field`);
  put(block, offset, length, `${digits.padStart(length - 1, '0')}\0`);
}
