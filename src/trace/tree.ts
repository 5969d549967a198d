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

/** Where a span starts, in epoch ms: the harness's precise reading when there is one. */
function startOf(item: RawSpan): number {
  return item.startMs ?? hrToMs(item.span.startTime);
}

function buildOne(traceId: string, items: RawSpan[]): TraceTree {
  const startEpochMs = Math.min(...items.map(startOf));
  return assembleTrace(traceId, items.map((item) => toNode(item, startEpochMs)), startEpochMs);
}

/**
 * One trace from its spans as nodes (times relative to `startEpochMs`, children empty): each span
 * under its parent, children in start order. Spans recorded here and spans received over OTLP
 * (src/trace/otlp-receiver.ts) are assembled the same way.
 */
export function assembleTrace(traceId: string, spans: readonly SpanNode[], startEpochMs: number): TraceTree {
  const nodes = [...spans].sort(byStart);
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

function toNode(item: RawSpan, origin: number): SpanNode {
  const { span, ended, seq } = item;
  const start = startOf(item) - origin;
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
    ...(item.linksAtStart === undefined ? {} : { linksAtStart: item.linksAtStart }),
    start,
    // The SDK's duration is precise and its start stamp is not: from a precise start, the end is start plus duration.
    end: !ended ? undefined : item.startMs !== undefined ? start + hrToMs(span.duration) : hrToMs(span.endTime) - origin,
    ended,
    seq,
    children: [],
  };
}
