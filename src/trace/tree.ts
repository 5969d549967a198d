import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { hrToMs, kindName, statusName, type RawSpan, type SpanNode, type TraceTree } from './model.ts';

/**
 * Assembles spans into traces: grouped by trace id, each span under its parent,
 * children in start order. A span whose parent is not among the spans is a root.
 * Traces are returned in the order their first span started.
 */
export function buildTraces(raw: readonly RawSpan[]): TraceTree[] {
  const byTrace = new Map<string, RawSpan[]>();
  for (const item of raw) {
    const traceId = item.span.spanContext().traceId;
    const list = byTrace.get(traceId) ?? [];
    list.push(item);
    byTrace.set(traceId, list);
  }
  const traces = [...byTrace.entries()].map(([traceId, items]) => buildOne(traceId, items));
  return traces.sort((a, b) => a.startEpochMs - b.startEpochMs);
}

function buildOne(traceId: string, items: RawSpan[]): TraceTree {
  const startEpochMs = Math.min(...items.map((i) => hrToMs(i.span.startTime)));
  const nodes = items
    .map((item) => toNode(item, startEpochMs))
    .sort(byStart);
  const byId = new Map(nodes.map((n) => [n.spanId, n]));
  const roots: SpanNode[] = [];
  for (const node of nodes) {
    const parent = node.parentSpanId === undefined ? undefined : byId.get(node.parentSpanId);
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const lastEnd = Math.max(...nodes.map((n) => n.end ?? n.start));
  return { traceId, roots, spans: nodes, startEpochMs, durationMs: lastEnd };
}

/** Start time first; the start order recorded by the harness breaks millisecond ties. */
export function byStart(a: SpanNode, b: SpanNode): number {
  return a.start - b.start || (a.seq ?? 0) - (b.seq ?? 0);
}

function toNode({ span, ended, seq }: RawSpan, origin: number): SpanNode {
  const start = hrToMs(span.startTime) - origin;
  return {
    name: span.name,
    kind: kindName(span.kind),
    status: statusName(span.status.code),
    statusMessage: span.status.message,
    scope: span.instrumentationScope.name,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    events: span.events.map((e) => ({ name: e.name, at: hrToMs(e.time) - origin, attributes: { ...e.attributes } })),
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: { ...l.attributes },
    })),
    start,
    end: ended ? hrToMs(span.endTime) - origin : undefined,
    ended,
    seq,
    children: [],
  };
}

/** Every span of every trace, depth first, in start order. */
export function allSpans(traces: readonly TraceTree[]): SpanNode[] {
  return traces.flatMap((t) => t.spans);
}

export function isEnded(span: ReadableSpan): boolean {
  return span.ended;
}
