import type { Attributes } from '@opentelemetry/api';
import { formatValue, type KindName, type SpanNode, type StatusName, type TraceTree } from './model.ts';
import { describeExpected, valueMatches, type ExpectedValue } from './expect-values.ts';

export interface EventShape {
  name: string | RegExp;
  attributes?: Record<string, ExpectedValue>;
}

export interface LinkShape {
  /** The span (or span context) the link must point at. */
  to?: { traceId: string; spanId: string };
  attributes?: Record<string, ExpectedValue>;
}

/**
 * The expected shape of a span and, through `children`, of its subtree.
 * Anything left out is not checked: a shape says what the README requires and nothing more.
 */
export interface SpanShape {
  name: string | RegExp;
  kind?: KindName;
  status?: StatusName;
  /** Checked only together with `status`. */
  statusMessage?: string | RegExp;
  scope?: string;
  /** A subset: other attributes may be present. Use `absent()` to require a key to be missing. */
  attributes?: Record<string, ExpectedValue>;
  /** Must appear in this order; other events may come between them. */
  events?: EventShape[];
  /** Each expected link must match a different actual link; extra links are allowed. */
  links?: LinkShape[];
  /** The exact number of links, when it matters (a batch links every message). */
  linkCount?: number;
  children?: SpanShape[];
  /** Children must appear in this start order. Default: any order. */
  ordered?: boolean;
  /** No children beyond the listed ones. Default: extra children are allowed. */
  exact?: boolean;
}

/** Where and how a trace first differs from the shape. */
export interface Mismatch {
  /** Span names from the root of the shape to the span that differs. */
  path: string[];
  /** The actual span that differs, when there is one (a missing child has none). */
  spanId: string | undefined;
  /** The shape that could not be matched. */
  shape: SpanShape;
  /** One sentence: what was expected and what was found. */
  message: string;
  /** Shapes matched before the difference: the best candidate has the most. */
  matched: number;
}

export type MatchResult = { ok: true; matched: number } | { ok: false; mismatch: Mismatch };

export function describeName(name: string | RegExp): string {
  return typeof name === 'string' ? `"${name}"` : String(name);
}

function nameMatches(expected: string | RegExp, actual: string): boolean {
  return typeof expected === 'string' ? expected === actual : expected.test(actual);
}

function fail(path: string[], shape: SpanShape, span: SpanNode | undefined, message: string, matched: number): MatchResult {
  return { ok: false, mismatch: { path, spanId: span?.spanId, shape, message, matched } };
}

function attributesDiffer(expected: Record<string, ExpectedValue>, actual: Attributes): string | undefined {
  for (const [key, want] of Object.entries(expected)) {
    const got = actual[key];
    if (!valueMatches(want, got)) {
      return got === undefined
        ? `attribute ${key} is missing (expected ${describeExpected(want)})`
        : `attribute ${key} is ${formatValue(got)}, expected ${describeExpected(want)}`;
    }
  }
  return undefined;
}

/** The span's own fields, without its children. */
function ownDifference(span: SpanNode, shape: SpanShape): string | undefined {
  if (!nameMatches(shape.name, span.name)) return `name is "${span.name}", expected ${describeName(shape.name)}`;
  if (!span.ended) return `span "${span.name}" was started but never ended`;
  if (shape.kind && shape.kind !== span.kind) return `kind is ${span.kind.toUpperCase()}, expected ${shape.kind.toUpperCase()}`;
  if (shape.scope !== undefined && shape.scope !== span.scope)
    return `tracer name (instrumentation scope) is "${span.scope}", expected "${shape.scope}"`;
  if (shape.status && shape.status !== span.status)
    return `status is ${span.status.toUpperCase()}, expected ${shape.status.toUpperCase()}`;
  if (shape.status && shape.statusMessage !== undefined) {
    const message = span.statusMessage ?? '';
    const ok = typeof shape.statusMessage === 'string' ? message === shape.statusMessage : shape.statusMessage.test(message);
    if (!ok) return `status message is "${message}", expected ${describeName(shape.statusMessage)}`;
  }
  if (shape.attributes) {
    const difference = attributesDiffer(shape.attributes, span.attributes);
    if (difference) return difference;
  }
  if (shape.events) {
    const difference = eventsDiffer(shape.events, span);
    if (difference) return difference;
  }
  if (shape.linkCount !== undefined && span.links.length !== shape.linkCount)
    return `has ${span.links.length} link(s), expected ${shape.linkCount}`;
  if (shape.links) {
    const difference = linksDiffer(shape.links, span);
    if (difference) return difference;
  }
  return undefined;
}

function eventsDiffer(expected: EventShape[], span: SpanNode): string | undefined {
  let from = 0;
  for (const want of expected) {
    const index = span.events.findIndex((e, i) => i >= from && nameMatches(want.name, e.name));
    if (index < 0) {
      const names = span.events.map((e) => e.name).join(', ') || 'none';
      return `event ${describeName(want.name)} is missing (events in order: ${names})`;
    }
    const event = span.events[index];
    if (event && want.attributes) {
      const difference = attributesDiffer(want.attributes, event.attributes);
      if (difference) return `event "${event.name}": ${difference}`;
    }
    from = index + 1;
  }
  return undefined;
}

function linksDiffer(expected: LinkShape[], span: SpanNode): string | undefined {
  const used = new Set<number>();
  for (const [n, want] of expected.entries()) {
    const index = span.links.findIndex(
      (link, i) =>
        !used.has(i) &&
        (!want.to || (link.traceId === want.to.traceId && link.spanId === want.to.spanId)) &&
        (!want.attributes || attributesDiffer(want.attributes, link.attributes) === undefined),
    );
    if (index < 0) {
      const target = want.to ? ` to span ${want.to.spanId} of trace ${want.to.traceId}` : '';
      return `link #${n + 1}${target} is missing (the span has ${span.links.length} link(s))`;
    }
    used.add(index);
  }
  return undefined;
}

/** Matches one span and its subtree against a shape. */
export function matchSpan(span: SpanNode, shape: SpanShape, parentPath: string[] = []): MatchResult {
  const path = [...parentPath, span.name];
  const own = ownDifference(span, shape);
  if (own) return fail(path, shape, span, own, 0);
  const children = matchChildren(span, shape, path);
  if (!children.ok) return { ok: false, mismatch: { ...children.mismatch, matched: children.mismatch.matched + 1 } };
  return { ok: true, matched: children.matched + 1 };
}

function matchChildren(span: SpanNode, shape: SpanShape, path: string[]): MatchResult {
  const expected = shape.children ?? [];
  if (shape.exact && span.children.length > expected.length) {
    const extra = span.children.slice(expected.length).map((c) => `"${c.name}"`).join(', ');
    return fail(path, shape, span, `has ${span.children.length} child span(s), expected exactly ${expected.length} (unexpected: ${extra})`, 0);
  }
  const best = shape.ordered ? matchOrdered(span.children, expected, path) : matchUnordered(span.children, expected, path);
  return best;
}

/** Expected children must match actual children in the same start order, skipping extras. */
function matchOrdered(actual: SpanNode[], expected: SpanShape[], path: string[]): MatchResult {
  let from = 0;
  let matched = 0;
  for (const want of expected) {
    let bestFailure: Mismatch | undefined;
    let found = -1;
    for (let i = from; i < actual.length; i++) {
      const child = actual[i];
      if (!child) continue;
      const result = matchSpan(child, want, path);
      if (result.ok) {
        found = i;
        matched += result.matched;
        break;
      }
      if (!bestFailure || result.mismatch.matched > bestFailure.matched) bestFailure = result.mismatch;
    }
    if (found < 0) return { ok: false, mismatch: missingChild(path, want, actual, bestFailure, matched, true) };
    from = found + 1;
  }
  return { ok: true, matched };
}

/** Expected children each match a different actual child, in any order (backtracking over candidates). */
function matchUnordered(actual: SpanNode[], expected: SpanShape[], path: string[]): MatchResult {
  const used = new Set<number>();
  let deepest: { mismatch: Mismatch; index: number } | undefined;
  const assign = (k: number, matched: number): number | undefined => {
    const want = expected[k];
    if (!want) return matched;
    let bestFailure: Mismatch | undefined;
    for (const [i, child] of actual.entries()) {
      if (used.has(i)) continue;
      const result = matchSpan(child, want, path);
      if (!result.ok) {
        if (!bestFailure || result.mismatch.matched > bestFailure.matched) bestFailure = result.mismatch;
        continue;
      }
      used.add(i);
      const total = assign(k + 1, matched + result.matched);
      if (total !== undefined) return total;
      used.delete(i);
    }
    if (!deepest || k >= deepest.index) {
      deepest = { index: k, mismatch: missingChild(path, want, actual, bestFailure, matched, false) };
    }
    return undefined;
  };
  const total = assign(0, 0);
  if (total !== undefined) return { ok: true, matched: total };
  return { ok: false, mismatch: (deepest as { mismatch: Mismatch }).mismatch };
}

function missingChild(
  path: string[],
  want: SpanShape,
  actual: SpanNode[],
  closest: Mismatch | undefined,
  matched: number,
  ordered: boolean,
): Mismatch {
  const sameName = actual.filter((c) => nameMatches(want.name, c.name));
  if (closest && sameName.length > 0) return { ...closest, matched: matched + closest.matched };
  const names = actual.map((c) => `"${c.name}"`).join(', ') || 'none';
  const where = ordered ? ' in this position' : '';
  return {
    path: [...path, typeof want.name === 'string' ? want.name : String(want.name)],
    spanId: undefined,
    shape: want,
    message: `child span ${describeName(want.name)} is missing under "${path.at(-1) ?? ''}"${where} (children: ${names})`,
    matched,
  };
}

/**
 * Finds the span in the traces that best matches the shape as a root.
 * Succeeds when any root span of any trace matches; otherwise reports the closest candidate.
 */
export function matchTraces(traces: readonly TraceTree[], shape: SpanShape): MatchResult & { trace?: TraceTree } {
  let best: { mismatch: Mismatch; trace: TraceTree; root: SpanNode } | undefined;
  for (const trace of traces) {
    for (const root of trace.roots) {
      const result = matchSpan(root, shape);
      if (result.ok) return { ...result, trace };
      if (!best || score(result.mismatch, root, shape) > score(best.mismatch, best.root, shape)) {
        best = { mismatch: result.mismatch, trace, root };
      }
    }
  }
  if (!best) {
    return {
      ok: false,
      mismatch: { path: [String(shape.name)], spanId: undefined, shape, message: `no spans were recorded (expected a root span ${describeName(shape.name)})`, matched: 0 },
    };
  }
  if (best.mismatch.matched === 0 && best.mismatch.path.length === 1) {
    const roots = traces.flatMap((t) => t.roots.map((r) => `"${r.name}"`)).join(', ');
    const named = traces.flatMap((t) => t.spans).find((s) => nameMatches(shape.name, s.name));
    if (!named) {
      return {
        ok: false,
        trace: best.trace,
        mismatch: { ...best.mismatch, spanId: undefined, message: `no root span ${describeName(shape.name)} (root spans: ${roots})` },
      };
    }
  }
  return { ok: false, mismatch: best.mismatch, trace: best.trace };
}

/** Deeper matches win; between equals, a root with the expected name is the closer candidate. */
function score(mismatch: Mismatch, root: SpanNode, shape: SpanShape): number {
  return mismatch.matched * 2 + (nameMatches(shape.name, root.name) ? 1 : 0);
}
