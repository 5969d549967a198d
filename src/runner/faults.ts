import type { Fault } from './results.ts';

/** The learner's files, as they read them in messages: `exercises/01-foundations/01-first-span/word-count.ts`. */
function listFiles(files: readonly string[]): string {
  if (files.length <= 1) return files[0] ?? 'your code';
  return `${files.slice(0, -1).join(', ')} or ${files.at(-1) ?? ''}`;
}

/** What each fault means for the learner, naming their own files. */
export const FAULT_MESSAGES = {
  stuckLoading: (files: readonly string[], ms: number) =>
    `your code never finished loading: an infinite loop or an await that never settles at the top of ${listFiles(files)}? ` +
    `Nothing answered for ${ms} ms, so the process running it was stopped.`,
  stuckCheck: (test: string | undefined, ms: number) =>
    `${test ? `the check "${test}"` : 'a check'} was still running after ${ms} ms and did not answer its own time limit: ` +
    'an infinite loop (or a long synchronous computation) in your code? The process running it was stopped.',
  killed: (signal: string) =>
    `the process running your code was ended by the signal ${signal}: does your code call process.kill(process.pid), process.abort() ` +
    'or something else that ends the process? Return or throw instead.',
  outOfMemory: (memoryMb: number | undefined) =>
    `your code ${memoryMb === undefined ? 'used up the memory the checks may use (JavaScript heap out of memory)' : `kept running and took ${(memoryMb / 1024).toFixed(1)} GB of memory`}: ` +
    'a loop that keeps adding to an array, a map or a string without end? The process running it was stopped.',
  crashed: (detail: string) => `the checker process stopped unexpectedly${detail ? `: ${detail}` : ''}`,
  interrupted: 'not run: another exercise had to be stopped; run it again',
} as const;

export function describeFault(fault: Fault, files: readonly string[]): string {
  switch (fault.kind) {
    case 'stuck-loading':
      return FAULT_MESSAGES.stuckLoading(files, fault.ms);
    case 'stuck-check':
      return FAULT_MESSAGES.stuckCheck(fault.test, fault.ms);
    case 'killed':
      return FAULT_MESSAGES.killed(fault.signal);
    case 'out-of-memory':
      return FAULT_MESSAGES.outOfMemory(fault.memoryMb);
    case 'crashed':
      return FAULT_MESSAGES.crashed(fault.detail);
    case 'interrupted':
      return FAULT_MESSAGES.interrupted;
  }
}
