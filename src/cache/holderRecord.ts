import { readFileSync } from 'node:fs';
import { errnoCode } from '../errno.ts';
import { readBootId } from '../machine.ts';

/**
 * Who holds a lock file: written into it by the holder, read by waiters to decide whether the
 * holder still lives. A pid alone is not enough: pids are reused, and the cache directory outlives
 * reboots. So the record also carries the process start time (`/proc/<pid>/stat` field 22, clock
 * ticks since boot) and the boot id; a pid that is alive but started at another time, or a record
 * from another boot, belongs to a process that no longer holds anything.
 *
 * All users of one cache directory must share a pid namespace (kubelet exec plugins do); a holder
 * in another namespace would look dead.
 */
export interface HolderRecord {
  readonly pid: number;
  /** Start time in clock ticks since boot, as a decimal string; absent without /proc. */
  readonly start?: string;
  /** `/proc/sys/kernel/random/boot_id`; absent without /proc. */
  readonly boot?: string;
  /** Random per acquisition: tells our own lock from one taken later by the same process. */
  readonly token: string;
}

/** Largest lock file we read; a record is under 200 bytes. */
export const MAX_RECORD_BYTES = 1024;

/** The verdict on a holder: alive, or dead with the reason for the log. */
export type HolderState = { readonly alive: true } | { readonly alive: false; readonly why: string };

interface ProcStat {
  /** One-letter state: R, S, D, Z (zombie), X (dead), ... */
  readonly state: string;
  readonly start: string;
}

/** This process's identity, read once: it cannot change while we run. */
let identity: Promise<Omit<HolderRecord, 'token'>> | undefined;

function ownIdentity(): Promise<Omit<HolderRecord, 'token'>> {
  identity ??= (async () => {
    const boot = await readBootId();
    return { pid: process.pid, start: readProcStat(process.pid)?.start, boot };
  })();
  return identity;
}

/** The record this process writes into a lock it takes, with the acquisition's `token`. */
export async function ownRecord(token: string): Promise<HolderRecord> {
  return { ...(await ownIdentity()), token };
}

export function encodeRecord(record: HolderRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** The record in a lock file, or undefined when it is empty (holder killed before writing it) or malformed. */
export function parseRecord(bytes: Uint8Array): HolderRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start, boot, token } = value as Record<string, unknown>;
  // pid 0 and negative pids would make kill(pid, 0) probe a whole process group.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof token !== 'string' || !/^[0-9a-f]{8,64}$/.test(token)) return undefined;
  if (start !== undefined && (typeof start !== 'string' || !/^\d{1,20}$/.test(start))) return undefined;
  if (boot !== undefined && (typeof boot !== 'string' || boot.length > 64)) return undefined;
  return { pid, start, boot, token };
}

/**
 * Decides whether the process named by `record` is alive. `heldHere` answers for records with our
 * own pid, which no other process can have written: such a lock is ours only while we hold it.
 * When in doubt (no /proc, a pid of another uid) the holder counts as alive: wrongly waiting costs
 * at most the deadline, wrongly breaking a live lock costs a duplicate refresh at OCI.
 */
export async function holderState(record: HolderRecord, heldHere: (token: string) => boolean): Promise<HolderState> {
  const own = await ownIdentity();
  if (record.boot !== undefined && own.boot !== undefined && record.boot !== own.boot) {
    return { alive: false, why: 'written before the last reboot' };
  }
  if (record.pid === own.pid && record.start === own.start) {
    return heldHere(record.token) ? { alive: true } : { alive: false, why: 'left behind by this process' };
  }
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to another uid, so it is alive.
    if (errnoCode(error) === 'ESRCH') return { alive: false, why: `process ${record.pid} is gone` };
  }
  const stat = readProcStat(record.pid);
  if (stat === undefined) return { alive: true };
  // A SIGKILLed holder whose parent has not reaped it yet still answers kill(pid, 0).
  if (stat.state === 'Z' || stat.state === 'X') return { alive: false, why: `process ${record.pid} has exited` };
  if (record.start !== undefined && stat.start !== record.start) {
    return { alive: false, why: `pid ${record.pid} now belongs to another process` };
  }
  return { alive: true };
}

/** State and start time of `pid` from `/proc/<pid>/stat`, or undefined without /proc or for a gone pid. */
function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    // Synchronously: /proc answers at once, and this is the only file a waiter reads besides the lock's.
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 is the command name in parentheses and may itself contain spaces and ')': the fields we
  // want are counted from the last ')'. After it come field 3 (state) ... field 22 (starttime).
  const rest = text.slice(text.lastIndexOf(')') + 1).trim().split(/\s+/);
  const state = rest[0];
  const start = rest[22 - 3];
  if (state === undefined || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { state, start };
}
