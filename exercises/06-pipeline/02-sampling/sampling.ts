/*
 * Which traces are kept. The decision is made once, where a trace starts, and every span after it
 * follows: a parent that was kept keeps its children, a parent that was dropped drops them.
 */
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { AlwaysOnSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';

/** The route whose every trace is kept: a failed checkout must always be there to look at. */
export const CRITICAL_ROUTE = '/checkout';

/** Keeps every trace that starts on `route`; every other decision is the fallback's. */
export class KeepCriticalRoute implements Sampler {
  constructor(
    readonly route: string,
    readonly fallback: Sampler,
  ) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    // TODO: keep (record and sample) a span whose http.route is this.route; ask the fallback about any other.
    return this.fallback.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `KeepCriticalRoute{${this.route}, fallback=${this.fallback.toString()}}`;
  }
}

/**
 * The sampler of both services: a span with a parent does what its parent did; a span that starts
 * a trace is kept on the critical route, and at `ratio` everywhere else.
 */
export function createSampler(ratio: number): Sampler {
  // TODO: ParentBased, with KeepCriticalRoute around a TraceIdRatioBased(ratio) as its root.
  return new AlwaysOnSampler();
}
