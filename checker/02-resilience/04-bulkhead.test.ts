import { it } from 'vitest';
import { random, useTracing, verify } from '#checks';
import { ATTR_BULKHEAD_QUEUE_WAIT_MS, Bulkhead, BulkheadFullError } from '#target/02-resilience/04-bulkhead/bulkhead.ts';
import { expectCallTraces, model, QUEUE_WAIT, setup, type Target } from './04-bulkhead.rig.ts';

const otel = useTracing();
const target: Target = { Bulkhead, BulkheadFullError, otel };

// Every check sends calls through a bulkhead and compares each step with a model of the three
// rules (at most maxConcurrent run, maxQueue more wait in arrival order, the rest are rejected at
// once): see 04-bulkhead.rig.ts. Each call's work is finished by the check, in random order.

it('runs at most maxConcurrent calls, queues maxQueue more in arrival order, and rejects the rest at once', async () => {
  const maxConcurrent = random.int(1, 4);
  const maxQueue = random.int(1, 4);
  const t = setup(target, maxConcurrent, maxQueue);
  const m = model(t);
  const burst = maxConcurrent + maxQueue + random.int(1, 4);
  for (let i = 0; i < burst; i++) await m.arrive();
  await t.clock.advance(random.int(1, 500));
  await m.drain();
  verify(t.probe.maxInFlight, `the most calls that ran at once, with maxConcurrent=${maxConcurrent} and ${burst} callers`).is(maxConcurrent);
});

it('with no queue (maxQueue 0), rejects every call that finds the slots busy', async () => {
  const t = setup(target, random.int(1, 3), 0);
  const m = model(t);
  for (let i = 0; i < t.maxConcurrent + random.int(1, 3); i++) await m.arrive();
  await m.complete(1);
  await m.arrive();
  await m.drain();
});

it('hands a freed slot straight to the oldest waiter: a call that arrives just after a completion does not jump the queue', async () => {
  const t = setup(target, random.int(1, 3), random.int(2, 4));
  const m = model(t);
  for (let i = 0; i < t.maxConcurrent + 1; i++) await m.arrive();
  // Whichever microtask the newcomer arrives on, after the completion, it waits behind the waiter.
  for (let ticks = 0; ticks <= 30; ticks++) {
    await m.handOver(ticks, Math.random() < 0.3);
    if (Math.random() < 0.3) await t.clock.advance(random.int(1, 50));
  }
  await m.drain();
});

it('follows the rules under random workloads: arrivals, completions in any order, failures and time passing', async () => {
  for (let round = 0; round < 4; round++) {
    const t = setup(target, random.int(1, 4), random.int(0, 4));
    const m = model(t);
    const steps = random.int(20, 40);
    for (let step = 0; step < steps; step++) {
      const roll = Math.random();
      if (roll < 0.5) await m.arrive();
      else if (roll < 0.8 && m.running > 0) await m.complete(random.int(1, Math.min(3, m.running)));
      else await t.clock.advance(random.int(1, 300));
    }
    await m.drain();
    verify(t.probe.maxInFlight, 'the most calls that ran at once').is(m.most);
  }
});

it('frees the slot of a call whose work fails, for the next call in the queue', async () => {
  const t = setup(target, random.int(1, 3), 2);
  const m = model(t);
  for (let i = 0; i < t.maxConcurrent + 2; i++) await m.arrive();
  await t.clock.advance(random.int(1, 100));
  while (m.running > 0) await m.complete(m.running, 1);
  verify(t.probe.started, 'the calls that ran once the failed calls gave their slots back').hasCount(t.maxConcurrent + 2, 'call');
  for (let i = 0; i < t.maxConcurrent; i++) await m.arrive();
  verify(t.probe.inFlight, `after only failures, every slot is free again: the calls running out of ${t.maxConcurrent} new ones`).is(t.maxConcurrent);
  await m.drain();
});

it('traces a call that runs at once: a span under the caller, the work as its child, no queue wait', async () => {
  const t = setup(target, random.int(1, 4), 1);
  const m = model(t);
  for (let i = 0; i < t.maxConcurrent; i++) await m.arrive();
  await t.clock.advance(random.int(1, 300));
  while (m.running > 0) await m.complete(1, 0);
  expectCallTraces(t, m.fates);
});

it('traces a queued call with app.bulkhead.queue_wait_ms, its wait from arrival to start on the clock, 0 included', async () => {
  const t = setup(target, random.int(1, 3), random.int(2, 4));
  const m = model(t);
  for (let i = 0; i < t.maxConcurrent; i++) await m.arrive();
  // The first waiter gets a slot that frees before the clock moves: it waited 0 ms, and says so.
  await m.arrive();
  await m.complete(1, 0);
  for (let i = 1; i < t.maxQueue; i++) {
    await t.clock.advance(random.int(1, 200));
    await m.arrive();
  }
  while (m.running > 0) {
    await t.clock.advance(random.pick([0, random.int(1, 300)]));
    await m.complete(1, 0);
  }
  expectCallTraces(t, m.fates);
  verify(ATTR_BULKHEAD_QUEUE_WAIT_MS, 'the exported constant ATTR_BULKHEAD_QUEUE_WAIT_MS').is(QUEUE_WAIT);
});

it('traces a rejected call as an ERROR span with error.type "bulkhead_full" and no work under it', async () => {
  const t = setup(target, random.int(1, 3), random.int(0, 2));
  const m = model(t);
  for (let i = 0; i < t.maxConcurrent + t.maxQueue + random.int(1, 3); i++) await m.arrive();
  await t.clock.advance(random.int(1, 300));
  while (m.running > 0) await m.complete(1, 0);
  expectCallTraces(t, m.fates);
});

it('traces a call whose work fails as ERROR with error.type = the error\'s name and an exception event', async () => {
  const maxConcurrent = random.int(1, 3);
  const t = setup(target, maxConcurrent, maxConcurrent);
  const m = model(t);
  for (let i = 0; i < maxConcurrent * 2; i++) await m.arrive();
  await t.clock.advance(random.int(1, 100));
  await m.complete(maxConcurrent, 1);
  while (m.running > 0) await m.complete(1, 0.5);
  expectCallTraces(t, m.fates);
});

it('traces every call of a random workload as the contract says', async () => {
  const t = setup(target, random.int(1, 4), random.int(0, 4));
  const m = model(t);
  for (let step = 0; step < 40; step++) {
    const roll = Math.random();
    if (roll < 0.5) await m.arrive();
    else if (roll < 0.8 && m.running > 0) await m.complete(random.int(1, Math.min(3, m.running)));
    else await t.clock.advance(random.int(1, 300));
  }
  await m.drain();
  expectCallTraces(t, m.fates);
});
