/**
 * The rig of the saga-broker checks: the learner's shop on NATS JetStream, in a stream and subjects of
 * the check's own (natsNames), with a FakeShop for its backends; a connection of the checks' own that
 * reads the stream back (every message stored, with its headers) and the consumers' state, and tells
 * when the shop has nothing left to do.
 */
import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { context, propagation, SpanKind, type SpanContext, type Tracer } from '@opentelemetry/api';
import { fail, natsNames, random, show, type CheckNats, type TraceHarness } from '#checks';
import { FakeShop, ServiceUnavailableError } from '#kit';
import type { Broker, ShopStreamConfig } from '#target/05-infrastructure/04-saga-broker/broker.ts';
import type { Order, ShopTopic } from '#target/05-infrastructure/04-saga-broker/events.ts';
import type { OrderService } from '#target/05-infrastructure/04-saga-broker/shop-services.ts';

export interface Target {
  openBroker(nc: NatsConnection, config: ShopStreamConfig): Promise<Broker>;
  startShop(broker: Broker, shop: FakeShop): Promise<OrderService>;
}

export const TOPICS: readonly ShopTopic[] = ['OrderPlaced', 'InventoryReserved', 'PaymentSucceeded', 'PaymentFailed', 'OrderShipped'];

/** A message as the stream stored it. */
export interface Stored {
  seq: number;
  subject: string;
  /** The topic, for a message on `<prefix>.<topic>`; for a dead letter, the topic it was published on first. */
  topic: string;
  dead: boolean;
  traceparent: string | undefined;
  data: string;
}

/** How long the checks wait for the shop to have nothing left to do. */
export const SETTLE_MS = 1_500;

export interface Shop {
  nats: CheckNats;
  config: ShopStreamConfig;
  backends: FakeShop;
  service: OrderService;
  /** The connection the learner's services run on: closing it stops them. */
  connection: NatsConnection;
  /**
   * Stops the shop (closes its connection) and starts it again on a new one: same stream, same
   * backends. Consumers of the old connection that were not durable are left behind on the server with
   * nobody reading them: `settle` no longer waits for them.
   */
  restart(between?: () => Promise<void>): Promise<void>;
  place(order: Order): Promise<void>;
  /** Places the order inside a SERVER span of the checks', as an HTTP handler would, and answers that span's context. */
  placeWithin(order: Order): Promise<SpanContext>;
  /** Publishes an OrderPlaced the way another instance of the order service would (JSON body, traceparent header). */
  publishAsAnotherInstance(order: Order): Promise<void>;
  /** Waits until no consumer has a message waiting or unacknowledged, twice in a row, and every span has ended. */
  settle(after: string): Promise<void>;
  stored(): Promise<Stored[]>;
  consumers(): Promise<ConsumerInfo[]>;
}

export function randomOrder(): Order {
  return {
    id: random.id('order-'),
    sku: random.id('sku-'),
    quantity: random.int(1, 9),
    amountCents: random.int(100, 99_999),
    address: `${random.int(1, 999)} ${random.word(7)} street`,
  };
}

/** A failure that may go away: the error the checks use for backend calls that fail a few times. */
export function unavailable(what: string): () => Error {
  return () => new ServiceUnavailableError(`the ${what} service is unavailable, try again`);
}

interface Admin {
  js: JetStreamClient;
  jsm: JetStreamManager;
}

const admins = new WeakMap<CheckNats, Promise<Admin>>();

/** The checks' own connection to the check's NATS space (one per check). */
function admin(nats: CheckNats): Promise<Admin> {
  let found = admins.get(nats);
  if (!found) {
    found = nats.connect().then(async (nc) => ({ js: jetstream(nc), jsm: await jetstreamManager(nc) }));
    admins.set(nats, found);
  }
  return found;
}

export async function startShop(
  target: Target,
  otel: TraceHarness,
  options: { maxDeliver?: number; nats?: CheckNats; name?: string; backends?: FakeShop } = {},
): Promise<Shop> {
  const nats = options.nats ?? (await natsNames());
  const name = options.name ?? 'shop';
  const config: ShopStreamConfig = { stream: nats.stream(name), subjectPrefix: nats.subject(name), maxDeliver: options.maxDeliver ?? random.int(2, 5) };
  const backends = options.backends ?? new FakeShop();
  const tracer: Tracer = otel.tracer('tracecraft.checker');

  const boot = async (): Promise<{ connection: NatsConnection; service: OrderService }> => {
    const connection = await nats.connect();
    let broker: Broker;
    try {
      broker = await target.openBroker(connection, config);
    } catch (error) {
      return fail(`openBroker(connection, ${show(config)}) failed: ${show(error)}`);
    }
    try {
      return { connection, service: await target.startShop(broker, backends) };
    } catch (error) {
      return fail(`startShop(broker, backends) failed (maxDeliver ${config.maxDeliver}): ${show(error)}`);
    }
  };

  const orphans = new Set<string>();
  const shop: Shop = {
    nats,
    config,
    backends,
    ...(await boot()),
    async restart(between) {
      for (const consumer of await shop.consumers()) if (!consumer.config.durable_name) orphans.add(consumer.name);
      await shop.connection.close();
      // The server forgets the closed connection's pull requests a moment later; a message published
      // before that would be handed to a connection that is gone (and come back only after the ack wait).
      const deadline = Date.now() + 1_000;
      while (Date.now() < deadline && (await shop.consumers()).some((c) => c.num_waiting > 0)) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await between?.();
      Object.assign(shop, await boot());
    },
    async place(order) {
      try {
        await shop.service.placeOrder(order);
      } catch (error) {
        fail(`placeOrder(${show(order.id)}) threw: ${show(error)}`);
      }
    },
    placeWithin(order) {
      return tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER, attributes: { 'app.order.id': order.id } }, async (span) => {
        try {
          await shop.place(order);
          return span.spanContext();
        } finally {
          span.end();
        }
      });
    },
    async publishAsAnotherInstance(order) {
      const { js } = await admin(nats);
      await tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER, attributes: { 'app.order.id': order.id } }, async (span) => {
        try {
          const carrier = headers();
          propagation.inject(context.active(), carrier, { set: (h, key, value) => h.set(key, value) });
          await js.publish(`${config.subjectPrefix}.OrderPlaced`, JSON.stringify({ order }), { headers: carrier });
        } finally {
          span.end();
        }
      });
    },
    async settle(after) {
      const deadline = Date.now() + SETTLE_MS;
      let idleInARow = 0;
      let last: ConsumerInfo[] = [];
      while (Date.now() < deadline) {
        last = (await shop.consumers()).filter((c) => !orphans.has(c.name));
        idleInARow = last.every((c) => c.num_pending === 0 && c.num_ack_pending === 0) ? idleInARow + 1 : 0;
        if (idleInARow >= 2) {
          await otel.settled();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const busy = last
        .filter((c) => c.num_pending > 0 || c.num_ack_pending > 0)
        .map((c) => `consumer ${c.name}: ${c.num_pending} waiting, ${c.num_ack_pending} delivered and not settled`);
      fail(
        `${SETTLE_MS} ms after ${after}, the shop still had work that nothing finished: ${busy.join('; ')}. ` +
          'Settle every delivery: ack() once its handler is done, nak() when it failed and deliveries are left, and on the last one dead-letter it and term()',
      );
    },
    async stored() {
      const { jsm } = await admin(nats);
      const info = await jsm.streams.info(config.stream);
      const stored: Stored[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const message = await jsm.streams.getMessage(config.stream, { seq }).catch(() => null);
        if (!message) continue;
        const rest = message.subject.slice(config.subjectPrefix.length + 1);
        const dead = rest.startsWith('dead.');
        stored.push({
          seq,
          subject: message.subject,
          topic: dead ? rest.slice('dead.'.length) : rest,
          dead,
          traceparent: message.header?.get('traceparent') || undefined,
          data: new TextDecoder().decode(message.data),
        });
      }
      return stored;
    },
    async consumers() {
      const { jsm } = await admin(nats);
      const infos: ConsumerInfo[] = [];
      for await (const info of jsm.consumers.list(config.stream)) infos.push(info);
      return infos;
    },
  };
  return shop;
}

/** The body of a stored message, parsed; undefined when it is not JSON. */
export function bodyOf(message: Stored): { order?: Order } | undefined {
  try {
    return JSON.parse(message.data) as { order?: Order };
  } catch {
    return undefined;
  }
}

/** The messages of one order, in stream order. */
export function ofOrder(stored: readonly Stored[], orderId: string): Stored[] {
  return stored.filter((m) => bodyOf(m)?.order?.id === orderId);
}
