import { propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';

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
  // TODO: record the batch as one CONSUMER span named `process <destination>`, with the attributes
  //       ATTR_MESSAGING_OPERATION_TYPE ("process"), ATTR_MESSAGING_DESTINATION_NAME and
  //       ATTR_MESSAGING_BATCH_MESSAGE_COUNT.
  // TODO: give it one link per message that carries a trace context (extract it from message.headers),
  //       with ATTR_MESSAGING_MESSAGE_ID on the link.
  // TODO: call the handler while the span is active, and end the span.
  for (const message of batch) await handle(message);
}
