import { it } from 'vitest';
import { propagation, ROOT_CONTEXT, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectAllEnded, expectThat, expectTrace, random, show, spansNamed, useTracing, verify, type SpanNode, type SpanShape } from '#checks';
import { processBatch, type Message } from '#target/01-foundations/07-span-links/batch-consumer.ts';

const otel = useTracing();

it('hands every message to the handler once, in order, one at a time, with or without trace context', async () => {
  for (const batch of [mixedBatch(), untracedBatch()]) {
    const handled: string[] = [];
    const overlapped: string[] = [];
    let running = 0;
    await processBatch(batch.destination, messagesOf(batch), async (message) => {
      if (running > 0) overlapped.push(message.id);
      running += 1;
      await sleep(random.int(0, 2));
      handled.push(message.id);
      running -= 1;
    });
    verify(handled, `the messages handled, in order, from a batch of ${describe(batch)}`).equals(messagesOf(batch).map((m) => m.id));
    expectThat(
      overlapped.length === 0,
      'the handler is called for one message at a time: await each call before the next',
      `${show(overlapped[0])} was handed over while another message was still being handled`,
    );
  }
});

it('records the batch as one CONSUMER span "process <destination>" with messaging attributes', async () => {
  for (const makeBatch of [mixedBatch, untracedBatch]) {
    otel.reset();
    const batch = makeBatch();
    await processBatch(batch.destination, messagesOf(batch), ignore);
    expectTrace(otel, batchShape(batch), `one CONSUMER span describes the whole batch, and counts every message in it (${describe(batch)})`);
    verify(spansNamed(otel, `process ${batch.destination}`), `one batch of ${describe(batch)}`).hasCount(1, `"process ${batch.destination}" span`);
    expectAllEnded(otel);
  }
});

it('links the batch span to the producer context of every message that carries one, and to nothing else', async () => {
  for (const makeBatch of [mixedBatch, tracedBatch, untracedBatch]) {
    otel.reset();
    const batch = makeBatch();
    await processBatch(batch.destination, messagesOf(batch), ignore);
    expectTrace(
      otel,
      { ...batchShape(batch), ...linksTo(batch) },
      `span links: one link per message with a valid traceparent, to the span it names, carrying messaging.message.id (${describe(batch)})`,
    );
  }
});

it('gives the links when the batch span starts, not afterwards', async () => {
  const batch = mixedBatch();
  await processBatch(batch.destination, messagesOf(batch), ignore);
  const span = theBatchSpan(batch);
  const atStart = span.linksAtStart ?? span.links.length;
  expectThat(
    atStart === span.links.length,
    `the links are given in the options of startSpan / startActiveSpan (links: [...]), where a sampler sees them: the span started with all ${span.links.length}`,
    `it started with ${atStart} and got ${span.links.length - atStart} more later (span.addLink after the start)`,
  );
});

it('starts the batch span in a trace of its own, under none of the producers', async () => {
  const batch = tracedAtBothEnds();
  await processBatch(batch.destination, messagesOf(batch), ignore);
  const span = theBatchSpan(batch);
  expectThat(
    span.parentSpanId === undefined,
    'a batch has no single parent: the batch span is a root, and it reaches the producers through links, not through parentage',
    `it is a child of span ${span.parentSpanId}`,
  );
  const producerTraces = batch.produced.flatMap((p) => (p.producer ? [p.producer.traceId] : []));
  verify(producerTraces, 'the trace ids of the producers, which the batch span must not join').excludes(span.traceId);
});

it('calls the handler while the batch span is active, so the handler\'s spans are its children', async () => {
  const batch = mixedBatch();
  const handlerTracer = otel.tracer('tracecraft.handler');
  const batchSpanOpen = (): boolean => otel.openSpans().some((span) => span.name === `process ${batch.destination}`);
  const closedDuring: string[] = [];
  await processBatch(batch.destination, messagesOf(batch), async (message) => {
    const span = handlerTracer.startSpan('handle message', { attributes: { 'app.message.id': message.id } });
    if (!batchSpanOpen()) closedDuring.push(message.id);
    await sleep(0);
    span.end();
    if (!batchSpanOpen()) closedDuring.push(message.id);
  });
  expectTrace(
    otel,
    { ...batchShape(batch), children: messagesOf(batch).map((m) => ({ name: 'handle message', attributes: { 'app.message.id': m.id } })) },
    'the handler runs in the context of the batch span: call it inside startActiveSpan\'s callback',
  );
  expectThat(
    closedDuring.length === 0,
    `the batch span "process ${batch.destination}" is open while each message is handled, and ends once every message has been handled`,
    `it was already ended while ${show(closedDuring[0])} was being handled`,
  );
});

// ---- the rig: producers in traces of their own, messages with and without context, and the expected span

interface Produced {
  message: Message;
  /** The producer span the message's traceparent names; none for a message sent without readable context. */
  producer: SpanContext | undefined;
}

interface Batch {
  destination: string;
  produced: Produced[];
}

const ignore = async (): Promise<void> => undefined;

function messagesOf(batch: Batch): Message[] {
  return batch.produced.map((p) => p.message);
}

function describe(batch: Batch): string {
  const traced = batch.produced.filter((p) => p.producer).length;
  return `${batch.produced.length} messages, ${traced} with trace context`;
}

const randomDestination = (): string => random.pick(['orders', 'payments', 'shipments', 'invoices', 'refunds']);

/** Publishes a message the way an instrumented producer would: a PRODUCER span in a trace of its own, injected into the headers. */
function publish(destination: string): Produced {
  const span = otel.tracer('tracecraft.producer').startSpan(`publish ${destination}`, { kind: SpanKind.PRODUCER }, ROOT_CONTEXT);
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers);
  span.end();
  const message = { id: random.id('msg-'), headers, body: JSON.stringify({ sku: random.id('sku-'), quantity: random.int(1, 9) }) };
  return { message, producer: span.spanContext() };
}

/** Every way a message comes without readable context: no headers, other headers only, a traceparent nobody can read. */
function withoutContext(): Produced[] {
  const variants: Record<string, string>[] = [{}, { 'content-type': 'application/json' }, { traceparent: `garbage-${random.word(6)}` }];
  return variants.map((headers) => ({
    message: { id: random.id('msg-'), headers, body: '{}' },
    producer: undefined,
  }));
}

/** Traced messages with every kind of untraced one mixed in, every run. */
function mixedBatch(): Batch {
  const destination = randomDestination();
  const traced = Array.from({ length: random.int(2, 6) }, () => publish(destination));
  return { destination, produced: random.shuffle([...traced, ...withoutContext()]) };
}

/** A mixed batch whose first and last messages carry context: whichever producer a wrong parent comes from, it shows. */
function tracedAtBothEnds(): Batch {
  const { destination, produced } = mixedBatch();
  return { destination, produced: [publish(destination), ...produced, publish(destination)] };
}

function tracedBatch(): Batch {
  const destination = randomDestination();
  return { destination, produced: Array.from({ length: random.int(1, 5) }, () => publish(destination)) };
}

/** No message carries context: the batch span still exists, with no link at all. */
function untracedBatch(): Batch {
  return { destination: randomDestination(), produced: random.shuffle(withoutContext()) };
}

function batchShape(batch: Batch): SpanShape {
  return {
    name: `process ${batch.destination}`,
    kind: 'consumer',
    scope: 'tracecraft.consumer',
    attributes: {
      'messaging.operation.type': 'process',
      'messaging.destination.name': batch.destination,
      'messaging.batch.message_count': batch.produced.length,
    },
  };
}

function linksTo(batch: Batch): Pick<SpanShape, 'links' | 'linkCount'> {
  const traced = batch.produced.flatMap((p) => (p.producer ? [{ message: p.message, producer: p.producer }] : []));
  return {
    linkCount: traced.length,
    links: traced.map(({ message, producer }) => ({
      to: { traceId: producer.traceId, spanId: producer.spanId },
      attributes: { 'messaging.message.id': message.id },
    })),
  };
}

/** The one batch span, its shape checked first so a missing or misnamed span fails with the picture. */
function theBatchSpan(batch: Batch): SpanNode {
  const [span] = spansNamed(otel, `process ${batch.destination}`);
  if (span === undefined) expectTrace(otel, batchShape(batch), 'one CONSUMER span describes the whole batch');
  verify(spansNamed(otel, `process ${batch.destination}`), 'one batch').hasCount(1, `"process ${batch.destination}" span`);
  return span as SpanNode;
}
