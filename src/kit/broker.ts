/**
 * An in-memory message broker whose channels have the API of amqplib's (RabbitMQ's client for
 * Node), so code written against it reads the same against a real RabbitMQ: `assertQueue` with a
 * dead-letter exchange, `sendToQueue` / `publish`, `consume`, `ack`, `nack(message, allUpTo, requeue)`,
 * `fields.redelivered`, and the delivery count that RabbitMQ's quorum queues keep in the
 * `x-delivery-count` header.
 *
 * It behaves like the real broker where a mistake shows:
 * - Deliveries arrive later, on their own turn of the event loop, in the root context: nothing of the
 *   publisher's active span travels with a message except its headers.
 * - A delivered message stays unacknowledged until the consumer settles it. `ack` removes it;
 *   `nack(…, requeue = true)` puts it back at the head of its queue, marked `redelivered`; `nack(…,
 *   false)` dead-letters it through the queue's dead-letter exchange, or drops it when there is none.
 * - Settling a delivery twice (or one that is not this channel's) is a channel error, as on RabbitMQ:
 *   `406 PRECONDITION_FAILED - unknown delivery tag`. The channel closes, its unacknowledged messages
 *   go back to their queues, and every later call on it throws `Channel closed`.
 * - Only quorum queues (`arguments: { 'x-queue-type': 'quorum' }`) count deliveries: a message
 *   returned to one carries `x-delivery-count` (absent on the first delivery, 1 on the second…).
 *   `x-delivery-limit` dead-letters a message returned more times than the limit (RabbitMQ 4 also
 *   sets a default limit of 20; this broker only applies one that is given).
 * - A message sent to a queue nobody declared is dropped (recorded in `unroutable`).
 *
 * For the checks: `published`, `deliveries` (every delivery and how it was settled),
 * `messages(queue)` (what waits in a queue, such as a dead-letter queue), `channelErrors`, and
 * `drain()`, which resolves once every message that can be delivered was delivered and settled.
 * A message redelivered `redeliveryLimit` times halts the broker, so a poison message requeued
 * forever ends the check with a sentence instead of spinning.
 */
import { EventEmitter } from 'node:events';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';

/** Header values as amqplib gives them: strings, numbers, booleans, arrays, tables. */
export interface BrokerMessageHeaders {
  'x-delivery-count'?: number | undefined;
  'x-death'?: XDeath[] | undefined;
  'x-first-death-exchange'?: string | undefined;
  'x-first-death-queue'?: string | undefined;
  'x-first-death-reason'?: string | undefined;
  [key: string]: unknown;
}

/** One entry of the `x-death` header RabbitMQ adds to a dead-lettered message. */
export interface XDeath {
  count: number;
  reason: 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';
  queue: string;
  time: { '!': 'timestamp'; value: number };
  exchange: string;
  'routing-keys': string[];
}

export interface BrokerMessageProperties {
  contentType: string | undefined;
  contentEncoding: string | undefined;
  headers: BrokerMessageHeaders | undefined;
  deliveryMode: number | undefined;
  priority: number | undefined;
  correlationId: string | undefined;
  replyTo: string | undefined;
  expiration: string | undefined;
  messageId: string | undefined;
  timestamp: number | undefined;
  type: string | undefined;
  userId: string | undefined;
  appId: string | undefined;
  clusterId: string | undefined;
}

export interface BrokerMessageFields {
  deliveryTag: number;
  /** True when this message was delivered before (and returned, or its channel closed). */
  redelivered: boolean;
  exchange: string;
  routingKey: string;
}

/** A delivered message, as amqplib's `Message`. */
export interface BrokerMessage {
  content: Buffer;
  fields: BrokerMessageFields;
  properties: BrokerMessageProperties;
}

/** What `consume` hands the callback (amqplib's `ConsumeMessage`). */
export interface ConsumeMessage extends BrokerMessage {
  fields: BrokerMessageFields & { consumerTag: string };
}

/** What `get` answers (amqplib's `GetMessage`). */
export interface GetMessage extends BrokerMessage {
  fields: BrokerMessageFields & { messageCount: number };
}

/** amqplib's `Options.AssertQueue`. */
export interface BrokerQueueOptions {
  exclusive?: boolean | undefined;
  /** Default true, as in amqplib. A quorum queue must be durable. */
  durable?: boolean | undefined;
  autoDelete?: boolean | undefined;
  /** `x-queue-type` (`classic` or `quorum`), `x-delivery-limit`, `x-dead-letter-exchange`, `x-dead-letter-routing-key`. */
  arguments?: Record<string, unknown> | undefined;
  messageTtl?: number | undefined;
  expires?: number | undefined;
  /** Where `nack(…, false)` sends a message: an exchange name; `''` is the default exchange. */
  deadLetterExchange?: string | undefined;
  /** The routing key of a dead-lettered message; default: the one it was published with. */
  deadLetterRoutingKey?: string | undefined;
  maxLength?: number | undefined;
  maxPriority?: number | undefined;
}

/** amqplib's `Options.Publish`. */
export interface BrokerPublishOptions {
  expiration?: string | number | undefined;
  userId?: string | undefined;
  CC?: string | string[] | undefined;
  mandatory?: boolean | undefined;
  persistent?: boolean | undefined;
  deliveryMode?: boolean | number | undefined;
  BCC?: string | string[] | undefined;
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  headers?: Record<string, unknown> | undefined;
  priority?: number | undefined;
  correlationId?: string | undefined;
  replyTo?: string | undefined;
  messageId?: string | undefined;
  timestamp?: number | undefined;
  type?: string | undefined;
  appId?: string | undefined;
}

/** amqplib's `Options.Consume`. */
export interface BrokerConsumeOptions {
  consumerTag?: string | undefined;
  noLocal?: boolean | undefined;
  /** The broker considers a message settled as soon as it is delivered: nothing is ever redelivered. */
  noAck?: boolean | undefined;
  exclusive?: boolean | undefined;
  priority?: number | undefined;
  arguments?: unknown;
}

export type ExchangeType = 'direct' | 'fanout' | 'topic';

/** The part of amqplib's `Channel` this broker offers, with the same signatures. */
export interface BrokerChannel {
  assertQueue(queue: string, options?: BrokerQueueOptions): Promise<{ queue: string; messageCount: number; consumerCount: number }>;
  checkQueue(queue: string): Promise<{ queue: string; messageCount: number; consumerCount: number }>;
  purgeQueue(queue: string): Promise<{ messageCount: number }>;
  assertExchange(exchange: string, type: ExchangeType | string, options?: { durable?: boolean | undefined }): Promise<{ exchange: string }>;
  bindQueue(queue: string, source: string, pattern: string, args?: unknown): Promise<object>;
  publish(exchange: string, routingKey: string, content: Buffer, options?: BrokerPublishOptions): boolean;
  sendToQueue(queue: string, content: Buffer, options?: BrokerPublishOptions): boolean;
  consume(queue: string, onMessage: (message: ConsumeMessage | null) => void, options?: BrokerConsumeOptions): Promise<{ consumerTag: string }>;
  cancel(consumerTag: string): Promise<object>;
  get(queue: string, options?: { noAck?: boolean | undefined }): Promise<GetMessage | false>;
  ack(message: BrokerMessage, allUpTo?: boolean): void;
  ackAll(): void;
  nack(message: BrokerMessage, allUpTo?: boolean, requeue?: boolean): void;
  nackAll(requeue?: boolean): void;
  reject(message: BrokerMessage, requeue?: boolean): void;
  prefetch(count: number, global?: boolean): Promise<object>;
  close(): Promise<void>;
}

/** How a delivery ended. `returned`: its channel closed first, so the message went back to its queue. */
export type DeliverySettlement = 'pending' | 'ack' | 'auto_ack' | 'requeue' | 'dead_letter' | 'drop' | 'returned';

/** One delivery of one message, for the checks. */
export interface BrokerDelivery {
  readonly queue: string;
  readonly messageId: string | undefined;
  /** The channel's number (1, 2, …) and the delivery tag on it. */
  readonly channel: number;
  readonly deliveryTag: number;
  /** Undefined for a message fetched with `get`. */
  readonly consumerTag: string | undefined;
  readonly redelivered: boolean;
  /** 1 for the first delivery of this message, 2 for the second… (counted on every queue type). */
  readonly attempt: number;
  readonly settlement: DeliverySettlement;
}

/** One accepted publish, for the checks. */
export interface BrokerPublished {
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageId: string | undefined;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly content: Buffer;
  /** The queues it was routed to; none means it was dropped. */
  readonly queues: readonly string[];
}

/** A message waiting in a queue. */
export interface QueuedMessage {
  readonly content: Buffer;
  readonly properties: BrokerMessageProperties;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
}

export interface QueueInfo {
  readonly name: string;
  readonly type: 'classic' | 'quorum';
  readonly durable: boolean;
  readonly deadLetterExchange: string | undefined;
  readonly deadLetterRoutingKey: string | undefined;
  readonly deliveryLimit: number | undefined;
  readonly ready: number;
  readonly unacked: number;
  readonly consumers: number;
}

export interface BrokerChannelError {
  readonly channel: number;
  readonly code: number;
  readonly message: string;
}

export interface InMemoryBrokerOptions {
  /** The broker halts once one message has been delivered this many times. Default 100. */
  redeliveryLimit?: number;
}

export interface BrokerDrainOptions {
  /** How long drain() waits while nothing is delivered or settled, before it gives up and says which deliveries are unsettled. Default 1000 ms. */
  timeoutMs?: number;
}

export const BROKER_MESSAGES = {
  channelClosed: 'Channel closed',
  unknownTag: (tag: number) => `PRECONDITION_FAILED - unknown delivery tag ${tag}`,
  noQueue: (queue: string) => `NOT_FOUND - no queue '${queue}' in vhost '/'`,
  noExchange: (exchange: string) => `NOT_FOUND - no exchange '${exchange}' in vhost '/'`,
  inequivalent: (arg: string, queue: string, received: unknown, current: unknown) =>
    `PRECONDITION_FAILED - inequivalent arg '${arg}' for queue '${queue}' in vhost '/': received ${show(received)} but current is ${show(current)}`,
  inequivalentExchange: (exchange: string, received: string, current: string) =>
    `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${exchange}' in vhost '/': received '${received}' but current is '${current}'`,
  quorumNotDurable: (queue: string) => `PRECONDITION_FAILED - invalid property 'non-durable' for queue '${queue}' in vhost '/' (a quorum queue is durable)`,
  unsupportedExchange: (type: string) => `the in-memory broker supports direct, fanout and topic exchanges, not "${type}"`,
  notBuffer: (what: string) => `${what}: the content must be a Buffer (Buffer.from(JSON.stringify(body)))`,
  runaway: (queue: string, messageId: string | undefined, limit: number) =>
    `message ${messageId === undefined ? '(no messageId)' : `"${messageId}"`} on queue "${queue}" was delivered ${limit} times and is still being requeued: ` +
    'is a message that always fails put back forever instead of being dead-lettered? The broker was halted.',
  halted: 'the broker was halted (a message was redelivered without end); create a new InMemoryBroker',
  unsettled: (deliveries: readonly BrokerDelivery[], ms: number) =>
    `${deliveries.length} ${deliveries.length === 1 ? 'delivery was' : 'deliveries were'} still neither acknowledged nor rejected after ${ms} ms: ` +
    deliveries
      .slice(0, 5)
      .map((d) => `message ${d.messageId === undefined ? `#${d.deliveryTag}` : `"${d.messageId}"`} on "${d.queue}" (delivery ${d.attempt})`)
      .join(', ') +
    (deliveries.length > 5 ? ', …' : '') +
    '. Every delivered message must be acked or nacked once.',
  closed: 'the broker is closed',
} as const;

function show(value: unknown): string {
  return value === undefined ? 'none' : typeof value === 'string' ? `'${value}'` : String(value);
}

const DEFAULT_REDELIVERY_LIMIT = 100;
const DEFAULT_DRAIN_TIMEOUT_MS = 1000;

interface QueueConfig {
  type: 'classic' | 'quorum';
  durable: boolean;
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  deliveryLimit: number | undefined;
}

/** A message inside the broker. */
interface Envelope {
  content: Buffer;
  properties: BrokerMessageProperties;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  /** Deliveries so far, on any queue type. */
  attempts: number;
}

interface QueueState {
  name: string;
  config: QueueConfig;
  ready: Envelope[];
  consumers: ConsumerState[];
  /** Round-robin position among the consumers. */
  next: number;
  scheduled: boolean;
}

interface ConsumerState {
  tag: string;
  channel: ChannelState;
  queue: QueueState;
  onMessage: (message: ConsumeMessage | null) => void;
  noAck: boolean;
  /** 0: no limit. */
  prefetch: number;
  unacked: number;
}

interface Unacked {
  tag: number;
  envelope: Envelope;
  queue: QueueState;
  consumer: ConsumerState | undefined;
  record: MutableDelivery;
}

interface ChannelState {
  id: number;
  open: boolean;
  nextTag: number;
  prefetch: number;
  unacked: Map<number, Unacked>;
  consumers: Map<string, ConsumerState>;
  emitter: EventEmitter;
}

interface Exchange {
  type: ExchangeType;
  bindings: { queue: string; pattern: string }[];
}

type MutableDelivery = { -readonly [K in keyof BrokerDelivery]: BrokerDelivery[K] };

function queueConfig(name: string, options: BrokerQueueOptions): QueueConfig {
  const args = options.arguments ?? {};
  const type = args['x-queue-type'] === 'quorum' ? 'quorum' : 'classic';
  const limit = args['x-delivery-limit'];
  return {
    type,
    durable: options.durable ?? true,
    deadLetterExchange: options.deadLetterExchange ?? (args['x-dead-letter-exchange'] as string | undefined),
    deadLetterRoutingKey: options.deadLetterRoutingKey ?? (args['x-dead-letter-routing-key'] as string | undefined),
    deliveryLimit: typeof limit === 'number' ? limit : undefined,
  };
}

const CONFIG_ARGS: [keyof QueueConfig, string][] = [
  ['type', 'x-queue-type'],
  ['durable', 'durable'],
  ['deadLetterExchange', 'x-dead-letter-exchange'],
  ['deadLetterRoutingKey', 'x-dead-letter-routing-key'],
  ['deliveryLimit', 'x-delivery-limit'],
];

/** Topic patterns: `*` is one word, `#` is zero or more words. */
function topicMatches(pattern: string, key: string): boolean {
  const match = (p: string[], k: string[]): boolean => {
    if (p.length === 0) return k.length === 0;
    const [head, ...rest] = p;
    if (head === '#') return match(rest, k) || (k.length > 0 && match(p, k.slice(1)));
    if (k.length === 0) return false;
    return (head === '*' || head === k[0]) && match(rest, k.slice(1));
  };
  return match(pattern.split('.'), key.split('.'));
}

function copyProperties(properties: BrokerMessageProperties): BrokerMessageProperties {
  return { ...properties, headers: properties.headers === undefined ? undefined : structuredClone(properties.headers) };
}

export class InMemoryBroker {
  private readonly queues = new Map<string, QueueState>();
  private readonly exchanges = new Map<string, Exchange>();
  private readonly channels: ChannelState[] = [];
  private readonly log: BrokerPublished[] = [];
  private readonly dropped: BrokerPublished[] = [];
  private readonly deliveryLog: MutableDelivery[] = [];
  private readonly errors: BrokerChannelError[] = [];
  private readonly redeliveryLimit: number;
  private waiters: (() => void)[] = [];
  private halt: Error | undefined;
  private closed = false;
  private generated = 0;

  constructor(options: InMemoryBrokerOptions = {}) {
    this.redeliveryLimit = options.redeliveryLimit ?? DEFAULT_REDELIVERY_LIMIT;
  }

  /** Every accepted publish, in order. */
  get published(): readonly BrokerPublished[] {
    return this.log;
  }

  /** Messages published to a queue or a routing key nothing was bound to: RabbitMQ drops them. */
  get unroutable(): readonly BrokerPublished[] {
    return this.dropped;
  }

  /** Every delivery, in order, with how it was settled. */
  get deliveries(): readonly BrokerDelivery[] {
    return this.deliveryLog;
  }

  /** Every channel error (a double ack, a missing queue…), in order. */
  get channelErrors(): readonly BrokerChannelError[] {
    return this.errors;
  }

  /** Opens a channel, as `connection.createChannel()` does. */
  async createChannel(): Promise<BrokerChannel & Pick<EventEmitter, 'on' | 'once' | 'off'>> {
    if (this.closed) throw new Error(BROKER_MESSAGES.closed);
    const state: ChannelState = {
      id: this.channels.length + 1,
      open: true,
      nextTag: 1,
      prefetch: 0,
      unacked: new Map(),
      consumers: new Map(),
      emitter: new EventEmitter(),
    };
    this.channels.push(state);
    return this.channelApi(state);
  }

  /** The messages waiting in `queue` (not the ones delivered and unacknowledged), oldest first. */
  messages(queue: string): readonly QueuedMessage[] {
    return (this.queues.get(queue)?.ready ?? []).map((e) => ({
      content: Buffer.from(e.content),
      properties: copyProperties(e.properties),
      exchange: e.exchange,
      routingKey: e.routingKey,
      redelivered: e.redelivered,
    }));
  }

  /** What `queue` was declared with and holds now, or undefined when nobody declared it. */
  queueInfo(queue: string): QueueInfo | undefined {
    const state = this.queues.get(queue);
    if (!state) return undefined;
    let unacked = 0;
    for (const channel of this.channels) for (const u of channel.unacked.values()) if (u.queue === state) unacked++;
    return { name: state.name, ...state.config, ready: state.ready.length, unacked, consumers: state.consumers.length };
  }

  /**
   * Resolves once every message that a consumer can take has been delivered and every delivery
   * settled (messages waiting in a queue nobody consumes, such as a dead-letter queue, stay).
   * Rejects when the broker halted on a runaway redelivery, or when deliveries stay unsettled
   * for `timeoutMs` with nothing else happening.
   */
  async drain(options: BrokerDrainOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    let deadline = performance.now() + timeoutMs;
    let progress = this.progress();
    for (;;) {
      // A turn first: work that is about to publish, settle or be delivered gets in before we look.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.halt) throw this.halt;
      if (this.idle()) return;
      // The time limit is for standing still: as long as deliveries happen and settle, drain waits.
      if (this.progress() !== progress) {
        progress = this.progress();
        deadline = performance.now() + timeoutMs;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(BROKER_MESSAGES.unsettled(this.deliveryLog.filter((d) => d.settlement === 'pending'), timeoutMs));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  /** Closes every channel and stops delivering. */
  async close(): Promise<void> {
    this.closed = true;
    for (const channel of this.channels) if (channel.open) this.closeChannel(channel);
    this.notify();
  }

  // -------------------------------------------------------------------------------------------
  // The channel API
  // -------------------------------------------------------------------------------------------

  private channelApi(state: ChannelState): BrokerChannel & Pick<EventEmitter, 'on' | 'once' | 'off'> {
    const guard = (): void => {
      if (!state.open) throw new Error(BROKER_MESSAGES.channelClosed);
    };
    const rpc = async <T>(work: () => T): Promise<T> => {
      guard();
      await Promise.resolve();
      guard();
      return work();
    };
    const settle = (message: BrokerMessage, allUpTo: boolean, how: 'ack' | 'requeue' | 'reject'): void => {
      guard();
      const tag = message.fields.deliveryTag;
      if (!state.unacked.has(tag)) return this.channelError(state, 406, BROKER_MESSAGES.unknownTag(tag));
      const tags = allUpTo ? [...state.unacked.keys()].filter((t) => t <= tag) : [tag];
      for (const t of tags) this.settle(state, t, how);
    };
    const api: BrokerChannel & Pick<EventEmitter, 'on' | 'once' | 'off'> = {
      assertQueue: (queue, options = {}) =>
        rpc(() => {
          const name = queue === '' ? `amq.gen-${++this.generated}` : queue;
          const config = queueConfig(name, options);
          if (config.type === 'quorum' && !config.durable) return this.failRpc(state, 406, BROKER_MESSAGES.quorumNotDurable(name));
          const existing = this.queues.get(name);
          if (existing) {
            for (const [key, arg] of CONFIG_ARGS) {
              if (existing.config[key] !== config[key]) return this.failRpc(state, 406, BROKER_MESSAGES.inequivalent(arg, name, config[key], existing.config[key]));
            }
          } else {
            this.queues.set(name, { name, config, ready: [], consumers: [], next: 0, scheduled: false });
          }
          const declared = this.queues.get(name) as QueueState;
          return { queue: name, messageCount: declared.ready.length, consumerCount: declared.consumers.length };
        }),
      checkQueue: (queue) =>
        rpc(() => {
          const declared = this.queues.get(queue);
          if (!declared) return this.failRpc(state, 404, BROKER_MESSAGES.noQueue(queue));
          return { queue, messageCount: declared.ready.length, consumerCount: declared.consumers.length };
        }),
      purgeQueue: (queue) =>
        rpc(() => {
          const declared = this.queues.get(queue);
          if (!declared) return this.failRpc(state, 404, BROKER_MESSAGES.noQueue(queue));
          const messageCount = declared.ready.length;
          declared.ready = [];
          return { messageCount };
        }),
      assertExchange: (exchange, type) =>
        rpc(() => {
          if (type !== 'direct' && type !== 'fanout' && type !== 'topic') throw new TypeError(BROKER_MESSAGES.unsupportedExchange(type));
          const existing = this.exchanges.get(exchange);
          if (existing && existing.type !== type) return this.failRpc(state, 406, BROKER_MESSAGES.inequivalentExchange(exchange, type, existing.type));
          if (!existing) this.exchanges.set(exchange, { type, bindings: [] });
          return { exchange };
        }),
      bindQueue: (queue, source, pattern) =>
        rpc(() => {
          const exchange = this.exchanges.get(source);
          if (!exchange) return this.failRpc(state, 404, BROKER_MESSAGES.noExchange(source));
          if (!this.queues.has(queue)) return this.failRpc(state, 404, BROKER_MESSAGES.noQueue(queue));
          if (!exchange.bindings.some((b) => b.queue === queue && b.pattern === pattern)) exchange.bindings.push({ queue, pattern });
          return {};
        }),
      publish: (exchange, routingKey, content, options = {}) => {
        guard();
        if (!Buffer.isBuffer(content)) throw new TypeError(BROKER_MESSAGES.notBuffer(`publish to "${exchange}"`));
        if (exchange !== '' && !this.exchanges.has(exchange)) {
          // As on RabbitMQ: publish itself succeeds, and the channel fails a moment later.
          setImmediate(() => state.open && this.channelError(state, 404, BROKER_MESSAGES.noExchange(exchange)));
          return true;
        }
        this.accept(exchange, routingKey, content, options);
        return true;
      },
      sendToQueue: (queue, content, options = {}) => {
        guard();
        if (!Buffer.isBuffer(content)) throw new TypeError(BROKER_MESSAGES.notBuffer(`sendToQueue("${queue}")`));
        this.accept('', queue, content, options);
        return true;
      },
      consume: (queue, onMessage, options = {}) =>
        rpc(() => {
          const declared = this.queues.get(queue);
          if (!declared) return this.failRpc(state, 404, BROKER_MESSAGES.noQueue(queue));
          const tag = options.consumerTag ?? `amq.ctag-${state.id}-${state.consumers.size + 1}-${Math.random().toString(36).slice(2, 8)}`;
          const consumer: ConsumerState = { tag, channel: state, queue: declared, onMessage, noAck: options.noAck ?? false, prefetch: state.prefetch, unacked: 0 };
          state.consumers.set(tag, consumer);
          declared.consumers.push(consumer);
          this.schedule(declared);
          return { consumerTag: tag };
        }),
      cancel: (consumerTag) =>
        rpc(() => {
          const consumer = state.consumers.get(consumerTag);
          if (consumer) this.removeConsumer(consumer);
          this.notify();
          return {};
        }),
      get: (queue, options = {}) =>
        rpc(() => {
          const declared = this.queues.get(queue);
          if (!declared) return this.failRpc(state, 404, BROKER_MESSAGES.noQueue(queue));
          const envelope = declared.ready.shift();
          if (!envelope) return false as const;
          const { message } = this.deliver(state, declared, envelope, undefined, options.noAck ?? false);
          return { ...message, fields: { ...message.fields, messageCount: declared.ready.length } };
        }),
      ack: (message, allUpTo = false) => settle(message, allUpTo, 'ack'),
      ackAll: () => {
        guard();
        for (const tag of [...state.unacked.keys()]) this.settle(state, tag, 'ack');
      },
      nack: (message, allUpTo = false, requeue = true) => settle(message, allUpTo, requeue ? 'requeue' : 'reject'),
      nackAll: (requeue = true) => {
        guard();
        for (const tag of [...state.unacked.keys()]) this.settle(state, tag, requeue ? 'requeue' : 'reject');
      },
      reject: (message, requeue = true) => settle(message, false, requeue ? 'requeue' : 'reject'),
      prefetch: (count) =>
        rpc(() => {
          state.prefetch = Math.max(0, count);
          return {};
        }),
      close: async () => {
        guard();
        this.closeChannel(state);
        this.notify();
      },
      on: (event, listener) => {
        state.emitter.on(event, listener);
        return api as never;
      },
      once: (event, listener) => {
        state.emitter.once(event, listener);
        return api as never;
      },
      off: (event, listener) => {
        state.emitter.off(event, listener);
        return api as never;
      },
    };
    return api;
  }

  // -------------------------------------------------------------------------------------------
  // Inside the broker
  // -------------------------------------------------------------------------------------------

  private accept(exchange: string, routingKey: string, content: Buffer, options: BrokerPublishOptions): void {
    const headers = options.headers === undefined ? undefined : (structuredClone(options.headers) as BrokerMessageHeaders);
    const properties: BrokerMessageProperties = {
      contentType: options.contentType,
      contentEncoding: options.contentEncoding,
      headers,
      deliveryMode: options.persistent ? 2 : typeof options.deliveryMode === 'number' ? options.deliveryMode : options.deliveryMode ? 2 : undefined,
      priority: options.priority,
      correlationId: options.correlationId,
      replyTo: options.replyTo,
      expiration: options.expiration === undefined ? undefined : String(options.expiration),
      messageId: options.messageId,
      timestamp: options.timestamp,
      type: options.type,
      userId: options.userId,
      appId: options.appId,
      clusterId: undefined,
    };
    const envelope: Envelope = { content: Buffer.from(content), properties, exchange, routingKey, redelivered: false, attempts: 0 };
    const queues = this.route(exchange, routingKey);
    const entry: BrokerPublished = {
      exchange,
      routingKey,
      messageId: options.messageId,
      headers: structuredClone(headers ?? {}),
      content: Buffer.from(content),
      queues: queues.map((q) => q.name),
    };
    this.log.push(entry);
    if (queues.length === 0) this.dropped.push(entry);
    for (const queue of queues) this.enqueue(queue, queues.length === 1 ? envelope : { ...envelope, properties: copyProperties(properties) });
    this.notify();
  }

  private route(exchange: string, routingKey: string): QueueState[] {
    if (exchange === '') {
      const queue = this.queues.get(routingKey);
      return queue ? [queue] : [];
    }
    const declared = this.exchanges.get(exchange);
    if (!declared) return [];
    const names = declared.bindings
      .filter((b) => declared.type === 'fanout' || (declared.type === 'direct' ? b.pattern === routingKey : topicMatches(b.pattern, routingKey)))
      .map((b) => b.queue);
    return [...new Set(names)].flatMap((name) => this.queues.get(name) ?? []);
  }

  private enqueue(queue: QueueState, envelope: Envelope, atHead = false): void {
    if (atHead) queue.ready.unshift(envelope);
    else queue.ready.push(envelope);
    this.schedule(queue);
  }

  /** Delivers the queue's next message on a later turn: one delivery per turn, in the root context. */
  private schedule(queue: QueueState): void {
    if (queue.scheduled || this.halt || this.closed) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      this.pump(queue);
    });
  }

  private pump(queue: QueueState): void {
    if (this.halt || this.closed || queue.ready.length === 0) return this.notify();
    const consumer = this.nextConsumer(queue);
    if (!consumer) return this.notify();
    const envelope = queue.ready.shift() as Envelope;
    if (envelope.attempts >= this.redeliveryLimit) {
      queue.ready.unshift(envelope);
      this.halt = new Error(BROKER_MESSAGES.runaway(queue.name, envelope.properties.messageId, this.redeliveryLimit));
      return this.notify();
    }
    const { message } = this.deliver(consumer.channel, queue, envelope, consumer, consumer.noAck);
    try {
      // The consumer runs in the root context: the publisher's active span is not its parent.
      context.with(ROOT_CONTEXT, () => consumer.onMessage({ ...message, fields: { ...message.fields, consumerTag: consumer.tag } }));
    } catch {
      // amqplib would let this escape into its frame handling; here the delivery just stays unsettled.
    }
    this.schedule(queue);
    this.notify();
  }

  private nextConsumer(queue: QueueState): ConsumerState | undefined {
    const count = queue.consumers.length;
    for (let i = 0; i < count; i++) {
      const consumer = queue.consumers[(queue.next + i) % count] as ConsumerState;
      if (consumer.noAck || consumer.prefetch === 0 || consumer.unacked < consumer.prefetch) {
        queue.next = (queue.next + i + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  private deliver(channel: ChannelState, queue: QueueState, envelope: Envelope, consumer: ConsumerState | undefined, noAck: boolean): { message: BrokerMessage } {
    envelope.attempts++;
    const tag = channel.nextTag++;
    const record: MutableDelivery = {
      queue: queue.name,
      messageId: envelope.properties.messageId,
      channel: channel.id,
      deliveryTag: tag,
      consumerTag: consumer?.tag,
      redelivered: envelope.redelivered,
      attempt: envelope.attempts,
      settlement: noAck ? 'auto_ack' : 'pending',
    };
    this.deliveryLog.push(record);
    if (!noAck) {
      channel.unacked.set(tag, { tag, envelope, queue, consumer, record });
      if (consumer) consumer.unacked++;
    }
    const message: BrokerMessage = {
      content: Buffer.from(envelope.content),
      fields: { deliveryTag: tag, redelivered: envelope.redelivered, exchange: envelope.exchange, routingKey: envelope.routingKey },
      properties: copyProperties(envelope.properties),
    };
    return { message };
  }

  private settle(channel: ChannelState, tag: number, how: 'ack' | 'requeue' | 'reject' | 'returned'): void {
    const entry = channel.unacked.get(tag);
    if (!entry) return;
    channel.unacked.delete(tag);
    if (entry.consumer) entry.consumer.unacked--;
    const { envelope, queue, record } = entry;
    if (how === 'ack') {
      record.settlement = 'ack';
    } else if (how === 'requeue' || how === 'returned') {
      record.settlement = how === 'requeue' ? 'requeue' : 'returned';
      if (queue.config.type === 'quorum') {
        const count = (envelope.properties.headers?.['x-delivery-count'] ?? 0) + 1;
        envelope.properties.headers = { ...envelope.properties.headers, 'x-delivery-count': count };
        if (queue.config.deliveryLimit !== undefined && count > queue.config.deliveryLimit) {
          record.settlement = this.deadLetter(queue, envelope, 'delivery_limit');
          this.schedule(queue);
          this.notify();
          return;
        }
      }
      envelope.redelivered = true;
      // Back where it was: at the head of its queue.
      this.enqueue(queue, envelope, true);
    } else {
      record.settlement = this.deadLetter(queue, envelope, 'rejected');
    }
    this.schedule(queue);
    this.notify();
  }

  /** Sends a rejected message through the queue's dead-letter exchange, with RabbitMQ's x-death headers. */
  private deadLetter(queue: QueueState, envelope: Envelope, reason: XDeath['reason']): 'dead_letter' | 'drop' {
    const exchange = queue.config.deadLetterExchange;
    if (exchange === undefined) return 'drop';
    const routingKey = queue.config.deadLetterRoutingKey ?? envelope.routingKey;
    const headers: BrokerMessageHeaders = { ...envelope.properties.headers };
    const deaths = [...(headers['x-death'] ?? [])];
    const same = deaths.find((d) => d.queue === queue.name && d.reason === reason);
    if (same) same.count++;
    else deaths.unshift({ count: 1, reason, queue: queue.name, time: { '!': 'timestamp', value: Math.floor(Date.now() / 1000) }, exchange: envelope.exchange, 'routing-keys': [envelope.routingKey] });
    headers['x-death'] = deaths;
    headers['x-first-death-exchange'] ??= envelope.exchange;
    headers['x-first-death-queue'] ??= queue.name;
    headers['x-first-death-reason'] ??= reason;
    const targets = this.route(exchange, routingKey);
    for (const target of targets) {
      this.enqueue(target, {
        content: Buffer.from(envelope.content),
        properties: { ...copyProperties(envelope.properties), headers: structuredClone(headers) },
        exchange,
        routingKey,
        redelivered: false,
        attempts: 0,
      });
    }
    return targets.length > 0 ? 'dead_letter' : 'drop';
  }

  private removeConsumer(consumer: ConsumerState): void {
    consumer.channel.consumers.delete(consumer.tag);
    consumer.queue.consumers = consumer.queue.consumers.filter((c) => c !== consumer);
    consumer.queue.next = 0;
  }

  /** Closes the channel: its consumers stop, and what it had not settled goes back to its queues. */
  private closeChannel(channel: ChannelState): void {
    if (!channel.open) return;
    channel.open = false;
    for (const consumer of [...channel.consumers.values()]) this.removeConsumer(consumer);
    for (const tag of [...channel.unacked.keys()].sort((a, b) => b - a)) this.settle(channel, tag, 'returned');
    channel.emitter.emit('close');
  }

  private channelError(channel: ChannelState, code: number, message: string): void {
    this.errors.push({ channel: channel.id, code, message });
    const error = Object.assign(new Error(`Channel closed by server: ${code} (${message})`), { code });
    // amqplib emits 'error' on the channel; with no listener here, the error is only recorded.
    if (channel.emitter.listenerCount('error') > 0) channel.emitter.emit('error', error);
    this.closeChannel(channel);
    this.notify();
  }

  /** A failed RPC: the channel closes and the call rejects, as amqplib's do. */
  private failRpc(channel: ChannelState, code: number, message: string): never {
    this.channelError(channel, code, message);
    throw Object.assign(new Error(`Operation failed: ${code} (${message})`), { code });
  }

  /** Grows with every delivery and every settlement. */
  private progress(): number {
    return this.deliveryLog.length + this.deliveryLog.filter((d) => d.settlement !== 'pending').length;
  }

  private idle(): boolean {
    if (this.closed) return true;
    for (const channel of this.channels) if (channel.open && channel.unacked.size > 0) return false;
    for (const queue of this.queues.values()) {
      if (queue.scheduled) return false;
      if (queue.ready.length > 0 && queue.consumers.length > 0) return false;
    }
    return true;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
