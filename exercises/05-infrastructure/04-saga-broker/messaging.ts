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

// TODO: NATS headers (MsgHdrs) are an object with get(key) and set(key, value), not a record of
//       properties: write the TextMapSetter<MsgHdrs> and TextMapGetter<MsgHdrs | undefined> that
//       propagation.inject and propagation.extract need to use them.

/** What a service does with one message of `topic`. A throw means "not done": the message is delivered again. */
export type Handler<K extends ShopTopic> = (body: ShopEvents[K]) => Promise<void>;

/** Publishes `body` on the topic's subject, as a PRODUCER span that travels with the message in its headers. */
export async function publish<K extends ShopTopic>(broker: Broker, topic: K, body: ShopEvents[K]): Promise<void> {
  const subject = subjectOf(broker.config, topic);
  // TODO: a PRODUCER span `publish <topic>` around the publish, with ATTR_MESSAGING_SYSTEM ("nats"),
  //       ATTR_MESSAGING_DESTINATION_NAME (the subject) and ATTR_MESSAGING_OPERATION_TYPE ("send").
  // TODO: while it is active, inject the context into NATS headers (headers()) and publish them
  //       with the message: { headers: carrier }.
  await broker.js.publish(subject, JSON.stringify(body));
}

/**
 * Runs `handler` for every message of `topic`, as service `service`: a durable consumer of the shop's
 * stream, acknowledged after the handler succeeds, redelivered after it fails, dead-lettered after the
 * last allowed delivery fails. Resolves once the consumer exists and is consuming.
 */
export async function subscribe<K extends ShopTopic>(broker: Broker, service: string, topic: K, handler: Handler<K>): Promise<void> {
  const { config } = broker;
  // TODO: this is an ordered consumer: the client makes a new one at every start, it reads the stream
  //       from the beginning, and it takes no acknowledgements. Make it a durable consumer named
  //       `${service}-${topic}` (broker.jsm.consumers.add) with filter_subject, explicit acks and
  //       max_deliver: config.maxDeliver, then get it with broker.js.consumers.get(config.stream, name).
  const consumer = await broker.js.consumers.get(config.stream, { filter_subjects: subjectOf(config, topic) });
  const messages = await consumer.consume();
  void (async () => {
    for await (const message of messages) await processDelivery(broker, service, topic, message, handler);
  })();
}

/** One delivery of one message: a CONSUMER span of its own, a child of the PRODUCER span in its headers. */
async function processDelivery<K extends ShopTopic>(broker: Broker, service: string, topic: K, message: JsMsg, handler: Handler<K>): Promise<void> {
  // TODO: a CONSUMER span `process <topic>` whose parent is the context extracted from message.headers,
  //       active while the handler runs, with ATTR_MESSAGING_SYSTEM, ATTR_MESSAGING_DESTINATION_NAME
  //       (message.subject), ATTR_MESSAGING_OPERATION_TYPE ("process"), ATTR_MESSAGING_CONSUMER_GROUP_NAME
  //       (service) and ATTR_DELIVERY_COUNT (message.info.deliveryCount). ERROR with error.type when the
  //       handler throws.
  try {
    await handler(message.json<ShopEvents[K]>());
    message.ack();
  } catch {
    // TODO: redeliver (message.nak()) while deliveries are left; on the last one (deliveryCount is
    //       config.maxDeliver), publish the message, data and headers unchanged, on
    //       deadLetterSubjectOf(config, topic), then message.term().
  }
}

