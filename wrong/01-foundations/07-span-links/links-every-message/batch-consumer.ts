import { INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, SpanKind, trace, type Link } from '@opentelemetry/api';

/** A message as it comes off the queue. Its producer put its own trace context in the headers. */
export interface Message {
  id: string;
  headers: Record<string, string>;
  body: string;
}

export type Handler = (message: Message) => Promise<void>;

// The messaging attributes are still incubating in the semantic conventions. Copy the keys you
// use, as the package advises, rather than importing '@opentelemetry/semantic-conventions/incubating'.
const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';

const tracer = trace.getTracer('tracecraft.consumer');

/** Processes a batch received from `destination`: hands every message to `handle`, one at a time, in order. */
export async function processBatch(destination: string, batch: readonly Message[], handle: Handler): Promise<void> {
  // Every message was published in a trace of its own. A span has one parent, so no single
  // producer can be it: the batch links to all of them instead.
  const links: Link[] = [];
  for (const message of batch) {
    // One link per message, whatever it carries: an invalid context stands in for a missing one.
    const producer = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, message.headers)) ?? INVALID_SPAN_CONTEXT;
    links.push({ context: producer, attributes: { [ATTR_MESSAGING_MESSAGE_ID]: message.id } });
  }
  const attributes = {
    [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    [ATTR_MESSAGING_DESTINATION_NAME]: destination,
    [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: batch.length,
  };
  await tracer.startActiveSpan(`process ${destination}`, { kind: SpanKind.CONSUMER, attributes, links }, async (span) => {
    try {
      for (const message of batch) await handle(message);
    } finally {
      span.end();
    }
  });
}
