import type { TraceTree } from './model.ts';
import { matchTraces, type Mismatch, type SpanShape, type TracesMismatch } from './match.ts';
import { shapeNamesScope, toShapeView } from './shape-view.ts';
import { diagnose } from './diagnose.ts';
import { CheckFailure } from '../checks/contract.ts';
import { failureHeadline, type FailureView } from './failure-view.ts';

/** Why the trace beside the shape is the one drawn. */
export const NOTES = {
  sameRole: (count: number, name: string) => `(${count} traces were recorded; drawn: the one whose root is "${name}")`,
  onlyAttempt: '(the only trace recorded)',
} as const;


/**
 * Path labels: span names, with the kind added where a name repeats (`GET /greet (CLIENT) › GET /greet (SERVER)`).
 * Kinds come from the shape, walked along the path.
 */
export function pathLabels(root: SpanShape, path: readonly string[]): string[] {
  const kinds: (string | undefined)[] = [];
  let shape: SpanShape | undefined = root;
  path.forEach((name, i) => {
    if (i > 0) shape = shape?.children?.find((child) => (typeof child.name === 'string' ? child.name === name : child.name.test(name)));
    kinds.push(shape?.kind?.toUpperCase());
  });
  return path.map((name, i) => (path.indexOf(name) !== path.lastIndexOf(name) && kinds[i] ? `${name} (${kinds[i]})` : name));
}

/** The failure as data: what the CLI draws and what --json reads. */
export function failureView(concept: string, traces: readonly TraceTree[], shape: SpanShape, result: TracesMismatch): FailureView {
  const { mismatch, trace } = result;
  const root = trace?.roots.find((r) => r.spanId === mismatch.spanId) ?? trace?.roots[0];
  const note = trace === undefined ? undefined : traces.length > 1 ? NOTES.sameRole(traces.length, root?.name ?? '') : undefined;
  return {
    kind: 'trace',
    concept,
    difference: mismatch.message,
    path: pathLabels(shape, mismatch.path),
    expected: toShapeView(shape, mismatch.shape),
    actual: trace,
    markSpanId: mismatch.spanId,
    note,
    candidates: result.candidates ?? [],
    findings: diagnose(traces, mismatch),
    showScope: shapeNamesScope(shape),
    recorded: traces.length,
  };
}

/**
 * The error's own message: the sentence and where. The pictures are drawn by the CLI from the
 * view (for the terminal and for --json), so the checks' worker never loads the renderer.
 */
export function failureText(view: FailureView): string {
  return [failureHeadline(view), ...view.candidates.map((line) => `  ${line}`), `  at ${view.path.join(' › ')}`].join('\n');
}

/** A check failed because the trace has the wrong shape: a failed check carrying the picture to draw. */
export class TraceMismatchError extends CheckFailure {
  constructor(
    view: FailureView,
    readonly mismatch: Mismatch,
  ) {
    super(failureText(view), view);
  }
}

/** Throws a TraceMismatchError unless some trace has a root matching the shape. Returns the matching trace. */
export function assertTrace(traces: readonly TraceTree[], shape: SpanShape, concept: string): TraceTree {
  const result = matchTraces(traces, shape);
  if (result.ok) return result.trace;
  throw new TraceMismatchError(failureView(concept, traces, shape, result), result.mismatch);
}
