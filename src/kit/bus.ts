/**
 * An in-memory message bus with the manners of a real broker: a message is data (headers and a
 * body, copied on the way), and subscribers receive it later, on another turn of the event loop,
 * in the root context. Nothing of the publisher's active span travels with it: a trace holds
 * together across the bus only if the producer injects the context into the headers and the
 * consumer extracts it.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';

/** What a producer hands to `publish`. */
export interface OutgoingMessage<T> {
  /** String headers, where trace context travels (`traceparent`). Default: none. */
  headers?: Record<string, string>;
  body: T;
}

/** What a subscriber receives: its own copy of the headers and body. */
export interface BusMessage<T = unknown> {
  /** Unique per bus, in publish order: "1", "2", … */
  readonly id: string;
  readonly topic: string;
  readonly headers: Record<string, string>;
  readonly body: T;
}

/** A subscriber. A returned promise is awaited by `drain()`; a throw or a rejection is recorded in `failures`. */
export type MessageHandler<T = unknown> = (message: BusMessage<T>) => unknown;

/** One entry of `bus.published`, as it was accepted. */
export interface PublishedMessage {
  readonly id: string;
  readonly topic: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** A handler that threw or rejected. The bus records it and goes on delivering. */
export interface HandlerFailure {
  readonly topic: string;
  readonly messageId: string;
  /** The subscriber's name (given to `subscribe`, or its function's name). */
  readonly handler: string;
  readonly error: unknown;
}

export interface SubscribeOptions {
  /** How failures name this subscriber. Default: the handler function's name. */
  name?: string;
}

export interface DrainOptions {
  /** The most messages delivered during one drain before it gives up. Default 1000. */
  maxMessages?: number;
}

export const BUS_MESSAGES = {
  notData: (topic: string, error: unknown) =>
    `publish to "${topic}": the message body must be plain data, because the bus copies it the way a real broker serializes it ` +
    `(${error instanceof Error ? error.message : String(error)})`,
  badHeader: (topic: string, name: string, value: unknown) =>
    `publish to "${topic}": header "${name}" must be a string, not ${typeof value}`,
  runaway: (limit: number) =>
    `bus.drain(): more than ${limit} messages were delivered while draining and more keep coming; ` +
    'do handlers publish to each other forever? The bus was halted.',
  halted: 'the bus was halted after a runaway drain; create a new MessageBus',
  anonymous: 'anonymous handler',
} as const;

const DEFAULT_DRAIN_LIMIT = 1000;

interface Subscription {
  readonly handler: MessageHandler<never>;
  readonly name: string;
  active: boolean;
}

interface Drain {
  readonly limit: number;
  /** Messages delivered since the drain began. */
  delivered: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Topic → body type, e.g. `new MessageBus<{ 'order.placed': OrderPlaced; 'payment.failed': PaymentFailed }>()`.
 * Without it every topic carries `unknown`.
 *
 * - Subscribers registered when a message is published (and still subscribed when it is delivered)
 *   receive it; a topic with no subscriber drops the message (it is still in `published`).
 * - Messages are delivered in publish order, each from its own `setImmediate`; the handlers of one
 *   message start together and are not awaited before the next message is delivered.
 * - A handler that throws or rejects is recorded in `failures`; there is no redelivery.
 */
export class MessageBus<Topics extends object = Record<string, unknown>> {
  private readonly subscriptions = new Map<string, Subscription[]>();
  private readonly log: PublishedMessage[] = [];
  private readonly failed: HandlerFailure[] = [];
  /** Deliveries scheduled plus handlers running: zero means idle. */
  private pending = 0;
  private drains: Drain[] = [];
  private halt: Error | undefined;

  /** Every accepted message, in publish order. */
  get published(): readonly PublishedMessage[] {
    return this.log;
  }

  /** Every handler that threw or rejected, in the order they failed. */
  get failures(): readonly HandlerFailure[] {
    return this.failed;
  }

  /**
   * Accepts a message for `topic`: resolves once it is queued, before any subscriber sees it.
   * Rejects when the body is not plain data or a header is not a string.
   */
  /** Accepts a message for delivery; resolves with its id, which a PRODUCER span can record. */
  async publish<K extends keyof Topics & string>(topic: K, message: OutgoingMessage<Topics[K]>): Promise<string> {
    if (this.halt) throw new Error(BUS_MESSAGES.halted, { cause: this.halt });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (typeof value !== 'string') throw new TypeError(BUS_MESSAGES.badHeader(topic, name, value));
      headers[name] = value;
    }
    let body: unknown;
    try {
      body = structuredClone(message.body);
    } catch (error) {
      throw new TypeError(BUS_MESSAGES.notData(topic, error), { cause: error });
    }
    const entry: PublishedMessage = { id: String(this.log.length + 1), topic, headers, body };
    this.log.push(entry);
    const recipients = [...(this.subscriptions.get(topic) ?? [])];
    this.pending++;
    setImmediate(() => this.deliver(entry, recipients));
    return entry.id;
  }

  /** Calls `handler` with every later message of `topic`. Returns the unsubscribe function. */
  subscribe<K extends keyof Topics & string>(
    topic: K,
    handler: MessageHandler<Topics[K]>,
    options: SubscribeOptions = {},
  ): () => void {
    const subscription: Subscription = {
      handler: handler as MessageHandler<never>,
      name: options.name ?? (handler.name || BUS_MESSAGES.anonymous),
      active: true,
    };
    this.subscriptions.set(topic, [...(this.subscriptions.get(topic) ?? []), subscription]);
    return () => {
      subscription.active = false;
      this.subscriptions.set(topic, (this.subscriptions.get(topic) ?? []).filter((s) => s !== subscription));
    };
  }

  /**
   * Resolves once every published message has been delivered and every handler has settled,
   * including messages that handlers publish meanwhile. Rejects (and halts the bus, so nothing
   * keeps running after the check) when more than `maxMessages` are delivered during the drain.
   */
  async drain(options: DrainOptions = {}): Promise<void> {
    const drain: Drain = { limit: options.maxMessages ?? DEFAULT_DRAIN_LIMIT, delivered: 0, resolve: () => {}, reject: () => {} };
    for (;;) {
      if (this.halt) throw this.halt;
      // One turn of the event loop first: a publish waiting on a settled promise gets in before we look.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.pending === 0) return;
      await new Promise<void>((resolve, reject) => {
        drain.resolve = resolve;
        drain.reject = reject;
        this.drains.push(drain);
      });
    }
  }

  private deliver(entry: PublishedMessage, recipients: readonly Subscription[]): void {
    try {
      if (this.halt) return;
      for (const drain of this.drains) drain.delivered++;
      const runaway = this.drains.find((drain) => drain.delivered > drain.limit);
      if (runaway) {
        this.halt = new Error(BUS_MESSAGES.runaway(runaway.limit));
        const drains = this.drains;
        this.drains = [];
        for (const drain of drains) drain.reject(this.halt);
        return;
      }
      for (const subscription of recipients) {
        if (subscription.active) this.run(subscription, entry);
      }
    } finally {
      this.settle();
    }
  }

  private run(subscription: Subscription, entry: PublishedMessage): void {
    const message: BusMessage<never> = {
      id: entry.id,
      topic: entry.topic,
      headers: { ...entry.headers },
      body: structuredClone(entry.body) as never,
    };
    const fail = (error: unknown): void => {
      this.failed.push({ topic: entry.topic, messageId: entry.id, handler: subscription.name, error });
    };
    this.pending++;
    let result: unknown;
    try {
      // The subscriber runs in the root context: the publisher's active span is not its parent.
      result = context.with(ROOT_CONTEXT, () => subscription.handler(message));
    } catch (error) {
      fail(error);
      this.settle();
      return;
    }
    Promise.resolve(result).then(
      () => this.settle(),
      (error: unknown) => {
        fail(error);
        this.settle();
      },
    );
  }

  private settle(): void {
    this.pending--;
    if (this.pending > 0) return;
    const drains = this.drains;
    this.drains = [];
    for (const drain of drains) drain.resolve();
  }
}
