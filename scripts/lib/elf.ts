/**
 * Just enough of the ELF header to tell which CPU an executable is for. The build checks its own
 * output with it (a wrong `--compile-executable-path` would silently produce an x64 file named
 * arm64), and the executable tests check the shipped files the same way, without `file(1)`.
 */

/** The machines we ship, by their ELF `e_machine` number. */
export const ELF_MACHINE = { x86_64: 0x3e, aarch64: 0xb7 } as const;

export type ElfMachineName = keyof typeof ELF_MACHINE;

/** What the first 20 bytes of an ELF file say. */
export interface ElfHeader {
  readonly is64Bit: boolean;
  readonly littleEndian: boolean;
  /** `e_type`: 2 = executable, 3 = shared object / position-independent executable. */
  readonly type: number;
  /** `e_machine`, e.g. 0x3e (x86-64) or 0xb7 (AArch64). */
  readonly machine: number;
}

/** The number of leading bytes {@link parseElfHeader} needs. */
export const ELF_HEADER_PREFIX_BYTES = 20;

/** Parses the ELF identification and machine; undefined when `bytes` is not an ELF file. */
export function parseElfHeader(bytes: Uint8Array): ElfHeader | undefined {
  if (bytes.length < ELF_HEADER_PREFIX_BYTES) return undefined;
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  const littleEndian = bytes[5] === 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    is64Bit: bytes[4] === 2,
    littleEndian,
    type: view.getUint16(16, littleEndian),
    machine: view.getUint16(18, littleEndian),
  };
}

/** True when `bytes` start a 64-bit little-endian ELF file for `machine`. */
export function isElfFor(bytes: Uint8Array, machine: ElfMachineName): boolean {
  const header = parseElfHeader(bytes);
  return header !== undefined && header.is64Bit && header.littleEndian && header.machine === ELF_MACHINE[machine];
}
