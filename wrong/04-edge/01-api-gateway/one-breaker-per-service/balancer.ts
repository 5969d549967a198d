import type { Clock } from '#kit';
import { CircuitBreaker } from './breaker.ts';

export interface Instance {
  /** The instance's base URL: `http://127.0.0.1:40123`. */
  url: string;
  /** Each instance has its own breaker: one sick instance must not take its healthy twin down with it. */
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
  private turn = 0;

  constructor(urls: readonly string[], options: BalancerOptions) {
    const breaker = new CircuitBreaker(options);
    this.instances = urls.map((url) => ({ url, breaker }));
  }

  /** The instances in the order one request tries them: the instance whose turn it is first, then the next ones. */
  order(): Instance[] {
    const start = this.turn;
    this.turn = (this.turn + 1) % this.instances.length;
    return this.instances.map((_, i) => this.instances[(start + i) % this.instances.length] as Instance);
  }
}
