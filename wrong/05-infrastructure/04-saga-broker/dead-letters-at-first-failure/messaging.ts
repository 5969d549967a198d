import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { AckPolicy, type JsMsg } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { deadLetterSubjectOf, subjectOf, type Broker } from './broker.ts';
import type { ShopEvents, ShopTopic } from './events.ts';
import {
  ATTR_DELIVERY_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_SYSTEM_VALUE_NATS,
} from './messaging-attributes.ts';

const tracer = trace.getTracer('tracecraft.shop-services');

// NATS headers are an object with get and set, not a record of properties: the propagator's default
// getter and setter would read and write properties that never go on the wire.
const setter: TextMapSetter<MsgHdrs> = { set: (carrier, key, value) => carrier.set(key, value) };
const getter: TextMapGetter<MsgHdrs | undefined> = {
  get: (carrier, key) => carrier?.get(key) || undefined,
  keys: (carrier) => carrier?.keys() ?? [],
};

/** What a service does with one message of `topic`. A throw means "not done": the message is delivered again. */
export type Handler<K extends ShopTopic> = (body: ShopEvents[K]) => Promise<void>;

/** Publishes `body` on the topic's subject, as a PRODUCER span that travels with the message in its headers. */
export function publish<K extends ShopTopic>(broker: Broker, topic: K, body: ShopEvents[K]): Promise<void> {
  const subject = subjectOf(broker.config, topic);
  const attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_NATS,
    [ATTR_MESSAGING_DESTINATION_NAME]: subject,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
    [ATTR_MESSAGING_OPERATION_NAME]: 'publish',
  };
  return tracer.startActiveSpan(`publish ${topic}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    try {
      // Injected while the PRODUCER span is active, so the traceparent names it.
      const carrier = headers();
      propagation.inject(context.active(), carrier, setter);
      // Resolves once the stream has stored the message.
      await broker.js.publish(subject, JSON.stringify(body), { headers: carrier });
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : typeof error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Runs `handler` for every message of `topic`, as service `service`: a durable consumer of the shop's
 * stream, acknowledged after the handler succeeds, redelivered after it fails, dead-lettered after the
 * last allowed delivery fails. Resolves once the consumer exists and is consuming.
 */
export async function subscribe<K extends ShopTopic>(broker: Broker, service: string, topic: K, handler: Handler<K>): Promise<void> {
  const { config } = broker;
  const durable = `${service}-${topic}`;
  // Durable: the server keeps the consumer and its position while the service is down. Explicit ack:
  // a message counts as processed only when we say so. max_deliver: the server's own limit, in case
  // our count below is ever wrong.
  await broker.jsm.consumers.add(config.stream, {
    durable_name: durable,
    filter_subject: subjectOf(config, topic),
    ack_policy: AckPolicy.Explicit,
    max_deliver: config.maxDeliver,
  });
  const consumer = await broker.js.consumers.get(config.stream, durable);
  const messages = await consumer.consume();
  void (async () => {
    for await (const message of messages) await processDelivery(broker, service, topic, message, handler);
  })();
}

/** One delivery of one message: a CONSUMER span of its own, a child of the PRODUCER span in its headers. */
function processDelivery<K extends ShopTopic>(broker: Broker, service: string, topic: K, message: JsMsg, handler: Handler<K>): Promise<void> {
  const parent = propagation.extract(ROOT_CONTEXT, message.headers, getter);
  // JetStream counts the deliveries of this message to this consumer: 1 the first time.
  const delivery = message.info.deliveryCount;
  const attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_NATS,
    [ATTR_MESSAGING_DESTINATION_NAME]: message.subject,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
    [ATTR_MESSAGING_OPERATION_NAME]: 'process',
    [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: service,
    [ATTR_DELIVERY_COUNT]: delivery,
  };
  return tracer.startActiveSpan(`process ${topic}`, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      await handler(message.json<ShopEvents[K]>());
      // Only now: a message acknowledged before its work is done is lost when the work fails.
      message.ack();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : typeof error);
      // A failure: park the message where a person can look at it.
      await broker.js.publish(deadLetterSubjectOf(broker.config, topic), message.data, { headers: message.headers });
      message.term();
    } finally {
      span.end();
    }
  });
}
