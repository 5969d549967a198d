import { beforeEach, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import type { Channel as AmqplibChannel } from 'amqplib';
import { BROKER_MESSAGES, InMemoryBroker, type BrokerChannel, type ConsumeMessage } from '../../src/kit/index.ts';
import { traceHarness } from '../../src/trace/harness.ts';

const harness = traceHarness();
beforeEach(() => harness.reset());

const QUORUM = { 'x-queue-type': 'quorum' };
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const body = (message: { content: Buffer }): unknown => JSON.parse(message.content.toString());

// Code written against the kit's channel type accepts a real amqplib channel: the API is the same.
export function acceptsARealChannel(channel: AmqplibChannel): BrokerChannel {
  return channel;
}

async function setup(options: Parameters<BrokerChannel['assertQueue']>[1] = {}) {
  const broker = new InMemoryBroker();
  const channel = await broker.createChannel();
  await channel.assertQueue('work', options);
  return { broker, channel };
}

describe('InMemoryBroker delivery', () => {
  it('delivers later, on another turn, in the root context, with the properties and headers that were published', async () => {
    const { broker, channel } = await setup();
    const seen: ConsumeMessage[] = [];
    let active: unknown = 'not called';
    await channel.consume('work', (message) => {
      if (!message) return;
      active = trace.getSpan(context.active());
      seen.push(message);
      channel.ack(message);
    });
    const tracer = trace.getTracer('test');
    tracer.startActiveSpan('publisher', (span) => {
      channel.sendToQueue('work', json({ n: 1 }), { messageId: 'm-1', headers: { traceparent: 'abc' }, contentType: 'application/json' });
      span.end();
    });
    expect(seen, 'nothing is delivered during sendToQueue').toEqual([]);
    await broker.drain();
    expect(seen).toHaveLength(1);
    const [message] = seen as [ConsumeMessage];
    expect(body(message)).toEqual({ n: 1 });
    expect(message.properties).toMatchObject({ messageId: 'm-1', contentType: 'application/json', headers: { traceparent: 'abc' } });
    expect(message.fields).toMatchObject({ deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'work' });
    expect(typeof message.fields.consumerTag).toBe('string');
    expect(active, 'the consumer runs with no active span').toBeUndefined();
    expect(broker.deliveries).toEqual([expect.objectContaining({ queue: 'work', messageId: 'm-1', attempt: 1, settlement: 'ack', redelivered: false })]);
    expect(broker.queueInfo('work')).toMatchObject({ ready: 0, unacked: 0, consumers: 1 });
  });

  it('keeps a delivered message unacknowledged until the consumer settles it', async () => {
    const { broker, channel } = await setup();
    const held: ConsumeMessage[] = [];
    await channel.consume('work', (message) => void (message && held.push(message)));
    channel.sendToQueue('work', json('a'), { messageId: 'a' });
    await expect(broker.drain({ timeoutMs: 30 })).rejects.toThrow(/still neither acknowledged nor rejected.*"a"/);
    expect(broker.queueInfo('work')).toMatchObject({ ready: 0, unacked: 1 });
    channel.ack(held[0] as ConsumeMessage);
    await broker.drain();
    expect(broker.queueInfo('work')).toMatchObject({ ready: 0, unacked: 0 });
  });

  it('drain waits as long as deliveries keep being settled: its time limit is for standing still', async () => {
    const { broker, channel } = await setup();
    await channel.prefetch(1);
    await channel.consume('work', (message) => {
      if (message) setTimeout(() => channel.ack(message), 25);
    });
    for (let i = 0; i < 5; i++) channel.sendToQueue('work', json(i));
    const started = performance.now();
    await broker.drain({ timeoutMs: 60 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(60);
    expect(broker.deliveries.map((d) => d.settlement)).toEqual(['ack', 'ack', 'ack', 'ack', 'ack']);
  });

  it('nack with requeue puts the message back, redelivered; a classic queue does not count, a quorum queue does', async () => {
    for (const [options, counts] of [
      [{}, [undefined, undefined, undefined]],
      [{ arguments: QUORUM }, [undefined, 1, 2]],
    ] as const) {
      const { broker, channel } = await setup(options);
      const seen: { redelivered: boolean; count: unknown }[] = [];
      await channel.consume('work', (message) => {
        if (!message) return;
        seen.push({ redelivered: message.fields.redelivered, count: message.properties.headers?.['x-delivery-count'] });
        if (seen.length < 3) channel.nack(message);
        else channel.ack(message);
      });
      channel.sendToQueue('work', json('x'), { messageId: 'x' });
      await broker.drain();
      expect(seen).toEqual([
        { redelivered: false, count: counts[0] },
        { redelivered: true, count: counts[1] },
        { redelivered: true, count: counts[2] },
      ]);
      expect(broker.deliveries.map((d) => [d.attempt, d.settlement])).toEqual([
        [1, 'requeue'],
        [2, 'requeue'],
        [3, 'ack'],
      ]);
    }
  });

  it('nack without requeue dead-letters through the dead-letter exchange, keeping the headers and adding x-death', async () => {
    const broker = new InMemoryBroker();
    const channel = await broker.createChannel();
    await channel.assertQueue('work', { deadLetterExchange: '', deadLetterRoutingKey: 'work.dead', arguments: QUORUM });
    await channel.assertQueue('work.dead');
    await channel.consume('work', (message) => message && channel.nack(message, false, false));
    channel.sendToQueue('work', json({ poison: true }), { messageId: 'p', headers: { traceparent: 'tp' } });
    await broker.drain();
    expect(broker.deliveries.map((d) => d.settlement)).toEqual(['dead_letter']);
    const [dead] = broker.messages('work.dead');
    expect(body(dead as { content: Buffer })).toEqual({ poison: true });
    expect(dead?.properties.messageId).toBe('p');
    expect(dead?.properties.headers).toMatchObject({
      traceparent: 'tp',
      'x-first-death-queue': 'work',
      'x-first-death-reason': 'rejected',
      'x-death': [expect.objectContaining({ count: 1, reason: 'rejected', queue: 'work', 'routing-keys': ['work'] })],
    });
    expect(broker.messages('work')).toEqual([]);
  });

  it('drops a rejected message when the queue has no dead-letter exchange, and a message sent to a queue nobody declared', async () => {
    const { broker, channel } = await setup();
    await channel.consume('work', (message) => message && channel.nack(message, false, false));
    channel.sendToQueue('work', json(1), { messageId: 'gone' });
    channel.sendToQueue('nowhere', json(2), { messageId: 'lost' });
    await broker.drain();
    expect(broker.deliveries.map((d) => d.settlement)).toEqual(['drop']);
    expect(broker.unroutable.map((p) => p.messageId)).toEqual(['lost']);
  });

  it('x-delivery-limit dead-letters a message returned more times than the limit', async () => {
    const broker = new InMemoryBroker();
    const channel = await broker.createChannel();
    await channel.assertQueue('work', { deadLetterExchange: '', deadLetterRoutingKey: 'dlq', arguments: { ...QUORUM, 'x-delivery-limit': 2 } });
    await channel.assertQueue('dlq');
    await channel.consume('work', (message) => message && channel.nack(message));
    channel.sendToQueue('work', json(1), { messageId: 'm' });
    await broker.drain();
    expect(broker.deliveries.map((d) => d.settlement)).toEqual(['requeue', 'requeue', 'dead_letter']);
    expect(broker.messages('dlq')[0]?.properties.headers?.['x-first-death-reason']).toBe('delivery_limit');
  });

  it('settling a delivery twice is a channel error: the channel closes, its unacked messages go back, later calls throw', async () => {
    const broker = new InMemoryBroker();
    const first = await broker.createChannel();
    const second = await broker.createChannel();
    await first.assertQueue('work');
    const errors: Error[] = [];
    first.on('error', (error: Error) => errors.push(error));
    let held: ConsumeMessage | undefined;
    await first.consume('work', (message) => {
      if (!message) return;
      if (body(message) === 'double') {
        first.ack(message);
        first.ack(message);
      } else {
        held = message;
      }
    });
    first.sendToQueue('work', json('held'), { messageId: 'held' });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(held).toBeDefined();
    first.sendToQueue('work', json('double'), { messageId: 'double' });
    const redelivered: ConsumeMessage[] = [];
    await second.consume('work', (message) => {
      if (!message) return;
      redelivered.push(message);
      second.ack(message);
    });
    await broker.drain();
    expect(broker.channelErrors).toEqual([{ channel: 1, code: 406, message: BROKER_MESSAGES.unknownTag(2) }]);
    expect(errors[0]?.message).toContain('PRECONDITION_FAILED - unknown delivery tag 2');
    expect(redelivered.map((m) => [m.properties.messageId, m.fields.redelivered])).toEqual([['held', true]]);
    expect(() => first.ack(held as ConsumeMessage)).toThrow(BROKER_MESSAGES.channelClosed);
    expect(() => first.sendToQueue('work', json(1))).toThrow(BROKER_MESSAGES.channelClosed);
    expect(broker.deliveries.find((d) => d.messageId === 'held')?.settlement).toBe('returned');
  });

  it('noAck settles at delivery: a failure afterwards cannot bring the message back', async () => {
    const { broker, channel } = await setup({ deadLetterExchange: '' });
    await channel.consume('work', () => undefined, { noAck: true });
    channel.sendToQueue('work', json(1), { messageId: 'm' });
    await broker.drain();
    expect(broker.deliveries.map((d) => d.settlement)).toEqual(['auto_ack']);
    expect(broker.queueInfo('work')).toMatchObject({ ready: 0, unacked: 0 });
  });

  it('spreads deliveries over consumers round-robin and respects prefetch', async () => {
    const { broker, channel } = await setup();
    await channel.prefetch(1);
    const got: string[] = [];
    const pending: ConsumeMessage[] = [];
    for (const name of ['a', 'b']) {
      await channel.consume('work', (message) => {
        if (!message) return;
        got.push(`${name}:${String(body(message))}`);
        pending.push(message);
      });
    }
    for (let i = 1; i <= 4; i++) channel.sendToQueue('work', json(i));
    await expect(broker.drain({ timeoutMs: 30 })).rejects.toThrow();
    expect(got, 'one unacked message per consumer').toEqual(['a:1', 'b:2']);
    while (pending.length > 0) {
      channel.ack(pending.shift() as ConsumeMessage);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await broker.drain();
    expect(got.sort()).toEqual(['a:1', 'a:3', 'b:2', 'b:4']);
  });

  it('routes through direct, fanout and topic exchanges', async () => {
    const broker = new InMemoryBroker();
    const channel = await broker.createChannel();
    for (const q of ['q1', 'q2', 'q3']) await channel.assertQueue(q);
    await channel.assertExchange('direct', 'direct');
    await channel.assertExchange('fan', 'fanout');
    await channel.assertExchange('topic', 'topic');
    await channel.bindQueue('q1', 'direct', 'red');
    await channel.bindQueue('q1', 'fan', '');
    await channel.bindQueue('q2', 'fan', '');
    await channel.bindQueue('q3', 'topic', 'orders.*.eu');
    await channel.bindQueue('q2', 'topic', 'orders.#');
    channel.publish('direct', 'red', json('r'));
    channel.publish('direct', 'blue', json('b'));
    channel.publish('fan', 'whatever', json('f'));
    channel.publish('topic', 'orders.paid.eu', json('t1'));
    channel.publish('topic', 'orders', json('t2'));
    expect(broker.published.map((p) => p.queues)).toEqual([['q1'], [], ['q1', 'q2'], ['q3', 'q2'], ['q2']]);
  });

  it('refuses what RabbitMQ refuses: an inequivalent redeclaration, a non-durable quorum queue, a missing queue', async () => {
    const broker = new InMemoryBroker();
    const channel = await broker.createChannel();
    await channel.assertQueue('work', { deadLetterExchange: '' });
    await expect(channel.assertQueue('work')).rejects.toThrow(/PRECONDITION_FAILED - inequivalent arg 'x-dead-letter-exchange'/);
    expect(() => channel.sendToQueue('work', json(1))).toThrow(BROKER_MESSAGES.channelClosed);
    const other = await broker.createChannel();
    await expect(other.assertQueue('q', { durable: false, arguments: QUORUM })).rejects.toThrow(/quorum queue is durable/);
    const third = await broker.createChannel();
    await expect(third.consume('missing', () => undefined)).rejects.toThrow(/NOT_FOUND - no queue 'missing'/);
  });

  it('halts on a message requeued without end, and drain says which', async () => {
    const broker = new InMemoryBroker({ redeliveryLimit: 10 });
    const channel = await broker.createChannel();
    await channel.assertQueue('work');
    await channel.consume('work', (message) => message && channel.nack(message));
    channel.sendToQueue('work', json(1), { messageId: 'poison' });
    await expect(broker.drain()).rejects.toThrow(/"poison" on queue "work" was delivered 10 times/);
    expect(broker.deliveries).toHaveLength(10);
  });

  it('get fetches one message, and false when the queue is empty', async () => {
    const { channel } = await setup();
    channel.sendToQueue('work', json('one'), { messageId: '1' });
    const message = await channel.get('work');
    expect(message && body(message)).toBe('one');
    expect(message && message.fields.messageCount).toBe(0);
    if (message) channel.ack(message);
    expect(await channel.get('work')).toBe(false);
  });
});
