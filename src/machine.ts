import { readFileSync } from 'node:fs';

/**
 * `/proc/sys/kernel/random/boot_id`: new at every boot of every machine. The lock uses it to tell a
 * holder from before a reboot; the instance principal's cache entries are bound to it, because
 * within one boot the instance (and so its tenancy) cannot change, while a disk image baked from a
 * running node and booted elsewhere always boots with another id. Undefined without /proc.
 */
let bootId: Promise<string | undefined> | undefined;

export function readBootId(): Promise<string | undefined> {
  // Read synchronously: /proc answers at once, and a cached answer needs nothing else asynchronous.
  bootId ??= Promise.resolve().then(() => {
    try {
      const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      return id === '' || id.length > 64 ? undefined : id;
    } catch {
      return undefined;
    }
  });
  return bootId;
}
