/*
 * Which traces are kept. The decision is made once, where a trace starts, and every span after it
 * follows: a parent that was kept keeps its children, a parent that was dropped drops them.
 */
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import {
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';

/** The route whose every trace is kept: a failed checkout must always be there to look at. */
export const CRITICAL_ROUTE = '/checkout';

/** Keeps every trace that starts on `route`; every other decision is the fallback's. */
export class KeepCriticalRoute implements Sampler {
  constructor(
    readonly route: string,
    readonly fallback: Sampler,
  ) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    // The span does not exist yet: what the sampler knows is what startSpan was given.
    if (attributes[ATTR_HTTP_ROUTE] === this.route) return { decision: SamplingDecision.RECORD };
    return this.fallback.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `KeepCriticalRoute{${this.route}, fallback=${this.fallback.toString()}}`;
  }
}

/**
 * The sampler of both services. ParentBased comes first: a span with a parent, local or from
 * another service's traceparent, does what its parent did. Only a span that starts a trace asks
 * the root sampler: the critical route is kept, everything else is kept at `ratio`.
 */
export function createSampler(ratio: number): Sampler {
  return new ParentBasedSampler({ root: new KeepCriticalRoute(CRITICAL_ROUTE, new TraceIdRatioBasedSampler(ratio)) });
}
