/** An I/O failure in the learner's state: the message says what was being done and to which file. */
export class ProgressError extends Error {
  override readonly name = 'ProgressError';
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
