import type { TraceTree } from './model.ts';
import { matchTraces, type Mismatch, type SpanShape } from './match.ts';
import { renderShape, renderTrace, sideBySide } from './render.ts';
import { diagnose } from './diagnose.ts';
import type { Paint } from './paint.ts';

/**
 * A check failed because the trace has the wrong shape. Named like chai's assertion error
 * so the runner counts it as a failed check, not as a crash.
 */
export class TraceAssertionError extends Error {
  override readonly name = 'AssertionError';
  constructor(
    message: string,
    readonly mismatch: Mismatch | undefined,
  ) {
    super(message);
  }
}

/** The words around the two trees, in one place. */
export const FAILURE_TEXT = {
  expectedTitle: 'expected',
  actualTitle: 'your trace',
  noSpans: '(no spans were recorded)',
  closestOf: (count: number) => `(${count} traces were recorded; showing the closest one)`,
  hint: (finding: string) => `hint: ${finding}`,
} as const;

/** The text of a trace mismatch: the concept, the first difference, both trees, and named mistakes. */
export function describeMismatch(
  concept: string,
  traces: readonly TraceTree[],
  shape: SpanShape,
  mismatch: Mismatch,
  trace: TraceTree | undefined,
  paint?: Paint,
): string {
  const expected = renderShape(shape, { paint, mark: mismatch.shape, gutter: true });
  const actual = trace
    ? renderTrace(trace, { paint, mark: mismatch.spanId, gutter: true, barWidth: 0 }).lines
    : [FAILURE_TEXT.noSpans];
  const others = traces.length > 1 ? ['', FAILURE_TEXT.closestOf(traces.length)] : [];
  const findings = diagnose(traces, mismatch);
  return [
    `${concept}: ${mismatch.message}`,
    `  at ${mismatch.path.join(' › ')}`,
    '',
    ...sideBySide({ title: FAILURE_TEXT.expectedTitle, lines: expected.lines }, { title: FAILURE_TEXT.actualTitle, lines: actual }, messageWidth()),
    ...others,
    ...(findings.length > 0 ? ['', ...findings.map(FAILURE_TEXT.hint)] : []),
  ].join('\n');
}

/** Throws a TraceAssertionError unless some trace has a root matching the shape. Returns the matching trace. */
export function assertTrace(traces: readonly TraceTree[], shape: SpanShape, concept: string): TraceTree {
  const result = matchTraces(traces, shape);
  if (result.ok && result.trace) return result.trace;
  if (result.ok) throw new TraceAssertionError(`${concept}: no trace matched`, undefined);
  throw new TraceAssertionError(describeMismatch(concept, traces, shape, result.mismatch, result.trace), result.mismatch);
}

/** The env variable through which the CLI tells the checks how wide the learner's terminal is. */
export const WIDTH_ENV = 'TRACECRAFT_WIDTH';

/** How wide a failure message may be: the learner's terminal (less the CLI's indent), or 160. */
function messageWidth(): number {
  const width = Number(process.env[WIDTH_ENV]);
  return Number.isFinite(width) && width >= 40 ? width : 160;
}
