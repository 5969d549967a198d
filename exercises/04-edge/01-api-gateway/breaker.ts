/*
 * Given: the circuit breaker of circuit-breaker, without its tracing (the gateway's spans tell the
 * story here). Nothing to do here; the gateway decides what one breaker protects.
 */
import type { Clock } from '#kit';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before it lets one trial call through, in ms. */
  coolDownMs: number;
  clock: Clock;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;

  constructor(private readonly options: BreakerOptions) {}

  get state(): BreakerState {
    return this.current;
  }

  /**
   * May a call go through now? Closed: yes. Open: no, until the cool-down is over; then this call
   * is the trial (half_open), and every other call is refused until the trial's result is in.
   * A call that was let through must report its result with `succeeded()` or `failed()`.
   */
  tryAcquire(): boolean {
    const { clock, coolDownMs } = this.options;
    if (this.current === 'open' && clock.now() - this.openedAt >= coolDownMs) this.current = 'half_open';
    if (this.current === 'closed') return true;
    if (this.current === 'half_open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    return false;
  }

  succeeded(): void {
    this.trialInFlight = false;
    this.current = 'closed';
    this.failures = 0;
  }

  failed(): void {
    const trial = this.current === 'half_open';
    this.trialInFlight = false;
    this.failures++;
    if (trial || this.failures >= this.options.failureThreshold) {
      this.current = 'open';
      this.openedAt = this.options.clock.now();
      this.failures = 0;
    }
  }
}
