import { expect, it } from 'vitest';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing, type SpanShape } from '#checks';
import { propagation, ROOT_CONTEXT, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { processBatch, type Message } from '#target/01-foundations/07-span-links/batch-consumer.ts';

const otel = useTracing();

interface Produced {
  message: Message;
  /** The producer span the message's traceparent names; none for a message sent without context. */
  producer: SpanContext | undefined;
}

/** Publishes a message the way an instrumented producer would: a PRODUCER span in a trace of its own, injected into the headers. */
function publish(destination: string): Produced {
  const span = otel.tracer('tracecraft.producer').startSpan(`publish ${destination}`, { kind: SpanKind.PRODUCER }, ROOT_CONTEXT);
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers);
  span.end();
  const message = { id: random.id('msg-'), headers, body: JSON.stringify({ sku: random.id('sku-'), quantity: random.int(1, 9) }) };
  return { message, producer: span.spanContext() };
}

/** A message from a producer that was not traced, or that wrote a traceparent nobody can read. */
function publishWithoutContext(): Produced {
  const headers = random.pick<Record<string, string>>([{}, { traceparent: `garbage-${random.word(6)}` }, { 'content-type': 'application/json' }]);
  return { message: { id: random.id('msg-'), headers, body: '{}' }, producer: undefined };
}

function randomBatch(destination: string, withoutContext = 0): Produced[] {
  const batch = Array.from({ length: random.int(2, 7) }, () => publish(destination));
  for (let i = 0; i < withoutContext; i++) batch.splice(random.int(0, batch.length), 0, publishWithoutContext());
  return batch;
}

const randomDestination = (): string => random.pick(['orders', 'payments', 'shipments', 'invoices', 'refunds']);
const ignore = async (): Promise<void> => undefined;

function batchShape(destination: string, batch: Produced[]): SpanShape {
  return {
    name: `process ${destination}`,
    kind: 'consumer',
    attributes: {
      'messaging.operation.type': 'process',
      'messaging.destination.name': destination,
      'messaging.batch.message_count': batch.length,
    },
  };
}

function linksTo(batch: Produced[]): Pick<SpanShape, 'links' | 'linkCount'> {
  const traced = batch.filter((p) => p.producer !== undefined);
  return {
    linkCount: traced.length,
    links: traced.map(({ message, producer }) => ({
      to: { traceId: producer?.traceId ?? '', spanId: producer?.spanId ?? '' },
      attributes: { 'messaging.message.id': message.id },
    })),
  };
}

it('hands every message to the handler once, in order, one at a time', async () => {
  const destination = randomDestination();
  const batch = randomBatch(destination, random.int(0, 1));
  const handled: string[] = [];
  let running = 0;
  let overlapped = false;
  await processBatch(
    destination,
    batch.map((p) => p.message),
    async (message) => {
      running += 1;
      overlapped ||= running > 1;
      await sleep(random.int(0, 2));
      handled.push(message.id);
      running -= 1;
    },
  );
  expect(handled, 'every message is handled once, in batch order').toEqual(batch.map((p) => p.message.id));
  expect(overlapped, 'the handler is called for one message at a time: await each call before the next').toBe(false);
});

it('records the batch as one CONSUMER span "process <destination>" with messaging attributes', async () => {
  const destination = randomDestination();
  const batch = randomBatch(destination);
  await processBatch(destination, batch.map((p) => p.message), ignore);
  expectTrace(otel, batchShape(destination, batch), 'one CONSUMER span describes the whole batch');
  expect(spansNamed(otel, `process ${destination}`), `one batch makes exactly one "process ${destination}" span, not one per message`).toHaveLength(1);
  expectAllEnded(otel);
});

it('links the batch span to the producer context of every message', async () => {
  const destination = randomDestination();
  const batch = randomBatch(destination);
  await processBatch(destination, batch.map((p) => p.message), ignore);
  expectTrace(
    otel,
    { ...batchShape(destination, batch), ...linksTo(batch) },
    'span links: one link per message, to the span its traceparent names, carrying messaging.message.id',
  );
});

it('starts the batch span in a trace of its own, under none of the producers', async () => {
  const destination = randomDestination();
  const batch = randomBatch(destination);
  await processBatch(destination, batch.map((p) => p.message), ignore);
  const consumer = spansNamed(otel, `process ${destination}`)[0];
  expect(consumer, `processBatch should record a span "process ${destination}"`).toBeDefined();
  expect(
    consumer?.parentSpanId,
    'a batch has no single parent: the batch span is a root, and it reaches the producers through links, not through parentage',
  ).toBeUndefined();
  const producerTraces = batch.map((p) => p.producer?.traceId);
  expect(producerTraces, 'the batch span starts a new trace instead of joining one producer\'s trace').not.toContain(consumer?.traceId);
});

it('calls the handler while the batch span is active, so the handler\'s spans are its children', async () => {
  const destination = randomDestination();
  const batch = randomBatch(destination);
  const handlerTracer = otel.tracer('tracecraft.handler');
  await processBatch(destination, batch.map((p) => p.message), async (message) => {
    const span = handlerTracer.startSpan('handle message', { attributes: { 'app.message.id': message.id } });
    await sleep(0);
    span.end();
  });
  expectTrace(
    otel,
    {
      ...batchShape(destination, batch),
      children: batch.map((p) => ({ name: 'handle message', attributes: { 'app.message.id': p.message.id } })),
    },
    'the handler runs in the context of the batch span: call it inside startActiveSpan',
  );
});

it('gives no link to a message that carries no readable trace context', async () => {
  const destination = randomDestination();
  const batch = randomBatch(destination, random.int(1, 3));
  const handled: string[] = [];
  await processBatch(destination, batch.map((p) => p.message), async (message) => {
    handled.push(message.id);
  });
  expect(handled, 'messages without trace context are handled like the others').toEqual(batch.map((p) => p.message.id));
  expectTrace(
    otel,
    { ...batchShape(destination, batch), ...linksTo(batch) },
    'only a message whose headers hold a valid traceparent gives a link; the batch still counts every message',
  );
});
