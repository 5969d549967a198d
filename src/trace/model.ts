import { SpanKind, SpanStatusCode, type Attributes, type AttributeValue, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The lower-case kind names used in shapes, READMEs and rendered trees. */
export type KindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusName = 'unset' | 'ok' | 'error';

export interface SpanEventData {
  name: string;
  /** Milliseconds since the start of the trace. */
  at: number;
  attributes: Attributes;
}

export interface SpanLinkData {
  traceId: string;
  spanId: string;
  attributes: Attributes;
}

/**
 * One span as plain data: what the matcher, the renderer and the diagnostics read.
 * Times are milliseconds relative to the earliest span of the same trace.
 */
export interface SpanNode {
  name: string;
  kind: KindName;
  status: StatusName;
  statusMessage: string | undefined;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Attributes;
  events: SpanEventData[];
  links: SpanLinkData[];
  /** How many of `links` were given when the span started (the rest were added later); undefined when not seen. */
  linksAtStart?: number | undefined;
  start: number;
  /** Undefined for a span that was started but never ended. */
  end: number | undefined;
  ended: boolean;
  /**
   * Start order among the captured spans. The SDK stamps start times in whole milliseconds,
   * so spans started in the same millisecond are ordered by this instead.
   */
  seq?: number | undefined;
  /**
   * The resource of the process that recorded the span (`service.name`, …), for spans received over
   * OTLP from other processes. Undefined for spans recorded in the checker's own process: they all
   * share the harness's resource.
   */
  resource?: Attributes | undefined;
  children: SpanNode[];
}

/** One trace: its root spans (a healthy trace has exactly one), in start order. */
export interface TraceTree {
  traceId: string;
  roots: SpanNode[];
  /** Every span of the trace, in start order. */
  spans: SpanNode[];
  /** Absolute start of the trace, in epoch milliseconds. */
  startEpochMs: number;
  durationMs: number;
}

const KIND_NAMES: Record<SpanKind, KindName> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const STATUS_NAMES: Record<SpanStatusCode, StatusName> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};

export function kindName(kind: SpanKind): KindName {
  return KIND_NAMES[kind];
}

export function statusName(code: SpanStatusCode): StatusName {
  return STATUS_NAMES[code];
}

export function hrToMs(time: HrTime): number {
  return time[0] * 1e3 + time[1] / 1e6;
}

/** A span as read from the SDK, ended or not, before it is placed in a tree. */
export interface RawSpan {
  span: ReadableSpan;
  ended: boolean;
  /** Start order among captured spans, when known: breaks ties between equal start times. */
  seq?: number | undefined;
  /** The precise start (epoch ms, fractional), when the harness saw the span start. */
  startMs?: number | undefined;
  /** Links the span had when it started, when the harness saw it start. */
  linksAtStart?: number | undefined;
}

export function formatValue(value: AttributeValue | undefined): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map((v) => (v === null ? 'null' : formatValue(v))).join(', ')}]`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
