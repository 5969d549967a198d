/**
 * Hand-built spans for the engine's unit tests: pure data, no SDK.
 *
 *   const t = trace(span('checkout', { kind: 'server', start: 0, end: 40 },
 *     span('charge', { kind: 'client', start: 5, end: 30 })));
 *
 * `span` gives every node its own span id and points its children at it; `trace` stamps one
 * trace id on the whole tree and fills in the trace's span list and duration.
 */
import type { Attributes } from '@opentelemetry/api';
import type { KindName, SpanEventData, SpanLinkData, SpanNode, StatusName, TraceTree } from '../../src/trace/model.ts';

export interface SpanOptions {
  kind?: KindName;
  status?: StatusName;
  statusMessage?: string;
  scope?: string;
  /** Default: the next id of a counter, as 16 hex digits. */
  id?: string;
  /** For a root whose parent was not recorded (a remote parent). */
  parent?: string;
  attributes?: Attributes;
  /** The resource of the process that made the span (spans received over OTLP). */
  resource?: Attributes;
  events?: { name: string; at?: number; attributes?: Attributes }[];
  links?: { traceId: string; spanId: string; attributes?: Attributes }[];
  /** Milliseconds from the start of the trace. Default 0. */
  start?: number;
  /** Default: start + 1, or undefined when `ended` is false. */
  end?: number;
  ended?: boolean;
}

let counter = 0;

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0');
}

/** A span id that no other built span has. */
export function nextSpanId(): string {
  counter += 1;
  return hex(counter, 16);
}

/** A trace id that no other built trace has. */
export function nextTraceId(): string {
  counter += 1;
  return hex(counter, 32);
}

export function span(name: string, options: SpanOptions = {}, ...children: SpanNode[]): SpanNode {
  const spanId = options.id ?? nextSpanId();
  const start = options.start ?? 0;
  const ended = options.ended ?? true;
  const events: SpanEventData[] = (options.events ?? []).map((e) => ({ name: e.name, at: e.at ?? start, attributes: e.attributes ?? {} }));
  const links: SpanLinkData[] = (options.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: l.attributes ?? {} }));
  return {
    name,
    kind: options.kind ?? 'internal',
    status: options.status ?? 'unset',
    statusMessage: options.statusMessage,
    scope: options.scope ?? 'test',
    traceId: '',
    spanId,
    parentSpanId: options.parent,
    attributes: options.attributes ?? {},
    ...(options.resource ? { resource: options.resource } : {}),
    events,
    links,
    start,
    end: ended ? (options.end ?? start + 1) : undefined,
    ended,
    children: children.map((child) => ({ ...child, parentSpanId: spanId })),
  };
}

function stamp(node: SpanNode, traceId: string): SpanNode {
  return { ...node, traceId, children: node.children.map((child) => stamp(child, traceId)) };
}

function flatten(node: SpanNode): SpanNode[] {
  return [node, ...node.children.flatMap(flatten)];
}

/** One trace made of the given roots (a healthy trace has one). */
export function trace(...roots: SpanNode[]): TraceTree {
  return traceWithId(nextTraceId(), ...roots);
}

export function traceWithId(traceId: string, ...roots: SpanNode[]): TraceTree {
  const stamped = roots.map((root) => stamp(root, traceId));
  const spans = stamped.flatMap(flatten).sort((a, b) => a.start - b.start);
  const durationMs = Math.max(0, ...spans.map((s) => s.end ?? s.start));
  return { traceId, roots: stamped, spans, startEpochMs: 1_700_000_000_000, durationMs };
}

/** The span of a built trace with this name (the first in start order). */
export function find(tree: TraceTree, name: string): SpanNode {
  const found = tree.spans.find((s) => s.name === name);
  if (!found) throw new Error(`no span "${name}" in the built trace`);
  return found;
}
