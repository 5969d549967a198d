import { beforeEach, describe, expect, it } from 'vitest';
import { context, propagation, trace, type Context } from '@opentelemetry/api';
import { BUS_MESSAGES, MessageBus, type BusMessage } from '../../src/kit/index.ts';
import { traceHarness } from '../../src/trace/harness.ts';

const harness = traceHarness();
const tracer = trace.getTracer('tracecraft.bus.test');

beforeEach(() => harness.reset());

/** Resolves after one full turn of the event loop. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('MessageBus delivery', () => {
  it('delivers after publish returns, never during it', async () => {
    const bus = new MessageBus<{ orders: { id: string } }>();
    const seen: string[] = [];
    bus.subscribe('orders', (message) => {
      seen.push(message.body.id);
    });
    const accepted = bus.publish('orders', { body: { id: 'o-1' } });
    expect(seen).toEqual([]);
    await accepted;
    expect(seen, 'publish resolves when the message is accepted, before delivery').toEqual([]);
    await bus.drain();
    expect(seen).toEqual(['o-1']);
  });

  it('gives every subscriber of the topic, in publish order, its own copy; other topics and unsubscribed handlers get nothing', async () => {
    const bus = new MessageBus();
    const got: string[] = [];
    bus.subscribe('a', (m) => {
      got.push(`first ${m.id} ${String(m.body)}`);
      (m.headers as Record<string, string>)['mutated'] = 'yes';
    });
    bus.subscribe('a', (m) => {
      got.push(`second ${m.id} ${String(m.body)} ${m.headers['mutated'] ?? 'clean'}`);
    });
    const stop = bus.subscribe('a', () => {
      got.push('unsubscribed');
    });
    bus.subscribe('b', () => {
      got.push('other topic');
    });
    await bus.publish('a', { body: 'x' });
    stop();
    await bus.publish('a', { body: 'y' });
    await bus.drain();
    expect(got).toEqual(['first 1 x', 'second 1 x clean', 'first 2 y', 'second 2 y clean']);
    expect(bus.published.map((m) => m.headers)).toEqual([{}, {}]);
  });

  it('copies the body the way a broker serializes it, and refuses what is not data', async () => {
    const bus = new MessageBus();
    const body = { items: [1, 2] };
    let received: unknown;
    bus.subscribe('t', (m) => {
      received = m.body;
    });
    await bus.publish('t', { body });
    body.items.push(3);
    await bus.drain();
    expect(received).toEqual({ items: [1, 2] });
    expect(received).not.toBe(body);
    await expect(bus.publish('t', { body: { span: () => undefined } })).rejects.toThrow(
      'publish to "t": the message body must be plain data',
    );
    await expect(bus.publish('t', { headers: { n: 1 as unknown as string }, body: 1 })).rejects.toThrow(
      BUS_MESSAGES.badHeader('t', 'n', 1),
    );
    expect(bus.published).toHaveLength(1);
  });

  it('logs every accepted message with its topic, headers and body, and tells the publisher its id', async () => {
    const bus = new MessageBus();
    const first = await bus.publish('payments', { headers: { traceparent: 'tp', 'x-id': '7' }, body: { amount: 3 } });
    const second = await bus.publish('nobody-listens', { body: null });
    expect([first, second]).toEqual(['1', '2']);
    expect(bus.published).toEqual([
      { id: '1', topic: 'payments', headers: { traceparent: 'tp', 'x-id': '7' }, body: { amount: 3 } },
      { id: '2', topic: 'nobody-listens', headers: {}, body: null },
    ]);
    await bus.drain();
  });
});

describe('MessageBus and trace context', () => {
  it("runs handlers in the root context: the publisher's active span is not their parent", async () => {
    const bus = new MessageBus();
    let active: Context | undefined;
    bus.subscribe('orders', () => {
      active = context.active();
      tracer.startSpan('process orders').end();
    });
    await tracer.startActiveSpan('publish orders', async (span) => {
      await bus.publish('orders', { body: 1 });
      span.end();
    });
    await bus.drain();
    expect(trace.getSpan(active ?? context.active())).toBeUndefined();
    const [publish, process] = ['publish orders', 'process orders'].map((name) => harness.spans().find((s) => s.name === name));
    expect(process?.parentSpanId).toBeUndefined();
    expect(process?.traceId).not.toBe(publish?.traceId);
  });

  it('joins the trace when the producer injects the context into the headers and the consumer extracts it', async () => {
    const bus = new MessageBus<{ orders: { id: string } }>();
    bus.subscribe('orders', (message: BusMessage<{ id: string }>) => {
      const parent = propagation.extract(context.active(), message.headers);
      tracer.startSpan('process orders', {}, parent).end();
    });
    await tracer.startActiveSpan('publish orders', async (span) => {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      await bus.publish('orders', { headers, body: { id: 'o-9' } });
      span.end();
    });
    await bus.drain();
    const publish = harness.spans().find((s) => s.name === 'publish orders');
    const process = harness.spans().find((s) => s.name === 'process orders');
    expect(bus.published[0]?.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(process?.traceId).toBe(publish?.traceId);
    expect(process?.parentSpanId).toBe(publish?.spanId);
  });
});

describe('MessageBus.drain', () => {
  it('waits for chains of messages that handlers publish, and for async handlers to settle', async () => {
    const bus = new MessageBus<{ step: number; done: number }>();
    const finished: number[] = [];
    bus.subscribe('step', async (m) => {
      await nextTurn();
      if (m.body < 5) await bus.publish('step', { body: m.body + 1 });
      else await bus.publish('done', { body: m.body });
    });
    bus.subscribe('done', async (m) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      finished.push(m.body);
    });
    await bus.publish('step', { body: 1 });
    await bus.drain();
    expect(finished).toEqual([5]);
    expect(bus.published.map((m) => `${m.topic}:${String(m.body)}`)).toEqual([
      'step:1', 'step:2', 'step:3', 'step:4', 'step:5', 'done:5',
    ]);
  });

  it('resolves at once on an idle bus, and catches a publish made just before it', async () => {
    const bus = new MessageBus();
    await bus.drain();
    let got = false;
    bus.subscribe('t', () => {
      got = true;
    });
    void Promise.resolve().then(() => bus.publish('t', { body: 1 }));
    await bus.drain();
    expect(got).toBe(true);
  });

  it('gives up on handlers that publish to each other forever, and halts the bus', async () => {
    const bus = new MessageBus();
    bus.subscribe('ping', () => bus.publish('pong', { body: 1 }));
    bus.subscribe('pong', () => bus.publish('ping', { body: 1 }));
    await bus.publish('ping', { body: 0 });
    await expect(bus.drain({ maxMessages: 50 })).rejects.toThrow(BUS_MESSAGES.runaway(50));
    const count = bus.published.length;
    await nextTurn();
    await nextTurn();
    expect(bus.published.length, 'nothing more is delivered after the halt').toBe(count);
    await expect(bus.publish('ping', { body: 2 })).rejects.toThrow(BUS_MESSAGES.halted);
  });
});

describe('MessageBus failures', () => {
  it('records a throwing or rejecting handler and keeps delivering to the others', async () => {
    const bus = new MessageBus();
    const got: string[] = [];
    bus.subscribe('t', function inventory() {
      throw new Error('out of stock');
    });
    bus.subscribe('t', async () => {
      await nextTurn();
      throw new Error('card declined');
    }, { name: 'payment' });
    bus.subscribe('t', (m) => {
      got.push(m.id);
    });
    await bus.publish('t', { body: 1 });
    await bus.publish('t', { body: 2 });
    await bus.drain();
    expect(got).toEqual(['1', '2']);
    expect(bus.failures.map((f) => `${f.handler} ${f.messageId} ${f.topic} ${(f.error as Error).message}`).sort()).toEqual([
      'inventory 1 t out of stock',
      'inventory 2 t out of stock',
      'payment 1 t card declined',
      'payment 2 t card declined',
    ]);
  });
});
