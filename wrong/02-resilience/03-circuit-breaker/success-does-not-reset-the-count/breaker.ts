import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
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
  private state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** Calls `operation` through the breaker, or rejects with a CircuitOpenError without calling it. */
  call<T>(operation: () => Promise<T>): Promise<T> {
    const { name, clock, coolDownMs } = this.options;
    const attributes = { 'app.circuit_breaker.name': name };
    return tracer.startActiveSpan(`circuit_breaker ${name}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      try {
        // Nothing ticks while the breaker is open: the first call after the cool-down moves it on.
        if (this.state === 'open' && clock.now() - this.openedAt >= coolDownMs) this.moveTo('half_open', span);
        span.setAttribute('app.circuit_breaker.state', this.state);
        if (this.state === 'open' || (this.state === 'half_open' && this.trialInFlight)) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, 'circuit_open');
          throw new CircuitOpenError(name, this.state);
        }
        const trial = this.state === 'half_open';
        if (trial) this.trialInFlight = true;
        try {
          const result = await operation();
          this.succeeded(trial, span);
          return result;
        } catch (error) {
          this.failed(trial, span);
          const err = error instanceof Error ? error : new Error(String(error));
          span.recordException(err);
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, err.name);
          throw error;
        } finally {
          if (trial) this.trialInFlight = false;
        }
      } finally {
        span.end();
      }
    });
  }

  // Only the trial's result decides in half_open. A late result of a call let through while closed
  // counts only if the breaker is still closed.
  private succeeded(trial: boolean, span: Span): void {
    if (trial) this.moveTo('closed', span);
  }

  private failed(trial: boolean, span: Span): void {
    if (this.state === 'closed') this.failures++;
    if (trial || (this.state === 'closed' && this.failures >= this.options.failureThreshold)) this.moveTo('open', span);
  }

  /** Every transition is an event on the span of the call that caused it. */
  private moveTo(to: BreakerState, span: Span): void {
    span.addEvent('circuit_breaker.transition', { from: this.state, to });
    this.state = to;
    if (to === 'open') this.openedAt = this.options.clock.now(); // a fresh cool-down, from the failure
    if (to === 'closed') this.failures = 0;
  }
}
