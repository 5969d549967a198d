import type { Target } from './target-plugin.ts';
import type { ModuleResult } from './results.ts';

/** Messages from the CLI to its grader process. */
export type ToGrader =
  | { type: 'run'; runId: number; files: string[]; env: Record<string, string> }
  | { type: 'invalidate'; files: string[] }
  | { type: 'warm'; files: string[] };

/** Messages from the grader process back to the CLI, streamed while a run goes on. */
export type FromGrader =
  | { type: 'ready' }
  | { type: 'module-queued'; runId: number; file: string }
  | { type: 'module-start'; runId: number; file: string }
  /** `limitMs`: the longest time limit any of its checks has (a check may set its own). */
  | { type: 'module-collected'; runId: number; file: string; limitMs: number }
  | { type: 'test-start'; runId: number; file: string; name: string; limitMs: number }
  | { type: 'test-end'; runId: number; file: string; name: string }
  | { type: 'module-end'; runId: number; result: ModuleResult }
  | { type: 'run-end'; runId: number; unhandled: { file: string | undefined; message: string }[] }
  | { type: 'fatal'; message: string };

export interface GraderArgs {
  root: string;
  target: Target;
  /** The folder `#target/` points at, when it is not `<root>/<target>` (a wrong solution's tree). */
  targetDir?: string;
  testTimeoutMs: number;
  isolate: boolean;
}
