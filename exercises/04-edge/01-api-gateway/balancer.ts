import type { Clock } from '#kit';
import { CircuitBreaker } from './breaker.ts';

export interface Instance {
  /** The instance's base URL: `http://127.0.0.1:40123`. */
  url: string;
  breaker: CircuitBreaker;
}

export interface BalancerOptions {
  failureThreshold: number;
  coolDownMs: number;
  clock: Clock;
}

/** Round-robin over the instances of one service. */
export class Balancer {
  private readonly instances: Instance[];

  constructor(urls: readonly string[], options: BalancerOptions) {
    // TODO: how many breakers, and for what? (See the README: one sick instance must not take its twin down.)
    const shared = new CircuitBreaker(options);
    this.instances = urls.map((url) => ({ url, breaker: shared }));
  }

  /** The instances in the order one request tries them: the instance whose turn it is first, then the next ones. */
  order(): Instance[] {
    // TODO: round-robin. Each call (each request) starts one instance further than the call before,
    //       wrapping around, and lists every instance once: [b, c, a], then [c, a, b]...
    return [...this.instances];
  }
}
