/**
 * Property checks with fast-check, worded for a learner. Edge cases listed as `examples` run on
 * every run before the random ones, so a wrong solution that only an edge case exposes fails
 * every time, not one run in seven. A counterexample is shrunk, then run once more so that the
 * traces drawn under the failure are the ones of that example.
 */
import type fc from 'fast-check';
import type { TraceHarness } from '../trace/harness.ts';
import { CheckFailure, isMarkedFailure } from './contract.ts';

export interface PropertyOptions<T> {
  /** Random examples after the listed ones. Default 50. */
  runs?: number;
  /** Examples that always run first: the edge cases of the rule. */
  examples?: readonly T[];
  /** The example in words, for the failure message. Default: fast-check's own printing. */
  describe?: (example: T) => string;
  /** Shrinking stops here, within the check's own time limit. Default 1500 ms. */
  timeLimitMs?: number;
  /**
   * The file's harness: spans are cleared before every example (so one example never sees
   * another's), and the counterexample is run once more on a clean harness, so its traces are the ones shown.
   */
  replay?: TraceHarness;
}

export const PROPERTY_TEXT = {
  counterexample: (example: string) => `a counterexample: ${example}`,
} as const;

/** An assertion of chai or of the checks (a CheckFailure), as opposed to the learner's code throwing. */
function isAssertion(error: unknown): boolean {
  return isMarkedFailure(error) || (error instanceof Error && error.name === 'AssertionError');
}

/**
 * Fails the check unless `run` passes for every example. A failing example that is an assertion
 * becomes a failed check that says which example and what was wrong; an error thrown by the
 * learner's code is rethrown as it is, with the example added to its message.
 */
export async function holds<T>(arbitrary: fc.Arbitrary<T>, run: (example: T) => unknown, options: PropertyOptions<T> = {}): Promise<void> {
  // Loaded on first use: most checks never run a property, and fast-check takes a while to load.
  const { default: fastCheck } = await import('fast-check');
  const property = fastCheck.asyncProperty(arbitrary, async (example) => {
    options.replay?.reset();
    await run(example);
  });
  const result = await fastCheck.check(property, {
    numRuns: options.runs ?? 50,
    examples: (options.examples ?? []).map((example) => [example] as [T]),
    interruptAfterTimeLimit: options.timeLimitMs ?? 1_500,
  });
  if (!result.failed) return;
  const [example] = result.counterexample ?? [];
  let error: unknown = result.errorInstance;
  if (example !== undefined && options.replay) {
    options.replay.reset();
    try {
      await run(example);
    } catch (replayed) {
      error = replayed;
    }
  }
  const described = example === undefined ? 'a generated example' : options.describe ? options.describe(example) : fastCheck.stringify(example);
  const prefix = PROPERTY_TEXT.counterexample(described);
  if (isAssertion(error)) throw new CheckFailure(`${prefix}\n${(error as Error).message}`);
  if (error instanceof Error) {
    error.message = `${prefix}: ${error.message}`;
    throw error;
  }
  throw new Error(`${prefix}: ${String(error)}`);
}
