import { readFile } from 'node:fs/promises';

/**
 * `/proc/sys/kernel/random/boot_id`: new at every boot of every machine. The lock uses it to tell a
 * holder from before a reboot; the instance principal's cache entries are bound to it, because
 * within one boot the instance (and so its tenancy) cannot change, while a disk image baked from a
 * running node and booted elsewhere always boots with another id. Undefined without /proc.
 */
let bootId: Promise<string | undefined> | undefined;

export function readBootId(): Promise<string | undefined> {
  bootId ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (text) => {
      const id = text.trim();
      return id === '' || id.length > 64 ? undefined : id;
    },
    () => undefined,
  );
  return bootId;
}
