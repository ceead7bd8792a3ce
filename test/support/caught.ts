import { ProviderError } from '../../src/errors.ts';

/** The ProviderError that `run` throws; any other outcome fails the test. */
export function caught(run: () => unknown): ProviderError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

/** The ProviderError `promise` rejects with; any other outcome fails the test. */
export async function rejected(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}
