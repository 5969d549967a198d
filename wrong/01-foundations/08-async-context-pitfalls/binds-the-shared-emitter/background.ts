import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Stand-ins for the libraries the order service leans on: a connection shared by every request, a
 * timer shared by every task, and a job queue with one worker. Each calls your code back later, from a
 * context that is not the caller's. You may fix them here, or where orders.ts uses them.
 */

/** A first-in, first-out queue whose `take()` waits until something is pushed. */
class Mailbox<T> {
  private readonly items: T[] = [];
  private waiting: ((item: T) => void) | undefined;

  push(item: T): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(item);
    else this.items.push(item);
  }

  take(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve) => {
      this.waiting = resolve;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// 1. An EventEmitter: the warehouse connection.

export interface ReservationReply {
  reservationId: string;
}

interface ReservationRequest {
  correlationId: string;
  sku: string;
  quantity: number;
}

/**
 * The one connection to the warehouse, shared by every request. `send` writes a request; the reply
 * comes back as an event named after the request's correlation id, emitted by the connection's
 * reader loop. The loop started with the connection, when this module was loaded.
 */
export class WarehouseConnection extends EventEmitter {
  private readonly outgoing = new Mailbox<ReservationRequest>();
  private sequence = 0;

  constructor() {
    super();
    void this.readReplies();
  }

  send(correlationId: string, sku: string, quantity: number): void {
    this.outgoing.push({ correlationId, sku, quantity });
  }

  private async readReplies(): Promise<never> {
    for (;;) {
      const request = await this.outgoing.take();
      await sleep(1); // the round trip
      this.sequence += 1;
      const reply: ReservationReply = { reservationId: `res-${request.sku}-${request.quantity}-${this.sequence}` };
      this.emit(request.correlationId, reply);
    }
  }
}

export const warehouse = new WarehouseConnection();

// ---------------------------------------------------------------------------------------------
// 2. A timer: tasks that fall due together share one setTimeout, armed by the first of them.

const SHARED_DELAY_MS = 5;
const dueTasks: (() => void)[] = [];
let sharedTimer: NodeJS.Timeout | undefined;

/** Runs `task` in about 5 ms. One timer serves every task scheduled meanwhile: cheaper than a timer each. */
export function runLater(task: () => void): void {
  dueTasks.push(task);
  sharedTimer ??= setTimeout(() => {
    sharedTimer = undefined;
    for (const due of dueTasks.splice(0)) due();
  }, SHARED_DELAY_MS);
}

// ---------------------------------------------------------------------------------------------
// 3. A hand-rolled queue: jobs are stored, and one worker loop runs them later, one at a time.

export type Job = () => Promise<void>;

const jobs = new Mailbox<Job>();

/** Adds a job to the queue. The worker runs it after the jobs before it. */
export function enqueue(job: Job): void {
  // TODO: a stored callback forgets the context it was created in. Remember context.active()
  //       with the job (or have the caller bind the job), and restore it in the worker (context.with).
  jobs.push(job);
}

/** The worker: started once, when this module was loaded, and runs forever. */
async function work(): Promise<never> {
  for (;;) {
    const job = await jobs.take();
    try {
      await job();
    } catch {
      // A failed job must not stop the worker; the job reports its own errors.
    }
  }
}

void work();
