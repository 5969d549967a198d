import { SpanKind, trace } from '@opentelemetry/api';
import type { Clock } from '#kit';

const tracer = trace.getTracer('tracecraft.circuit-breaker');

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** The dependency the breaker protects: its calls make spans named `circuit_breaker <name>`. */
  name: string;
  /** How many consecutive failures open the breaker (1 or more). */
  failureThreshold: number;
  /** How long the breaker stays open before it lets one trial call through, in ms. */
  coolDownMs: number;
  clock: Clock;
}

/** What a rejected call rejects with. The downstream was not called. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  constructor(
    readonly breaker: string,
    readonly state: BreakerState,
  ) {
    super(`circuit breaker "${breaker}" is ${state}: the call was rejected without calling the downstream`);
  }
}

export class CircuitBreaker {
  // TODO: what the breaker remembers between calls: its state, the consecutive failures,
  // when it opened (on options.clock), and whether a trial call is in flight.

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** Calls `operation` through the breaker, or rejects with a CircuitOpenError without calling it. */
  call<T>(operation: () => Promise<T>): Promise<T> {
    const { name } = this.options;
    const attributes = { 'app.circuit_breaker.name': name };
    return tracer.startActiveSpan(`circuit_breaker ${name}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      try {
        // TODO: before calling: is the cool-down over (open -> half_open)? Put the state on the span
        // (app.circuit_breaker.state). Reject while open, and while a half-open trial is in flight:
        // ERROR, error.type "circuit_open", throw a CircuitOpenError, and never call the operation.
        //
        // TODO: after calling: count consecutive failures, open the breaker at the threshold, and let
        // the trial's result close it or open it again. Record each transition as a
        // "circuit_breaker.transition" event (from, to) on this span. A failed call is ERROR too.
        return await operation();
      } finally {
        span.end();
      }
    });
  }
}
