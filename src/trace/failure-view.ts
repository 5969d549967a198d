/**
 * A trace mismatch as plain data: what the learner's check found, the expected shape, the
 * learner's trace of the same role, and the named mistakes. It travels from the check (in a
 * vitest worker) to the CLI, which draws it at the width of the terminal it is drawn in, so a
 * resized terminal or a narrow one gets the picture laid out for it.
 */
import type { TraceTree } from './model.ts';
import { plain, type Paint } from './paint.ts';
import { renderShapeView, renderTrace, sideBySide, type ShapeView } from './render.ts';

export type { ShapeView } from './render.ts';

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
}

/** The words around the two trees, in one place. */
export const FAILURE_TEXT = {
  expectedTitle: 'expected',
  actualTitle: 'your trace',
  noSpans: '(no spans were recorded)',
  noneClose: '(none of your traces has this role: nothing to draw beside it)',
  hint: (finding: string) => `hint: ${finding}`,
} as const;

export interface FailureLayout {
  paint?: Paint;
  /** Columns available; the trees stand side by side when they fit, one above the other when not. */
  width?: number;
}

/** The sentence that opens the failure: the concept and the first difference. */
export function failureHeadline(view: FailureView): string {
  return `${view.concept}: ${view.difference}`;
}

/** The whole failure as lines: the sentence, where, both trees, the note and the hints. */
export function renderFailureView(view: FailureView, layout: FailureLayout = {}): string[] {
  const p = layout.paint ?? plain;
  const expected = renderShapeView(view.expected, { paint: p, gutter: true }).lines;
  const actual = view.actual
    ? renderTrace(view.actual, { paint: p, mark: view.markSpanId, gutter: true, barWidth: 0, scope: view.showScope }).lines
    : [p.dim(view.candidates.length > 0 ? FAILURE_TEXT.noneClose : FAILURE_TEXT.noSpans)];
  return [
    failureHeadline(view),
    ...view.candidates.map((line) => `  ${line}`),
    p.dim(`  at ${view.path.join(' › ')}`),
    '',
    ...sideBySide({ title: FAILURE_TEXT.expectedTitle, lines: expected }, { title: FAILURE_TEXT.actualTitle, lines: actual }, layout.width ?? 120),
    ...(view.note ? ['', p.dim(view.note)] : []),
    ...(view.findings.length > 0 ? ['', ...view.findings.map((f) => p.yellow(FAILURE_TEXT.hint(f)))] : []),
  ];
}

/** The failure without its pictures: the sentence and the hints, for a check shown after one already drawn. */
export function renderFailureSummary(view: FailureView, paint: Paint = plain): string[] {
  return [
    failureHeadline(view),
    ...view.candidates.map((line) => `  ${line}`),
    paint.dim(`  at ${view.path.join(' › ')}`),
    ...view.findings.map((f) => paint.yellow(FAILURE_TEXT.hint(f))),
  ];
}
