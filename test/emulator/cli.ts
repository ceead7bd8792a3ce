import { startEmulator } from './index.ts';

/**
 * `bun test/emulator/cli.ts`: starts an emulator and prints `export K=V` lines (then a few `#`
 * comments) for the shell that will run the provider against it. Runs until SIGINT or SIGTERM,
 * then stops cleanly (exit code 0).
 */

// Handlers first: whoever reads the printed lines may signal us right after.
const stopRequested = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

const emulator = await startEmulator();
for (const [name, value] of Object.entries(emulator.env())) console.log(`export ${name}=${value}`);
console.log(`# tenancy ${emulator.tenancyId}`);
console.log(`# instance ${emulator.instanceId}`);
console.log(`# pull e.g. ${emulator.registryHost}/${emulator.namespace}/app:latest`);

await stopRequested;
await emulator.stop();
