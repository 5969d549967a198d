/** What a check starts, it stops: servers, clients and processes are closed when the check ends, pass or fail. */
import { onTestFinished } from 'vitest';

export interface Closable {
  close(): unknown;
}

/** Closes `resource` when the current check ends, whatever its verdict, and returns it. */
export function closeAfter<T extends Closable>(resource: T): T {
  onTestFinished(async () => {
    await resource.close();
  });
  return resource;
}

/** Runs `cleanup` when the current check ends, whatever its verdict. */
export function afterCheck(cleanup: () => unknown): void {
  onTestFinished(async () => {
    await cleanup();
  });
}
