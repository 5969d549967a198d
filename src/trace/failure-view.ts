/**
 * A trace mismatch as plain data: what the learner's check found, the expected shape, the
 * learner's trace of the same role, and the named mistakes. It travels from the check (in a
 * vitest worker) to the CLI, which draws it at the width of the terminal it is drawn in, so a
 * resized terminal or a narrow one gets the picture laid out for it.
 */
import type { TraceTree } from './model.ts';
import type { Paint } from './paint.ts';
import type { ShapeView } from './shape-view.ts';

export type { ShapeView } from './shape-view.ts';

export interface FailureView {
  kind: 'trace';
  /** What the check is about: the concept, first in the sentence. */
  concept: string;
  /** One sentence: the first difference, what was expected and what was found. */
  difference: string;
  /** Span labels from the root of the shape to where it differs (a kind is added to tell equal names apart). */
  path: string[];
  /** The expected shape, its differing span marked. */
  expected: ShapeView;
  /** The learner's trace of the same role, or undefined when none comes close (then nothing is drawn beside the shape). */
  actual: TraceTree | undefined;
  /** The span of `actual` that differs. */
  markSpanId: string | undefined;
  /** Why this trace is the one drawn, or why none is. */
  note: string | undefined;
  /** When several spans could have been the one and none is: each kind of difference, counted. */
  candidates: string[];
  /** Named tracing mistakes found in the recorded traces (a lost context, a span never ended, …). */
  findings: string[];
  /** The shape names a tracer: show the learner's spans' tracer names too. */
  showScope: boolean;
  /** How many traces the check recorded (none drawn does not mean none recorded). */
  recorded: number;
}

/** The sentence that opens the failure: the concept and the first difference. */
export function failureHeadline(view: FailureView): string {
  return `${view.concept}: ${view.difference}`;
}
