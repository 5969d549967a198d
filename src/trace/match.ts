import type { Attributes } from '@opentelemetry/api';
import { formatValue, type KindName, type SpanEventData, type SpanLinkData, type SpanNode, type StatusName, type TraceTree } from './model.ts';
import { describeExpected, valueMatches, type ExpectedValue } from './expect-values.ts';
import { assignDistinct } from './assign.ts';

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
  /** A subset of the resource of the process that made the span (`service.name`), for spans received over OTLP. */
  resource?: Record<string, ExpectedValue>;
  /** Must appear in this order; other events may come between them (unless `eventsExact`). */
  events?: EventShape[];
  /** The span has exactly the listed events, in that order, and no others. */
  eventsExact?: boolean;
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
  /** The span that differs has the expected name: the right span with a wrong detail, not a missing or different one. */
  sameName: boolean;
  /** The difference is a required attribute that the span does not have. */
  missingAttribute?: string;
}

export type MatchResult = { ok: true; matched: number } | { ok: false; mismatch: Mismatch };

/** The sentences a learner reads, in one place. */
export const MATCH_MESSAGES = {
  name: (actual: string, expected: string | RegExp) => `name is "${actual}", expected ${describeName(expected)}`,
  neverEnded: (name: string) => `span "${name}" was started but never ended`,
  kind: (actual: KindName, expected: KindName) => `kind is ${actual.toUpperCase()}, expected ${expected.toUpperCase()}`,
  scope: (actual: string, expected: string) => `tracer name (instrumentation scope) is "${actual}", expected "${expected}"`,
  status: (actual: StatusName, expected: StatusName) => `status is ${actual.toUpperCase()}, expected ${expected.toUpperCase()}`,
  statusMessage: (actual: string, expected: string | RegExp) => `status message is "${actual}", expected ${describeName(expected)}`,
  attributeMissing: (key: string, expected: ExpectedValue) => `attribute ${key} is missing (expected ${describeExpected(expected)})`,
  resource: (difference: string) => `resource (the process that made it): ${difference}`,
  attribute: (key: string, actual: Attributes[string], expected: ExpectedValue) =>
    `attribute ${key} is ${formatValue(actual)}, expected ${describeExpected(expected)}`,
  eventsExact: (actual: string, expected: string) => `events are [${actual}], expected exactly [${expected}]`,
  eventMissing: (expected: string | RegExp, names: string) => `event ${describeName(expected)} is missing (events in order: ${names})`,
  eventTooEarly: (expected: string | RegExp, after: string, names: string) =>
    `event ${describeName(expected)} must come after "${after}" (events in order: ${names})`,
  eventAttribute: (name: string, difference: string) => `event "${name}": ${difference}`,
  linkCount: (actual: number, expected: number) => `has ${actual} link(s), expected ${expected}`,
  linkMissing: (n: number, target: string, count: number) => `link #${n}${target} is missing (the span has ${count} link(s))`,
  linkAttribute: (n: number, target: string, difference: string) => `link #${n}${target}: ${difference}`,
  linkTarget: (to: { traceId: string; spanId: string }) => ` to span ${to.spanId} of trace ${to.traceId}`,
  childMissing: (expected: string | RegExp, parent: string, names: string) =>
    `child span ${describeName(expected)} is missing under "${parent}" (children: ${names})`,
  childCount: (expected: string | RegExp, parent: string, wanted: number, found: number) =>
    `expected ${wanted} child spans ${describeName(expected)} under "${parent}", found ${found}`,
  childOrder: (expected: string | RegExp, after: string, parent: string, names: string) =>
    `child span ${describeName(expected)} must start after "${after}" under "${parent}" (children in start order: ${names})`,
  childUnexpected: (names: string[], parent: string, expected: number, found: number) =>
    `unexpected child ${names.length === 1 ? 'span' : 'spans'} ${names.join(', ')} under "${parent}" ` +
    `(expected ${expected === 0 ? 'no children' : `exactly ${expected} ${expected === 1 ? 'child' : 'children'}`}, found ${found})`,
  noSpans: (expected: string | RegExp) => `no spans were recorded (expected a root span ${describeName(expected)})`,
  noRoot: (expected: string | RegExp, roots: string) => `no root span ${describeName(expected)} (root spans: ${roots})`,
  notRoot: (expected: string | RegExp, name: string, parent: string) =>
    `expected a root span ${describeName(expected)}, but "${name}" is a child of "${parent}"`,
  noneOfRole: (expected: string | RegExp, count: number) =>
    `none of the ${count} root spans ${describeName(expected)} is the one expected; they differ like this:`,
} as const;
const say = MATCH_MESSAGES;

export function describeName(name: string | RegExp): string {
  return typeof name === 'string' ? `"${name}"` : String(name);
}

/** A shape's name as a path element: the string itself, or the pattern. */
function nameLabel(name: string | RegExp): string {
  return typeof name === 'string' ? name : String(name);
}

/** `search` ignores a pattern's g/y flags and lastIndex, so the same shape can be matched again and again. */
export function nameMatches(expected: string | RegExp, actual: string): boolean {
  return typeof expected === 'string' ? expected === actual : actual.search(expected) >= 0;
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ') || 'none';
}

/** Names with repeats counted, in order of first appearance: "a" ×3, "b". */
export function countedNames(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `"${name}" ×${n}` : `"${name}"`)).join(', ') || 'none';
}

/** How close a failed candidate came: deeper matches first, then the right span with a wrong detail. */
export function closeness(mismatch: Mismatch): number {
  return mismatch.matched * 2 + (mismatch.sameName ? 1 : 0);
}

function closest(mismatches: readonly Mismatch[]): Mismatch | undefined {
  let best: Mismatch | undefined;
  for (const m of mismatches) if (!best || closeness(m) > closeness(best)) best = m;
  return best;
}

/** A candidate's mismatch, counted after the siblings already matched. */
function after(matched: number, mismatch: Mismatch): Mismatch {
  return { ...mismatch, matched: matched + mismatch.matched };
}

function failure(path: string[], shape: SpanShape, span: SpanNode | undefined, message: string, sameName: boolean): Mismatch {
  return { path, spanId: span?.spanId, shape, message, matched: 0, sameName };
}

function attributesDiffer(expected: Record<string, ExpectedValue>, actual: Attributes): string | undefined {
  return attributeDifference(expected, actual)?.message;
}

function attributeDifference(expected: Record<string, ExpectedValue>, actual: Attributes): { message: string; missing?: string } | undefined {
  for (const [key, want] of Object.entries(expected)) {
    const got = actual[key];
    if (valueMatches(want, got)) continue;
    return got === undefined ? { message: say.attributeMissing(key, want), missing: key } : { message: say.attribute(key, got, want) };
  }
  return undefined;
}

/** The span's own fields, without its name (checked first, by the caller) and its children. */
function ownDifference(span: SpanNode, shape: SpanShape): { message: string; missing?: string } | undefined {
  const text = (message: string | undefined): { message: string } | undefined => (message === undefined ? undefined : { message });
  if (!span.ended) return text(say.neverEnded(span.name));
  if (shape.kind && shape.kind !== span.kind) return text(say.kind(span.kind, shape.kind));
  if (shape.scope !== undefined && shape.scope !== span.scope) return text(say.scope(span.scope, shape.scope));
  if (shape.status && shape.status !== span.status) return text(say.status(span.status, shape.status));
  if (shape.status && shape.statusMessage !== undefined && !nameMatches(shape.statusMessage, span.statusMessage ?? ''))
    return text(say.statusMessage(span.statusMessage ?? '', shape.statusMessage));
  const resource = shape.resource && attributeDifference(shape.resource, span.resource ?? {});
  if (resource) return text(say.resource(resource.message));
  const attributes = shape.attributes && attributeDifference(shape.attributes, span.attributes);
  if (attributes) return attributes;
  const events = shape.events && eventsDiffer(shape.events, span.events);
  if (events) return text(events);
  if (shape.eventsExact && span.events.length !== (shape.events?.length ?? 0)) {
    const names = (list: readonly { name: string | RegExp }[]): string => list.map((e) => describeName(e.name)).join(', ');
    return text(say.eventsExact(names(span.events), names(shape.events ?? [])));
  }
  if (shape.linkCount !== undefined && span.links.length !== shape.linkCount) return text(say.linkCount(span.links.length, shape.linkCount));
  return text(shape.links && linksDiffer(shape.links, span.links));
}

function eventMatches(want: EventShape, event: SpanEventData): boolean {
  return nameMatches(want.name, event.name) && (!want.attributes || attributesDiffer(want.attributes, event.attributes) === undefined);
}

/** Expected events form an ordered subsequence of the actual ones. */
function eventsDiffer(expected: readonly EventShape[], events: readonly SpanEventData[]): string | undefined {
  const names = events.map((e) => e.name).join(', ') || 'none';
  let from = 0;
  let previous: string | undefined;
  for (const want of expected) {
    const index = events.findIndex((e, i) => i >= from && eventMatches(want, e));
    if (index >= 0) {
      from = index + 1;
      previous = events[index]?.name;
      continue;
    }
    const named = events.find((e, i) => i >= from && nameMatches(want.name, e.name));
    if (named && want.attributes) return say.eventAttribute(named.name, attributesDiffer(want.attributes, named.attributes) ?? '');
    const earlier = events.some((e, i) => i < from && eventMatches(want, e));
    if (earlier && previous !== undefined) return say.eventTooEarly(want.name, previous, names);
    return say.eventMissing(want.name, names);
  }
  return undefined;
}

function linkMatches(want: LinkShape, link: SpanLinkData): boolean {
  const target = !want.to || (link.traceId === want.to.traceId && link.spanId === want.to.spanId);
  return target && (!want.attributes || attributesDiffer(want.attributes, link.attributes) === undefined);
}

/** Each expected link matches a different actual link. */
function linksDiffer(expected: readonly LinkShape[], links: readonly SpanLinkData[]): string | undefined {
  const assigned = assignDistinct(expected.length, links.length, (k, i) => {
    const want = expected[k];
    const link = links[i];
    return want !== undefined && link !== undefined && linkMatches(want, link);
  });
  const missing = assigned.indexOf(-1);
  const want = expected[missing];
  if (!want) return undefined;
  const target = want.to ? say.linkTarget(want.to) : '';
  const sameTarget = want.to && want.attributes ? links.find((l) => linkMatches({ to: want.to }, l)) : undefined;
  if (sameTarget && want.attributes) {
    return say.linkAttribute(missing + 1, target, attributesDiffer(want.attributes, sameTarget.attributes) ?? '');
  }
  return say.linkMissing(missing + 1, target, links.length);
}

/** Matches one span and its subtree against a shape. */
export function matchSpan(span: SpanNode, shape: SpanShape, parentPath: string[] = []): MatchResult {
  const path = [...parentPath, span.name];
  if (!nameMatches(shape.name, span.name)) {
    return { ok: false, mismatch: failure(path, shape, span, say.name(span.name, shape.name), false) };
  }
  const own = ownDifference(span, shape);
  if (own) {
    const mismatch = failure(path, shape, span, own.message, true);
    return { ok: false, mismatch: own.missing === undefined ? mismatch : { ...mismatch, missingAttribute: own.missing } };
  }
  const children = matchChildren(span, shape, path);
  if (!children.ok) return { ok: false, mismatch: { ...children.mismatch, matched: children.mismatch.matched + 1 } };
  return { ok: true, matched: children.matched + 1 };
}

/** Children matched to shapes: the indexes of the children used, or the first difference. */
type Assignment = { ok: true; matched: number; used: ReadonlySet<number> } | { ok: false; mismatch: Mismatch };

function matchChildren(span: SpanNode, shape: SpanShape, path: string[]): MatchResult {
  const expected = shape.children ?? [];
  const result = shape.ordered ? matchOrdered(span.children, expected, path) : matchUnordered(span.children, expected, path);
  if (!result.ok) return result;
  const extras = span.children.filter((_, i) => !result.used.has(i));
  const first = extras[0];
  if (shape.exact && first) {
    const message = say.childUnexpected(quotedEach(extras), span.name, expected.length, span.children.length);
    return { ok: false, mismatch: { ...failure([...path, first.name], shape, first, message, false), matched: result.matched } };
  }
  return { ok: true, matched: result.matched };
}

function quotedEach(spans: readonly SpanNode[]): string[] {
  return spans.map((s) => `"${s.name}"`);
}

/** Expected children match actual children in the same start order, skipping extras (earliest fit first). */
function matchOrdered(actual: readonly SpanNode[], expected: readonly SpanShape[], path: string[]): Assignment {
  const used = new Set<number>();
  let from = 0;
  let matched = 0;
  for (const want of expected) {
    const failures: { index: number; mismatch: Mismatch }[] = [];
    let found = -1;
    for (let i = from; i < actual.length && found < 0; i++) {
      const child = actual[i];
      if (!child) continue;
      const result = matchSpan(child, want, path);
      if (result.ok) {
        found = i;
        matched += result.matched;
      } else failures.push({ index: i, mismatch: result.mismatch });
    }
    if (found < 0) return { ok: false, mismatch: orderedMiss(actual, want, path, from, failures, matched) };
    used.add(found);
    from = found + 1;
  }
  return { ok: true, matched, used };
}

function orderedMiss(
  actual: readonly SpanNode[],
  want: SpanShape,
  path: string[],
  from: number,
  failures: readonly { index: number; mismatch: Mismatch }[],
  matched: number,
): Mismatch {
  const named = (i: number): boolean => nameMatches(want.name, actual[i]?.name ?? '');
  const later = closest(failures.filter((f) => named(f.index)).map((f) => f.mismatch));
  if (later) return after(matched, later);
  const parent = path.at(-1) ?? '';
  const previous = actual[from - 1];
  const earlier = actual.slice(0, from).map((child) => ({ child, result: matchSpan(child, want, path) }));
  const misplaced = earlier.find((e) => e.result.ok);
  if (misplaced && previous) {
    const message = say.childOrder(want.name, previous.name, parent, quoted(actual.map((c) => c.name)));
    return { ...failure([...path, misplaced.child.name], want, misplaced.child, message, true), matched };
  }
  const earlierNamed = earlier.flatMap((e) => (!e.result.ok && nameMatches(want.name, e.child.name) ? [e.result.mismatch] : []));
  const closestEarlier = closest(earlierNamed);
  if (closestEarlier) return after(matched, closestEarlier);
  return missingChild(actual, want, path, matched);
}

/** Expected children each match a different actual child, in any order. */
function matchUnordered(actual: readonly SpanNode[], expected: readonly SpanShape[], path: string[]): Assignment {
  const results = expected.map((want) => actual.map((child) => matchSpan(child, want, path)));
  const resultOf = (k: number, i: number): MatchResult | undefined => results[k]?.[i];
  const assigned = assignDistinct(expected.length, actual.length, (k, i) => resultOf(k, i)?.ok === true);
  let matched = 0;
  assigned.forEach((i, k) => {
    const result = resultOf(k, i);
    if (result?.ok) matched += result.matched;
  });
  const used = new Set(assigned.filter((i) => i >= 0));
  const missing = assigned.indexOf(-1);
  const want = expected[missing];
  if (!want) return { ok: true, matched, used };
  const named = actual.flatMap((child, i) => {
    const result = resultOf(missing, i);
    return result && !result.ok && nameMatches(want.name, child.name) ? [{ free: !used.has(i), mismatch: result.mismatch }] : [];
  });
  const leftover = closest(named.filter((n) => n.free).map((n) => n.mismatch));
  if (leftover) return { ok: false, mismatch: after(matched, leftover) };
  const found = actual.filter((child) => nameMatches(want.name, child.name)).length;
  const wanted = expected.filter((s) => nameLabel(s.name) === nameLabel(want.name)).length;
  if (found > 0 && found < wanted) {
    const message = say.childCount(want.name, path.at(-1) ?? '', wanted, found);
    return { ok: false, mismatch: { ...failure([...path, nameLabel(want.name)], want, undefined, message, false), matched } };
  }
  const taken = closest(named.map((n) => n.mismatch));
  if (taken) return { ok: false, mismatch: after(matched, taken) };
  return { ok: false, mismatch: missingChild(actual, want, path, matched) };
}

function missingChild(actual: readonly SpanNode[], want: SpanShape, path: string[], matched: number): Mismatch {
  const message = say.childMissing(want.name, path.at(-1) ?? '', countedNames(actual.map((c) => c.name)));
  return { ...failure([...path, nameLabel(want.name)], want, undefined, message, false), matched };
}

/** A failed match of every recorded trace: the difference to explain, and the trace to draw beside it. */
export interface TracesMismatch {
  ok: false;
  mismatch: Mismatch;
  /** The trace of the same role as the shape, when one exists; undefined when none comes close. */
  trace?: TraceTree;
  /** Several spans could have had the role and none has it: each kind of difference, counted. */
  candidates?: string[];
}

export type TracesMatch = { ok: true; matched: number; trace: TraceTree } | TracesMismatch;

/**
 * Finds the root span, in any trace, that matches the shape. On a mismatch, the trace drawn is
 * the one of the same role: a root with the shape's name whose own fields match and
 * whose subtree differs; or the only root with that name. When several roots have the name and
 * each differs in its own fields, none is "the closest": the differences are counted instead.
 */
export function matchTraces(traces: readonly TraceTree[], shape: SpanShape): TracesMatch {
  const tried: { root: SpanNode; trace: TraceTree; mismatch: Mismatch }[] = [];
  for (const trace of traces) {
    for (const root of trace.roots) {
      const result = matchSpan(root, shape);
      if (result.ok) return { ok: true, matched: result.matched, trace };
      tried.push({ root, trace, mismatch: result.mismatch });
    }
  }
  if (tried.length === 0) {
    return { ok: false, mismatch: failure([nameLabel(shape.name)], shape, undefined, say.noSpans(shape.name), false) };
  }
  const named = tried.filter((t) => nameMatches(shape.name, t.root.name));
  if (named.length === 0) return noRootNamed(traces, shape);
  // Own fields matched, the difference is deeper: the right span with something wrong under it.
  const sameRole = named.filter((t) => t.mismatch.matched > 0);
  const pool = sameRole.length > 0 ? sameRole : named.length === 1 ? named : [];
  let best: (typeof tried)[number] | undefined;
  for (const t of pool) if (!best || closeness(t.mismatch) > closeness(best.mismatch)) best = t;
  if (best) return { ok: false, mismatch: best.mismatch, trace: best.trace };
  const candidates = countedDifferences(named.map((t) => t.mismatch.message));
  const message = say.noneOfRole(shape.name, named.length);
  return { ok: false, mismatch: failure([nameLabel(shape.name)], shape, undefined, message, true), candidates };
}

/** Each distinct difference once, with how many spans have it, most common first. */
function countedDifferences(messages: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const message of messages) counts.set(message, (counts.get(message) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([message, n]) => `×${n} ${message}`);
}

/** No root has the expected name: the span may exist deeper, under a parent it should not have. */
function noRootNamed(traces: readonly TraceTree[], shape: SpanShape): TracesMismatch {
  for (const trace of traces) {
    const nested = trace.spans.find((s) => !trace.roots.includes(s) && nameMatches(shape.name, s.name) && (shape.kind === undefined || s.kind === shape.kind));
    const parent = nested && trace.spans.find((s) => s.spanId === nested.parentSpanId);
    if (nested && parent) {
      const message = say.notRoot(shape.name, nested.name, parent.name);
      return { ok: false, trace, mismatch: failure([nested.name], shape, nested, message, true) };
    }
  }
  const roots = countedNames(traces.flatMap((t) => t.roots.map((r) => r.name)));
  const mismatch = failure([nameLabel(shape.name)], shape, undefined, say.noRoot(shape.name, roots), false);
  // One trace is the learner's only attempt, worth drawing; among several, a stranger would mislead.
  const only = traces.length === 1 ? traces[0] : undefined;
  return only ? { ok: false, mismatch, trace: only } : { ok: false, mismatch };
}
