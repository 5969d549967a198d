/** Draws a failure view: the sentence, where, both trees side by side (or stacked), the note and the hints. */
import { failureHeadline, type FailureView } from './failure-view.ts';
import { plain, type Paint } from './paint.ts';
import { renderShapeView, renderTrace, sideBySide } from './render.ts';

/** The words around the two trees, in one place. */
export const FAILURE_TEXT = {
  expectedTitle: 'expected',
  actualTitle: 'your trace',
  noSpans: '(no spans were recorded)',
  noneClose: '(none of your traces has this role: nothing to draw beside it)',
  noneNamed: (count: number) =>
    `(${count === 1 ? 'one trace was' : `${count} traces were`} recorded, none with this root: ${count === 1 ? 'it is' : 'they are'} not drawn beside it)`,
  hint: (finding: string) => `hint: ${finding}`,
} as const;

export interface FailureLayout {
  paint?: Paint;
  /** Columns available; the trees stand side by side when they fit, one above the other when not. */
  width?: number;
}

/** The whole failure as lines: the sentence, where, both trees, the note and the hints. */
export function renderFailureView(view: FailureView, layout: FailureLayout = {}): string[] {
  const p = layout.paint ?? plain;
  const expected = renderShapeView(view.expected, { paint: p, gutter: true }).lines;
  const actual = view.actual
    ? renderTrace(view.actual, { paint: p, mark: view.markSpanId, gutter: true, barWidth: 0, scope: view.showScope }).lines
    : [p.dim(view.candidates.length > 0 ? FAILURE_TEXT.noneClose : view.recorded > 0 ? FAILURE_TEXT.noneNamed(view.recorded) : FAILURE_TEXT.noSpans)];
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
