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

let turn = 0;

/** Round-robin over the instances of one service. */
export class Balancer {
  private readonly instances: Instance[];
  constructor(urls: readonly string[], options: BalancerOptions) {
    this.instances = urls.map((url) => ({ url, breaker: new CircuitBreaker(options) }));
  }

  /** The instances in the order one request tries them: the instance whose turn it is first, then the next ones. */
  order(): Instance[] {
    const start = turn % this.instances.length;
    turn++;
    return this.instances.map((_, i) => this.instances[(start + i) % this.instances.length] as Instance);
  }
}
