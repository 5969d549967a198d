import { it } from 'vitest';
import { context, ROOT_CONTEXT, trace, TraceFlags, type Span } from '@opentelemetry/api';
import { fail, random, show, useTracing, verify } from '#checks';
import { createLogger } from '#target/06-pipeline/05-log-correlation/logger.ts';
import { createOrderWorker, type Outcome } from '#target/06-pipeline/05-log-correlation/orders.ts';
import {
  describeLines,
  expectedFields,
  expectedLines,
  LogCapture,
  lineWith,
  PlannedPayments,
  plannedOrder,
  verifyFieldFormat,
  verifyLevel,
  verifyNoTraceFields,
  verifyTraceFields,
  type LogLine,
  type Plan,
  type PlannedOrder,
} from './05-log-correlation.rig.ts';

const otel = useTracing();

const LEVELS = ['info', 'warn', 'error'] as const;
const OUTCOME: Record<Plan, Outcome> = { approved: 'paid', declined: 'declined', unreachable: 'failed' };

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const hex = (digits: number): string => Array.from({ length: digits }, () => random.pick([...'0123456789abcdef'])).join('');

/** Every plan once, and a few more at random, in a random order. */
function orders(): PlannedOrder[] {
  const plans: Plan[] = ['approved', 'declined', 'unreachable', ...Array.from({ length: random.int(1, 3) }, () => random.pick(['approved', 'declined', 'unreachable'] as const))];
  return random.shuffle(plans).map(plannedOrder);
}

// ---------------------------------------------------------------------------------------------
// The logger
// ---------------------------------------------------------------------------------------------

it('writes one JSON line per call to the destination it is given, from level info up, with its msg and level', () => {
  const capture = new LogCapture();
  const logger = createLogger(capture);
  const calls = Array.from({ length: random.int(3, 7) }, (_, i) => ({ level: i < 3 ? LEVELS[i] ?? 'info' : random.pick(LEVELS), msg: `${random.word()} ${random.word()} ${i}` }));
  for (const call of random.shuffle(calls)) logger[call.level](call.msg);
  const lines = capture.lines();
  const missing = calls.filter((call) => !lines.some((line) => line.msg === call.msg));
  if (missing.length > 0 && missing.every((call) => call.level === 'info')) {
    fail(`the ${missing.length === 1 ? 'line' : 'lines'} logged at info never reached the destination (${missing.map((c) => show(c.msg)).join(', ')}): the logger writes every line from level info up`);
  }
  verify(lines.length, `the lines at the destination after ${calls.length} calls (${describeLines(lines)})`).is(calls.length);
  for (const call of calls) verifyLevel(lineWith(lines, call.msg, `logger.${call.level}(${show(call.msg)})`), call.level, `the line ${show(call.msg)}`);
});

it('a line written inside a span carries that span\'s trace_id, span_id and trace_flags ("01"): in nested spans, across await, in spans running side by side', async () => {
  const capture = new LogCapture();
  const logger = createLogger(capture);
  const tracer = otel.tracer();
  const expected = new Map<string, { span: Span; where: string }>();
  let n = 0;
  const log = (span: Span, where: string): void => {
    const msg = `${random.word()} ${++n}`;
    expected.set(msg, { span, where });
    logger.info(msg);
  };
  // A random tree of spans: each logs when it starts, after awaiting its children, and at the end.
  const work = (name: string, depth: number): Promise<void> =>
    tracer.startActiveSpan(name, async (span) => {
      log(span, `at the start of "${name}"`);
      await turn();
      const children = depth === 0 ? 0 : random.int(1, 2);
      await Promise.all(Array.from({ length: children }, (_, i) => work(`${name}.${i + 1}`, depth - 1)));
      log(span, `in "${name}", after awaiting its children`);
      span.end();
    });
  await Promise.all([work(random.word(), random.int(1, 2)), work(random.word(), 2)]);
  const lines = capture.lines();
  const spans = otel.spans();
  for (const [msg, { span, where }] of expected) {
    verifyTraceFields(lineWith(lines, msg, where), expectedFields(span.spanContext()), `the line written ${where}`, spans);
  }
});

it('a line written outside any span carries no trace field: before, between and after spans, and in the root context inside one', async () => {
  const capture = new LogCapture();
  const tracer = otel.tracer();
  // Made inside a span: trace fields taken when the logger is made would show on every line.
  const logger = tracer.startActiveSpan('setup', (span) => {
    const made = createLogger(capture);
    span.end();
    return made;
  });
  const outside: { msg: string; where: string }[] = [];
  const log = (where: string): void => {
    const msg = `${random.word()} ${outside.length + 1}`;
    outside.push({ msg, where });
    logger.warn(msg);
  };
  log('before any span');
  await tracer.startActiveSpan('work', async (span) => {
    await turn();
    context.with(ROOT_CONTEXT, () => log('in the root context, inside a span'));
    span.end();
  });
  log('after a span ended');
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      log('in a timer set outside any span');
      resolve();
    }, 1),
  );
  const lines = capture.lines();
  for (const { msg, where } of outside) verifyNoTraceFields(lineWith(lines, msg, where), `the line ${show(msg)} (${where})`);
});

it('a trace that was not sampled: its lines carry its trace_id and trace_flags "00", read from the span context', async () => {
  const capture = new LogCapture();
  const logger = createLogger(capture);
  const caller = { traceId: hex(32), spanId: hex(16), traceFlags: TraceFlags.NONE, isRemote: true };
  const sampled = { traceId: hex(32), spanId: hex(16), traceFlags: TraceFlags.SAMPLED, isRemote: true };
  const planned = plannedOrder('approved');
  const worker = createOrderWorker({ logger, payments: new PlannedPayments([planned]) });
  await context.with(trace.setSpanContext(ROOT_CONTEXT, caller), async () => {
    logger.info('in the caller\'s unsampled context');
    await worker.process(planned.order);
  });
  context.with(trace.setSpanContext(ROOT_CONTEXT, sampled), () => logger.info('in the caller\'s sampled context'));
  const lines = capture.lines();
  verifyTraceFields(lineWith(lines, 'in the caller\'s unsampled context', 'in a context whose traceparent ended in -00'), expectedFields(caller, '00'), 'the line written in the unsampled caller\'s context');
  verifyTraceFields(lineWith(lines, 'in the caller\'s sampled context', 'in a context whose traceparent ended in -01'), expectedFields(sampled, '01'), 'the line written in the sampled caller\'s context');
  for (const line of lines.filter((l) => l['order_id'] === planned.order.id)) {
    const what = `the worker's line ${show(line.msg)} in the unsampled trace`;
    verify(line['trace_id'], `the trace_id of ${what} (the caller's trace, which nobody records)`).is(caller.traceId);
    verify(line['trace_flags'], `the trace_flags of ${what}: not sampled, so "00"`).is('00');
    verifyFieldFormat(line, what);
  }
});

// ---------------------------------------------------------------------------------------------
// The worker's lines
// ---------------------------------------------------------------------------------------------

it('the worker\'s lines are structured: a constant msg, the order in order_id, the details in fields, the level the README gives', async () => {
  const capture = new LogCapture();
  const logger = createLogger(capture);
  const planned = orders();
  const worker = createOrderWorker({ logger, payments: new PlannedPayments(planned) });
  for (const { order, plan } of planned) verify(await worker.process(order), `the outcome of an order whose payment is ${plan}`).is(OUTCOME[plan]);
  const lines = capture.lines();
  const ready = lineWith(lines, 'order worker ready', 'written by createOrderWorker');
  verifyLevel(ready, 'info', 'the "order worker ready" line');
  verifyNoTraceFields(ready, 'the "order worker ready" line (when the worker is made)');
  for (const p of planned) {
    const mine = lines.filter((line) => line['order_id'] === p.order.id);
    const expected = expectedLines(p);
    if (mine.length === 0) {
      const mentioned = lines.find((line) => typeof line.msg === 'string' && line.msg.includes(p.order.id));
      fail(
        mentioned
          ? `the order ${p.order.id} is in the text of ${show(mentioned.msg)}, not in a field: keep msg a constant (${show(expected[0]?.msg)}) and put the order in order_id, so a query for order_id="${p.order.id}" finds every line of it`
          : `no line has order_id=${show(p.order.id)} (${describeLines(lines)})`,
      );
    }
    verify(mine.map((line) => line.msg), `the msg of the lines with order_id=${show(p.order.id)} (payment ${p.plan}), in order`).equals(expected.map((e) => e.msg));
    mine.forEach((line, i) => verifyLevel(line, expected[i]?.level ?? 'info', `the line ${show(line.msg)} of order ${p.order.id}`));
    for (const msg of ['order received', 'charging card']) {
      verify(mine.find((line) => line.msg === msg)?.['amount_cents'], `amount_cents on the line ${show(msg)} of order ${p.order.id}`).is(p.order.amountCents);
    }
    if (p.plan === 'declined') verify(mine.at(-1)?.['reason'], `reason on the "payment declined" line of order ${p.order.id}`).is(p.reason);
    if (p.plan === 'unreachable') {
      const line = mine.at(-1) as LogLine;
      const err = line['err'] as Record<string, unknown> | undefined;
      if (err === undefined || typeof err !== 'object') {
        fail(`the "payment failed" line of order ${p.order.id} has no err field (it has ${Object.keys(line).filter((k) => !['level', 'time', 'pid', 'hostname', 'msg'].includes(k)).join(', ')}): log the error as { err: error }, which pino serializes with its type, message and stack`);
      }
      verify(err['message'], `err.message on the "payment failed" line of order ${p.order.id}`).is(p.message);
      verify(err['type'], `err.type on the "payment failed" line of order ${p.order.id}`).is('ProviderUnreachableError');
    }
  }
});

it('joins every worker line to the span it was written in: "charging card" to its order\'s charge span, the others to its process order span, the failure to an ERROR span; orders side by side', async () => {
  const capture = new LogCapture();
  const logger = createLogger(capture);
  const planned = orders();
  const payments = new PlannedPayments(planned, true);
  const worker = createOrderWorker({ logger, payments });
  const tracer = otel.tracer();
  // Half the orders in a request of the checker's, the others at the root; all at the same time.
  const underParent = new Set(random.sample(planned, Math.ceil(planned.length / 2)).map((p) => p.order.id));
  const running = planned.map(({ order }) =>
    underParent.has(order.id) ? tracer.startActiveSpan('checker request', (span) => worker.process(order).finally(() => span.end())) : worker.process(order),
  );
  for (let i = 0; i < 200 && payments.charged.length < planned.length; i++) await turn();
  verify(payments.charged.length, 'the orders charged while all of them are in flight').is(planned.length);
  await payments.releaseAll();
  await Promise.all(running);
  await otel.settled();
  const lines = capture.lines();
  const spans = otel.spans();
  for (const p of planned) {
    for (const { msg, span: spanName } of expectedLines(p)) {
      const line = lines.find((l) => l['order_id'] === p.order.id && l.msg === msg);
      if (!line) fail(`no line with order_id=${show(p.order.id)} and msg ${show(msg)} (${describeLines(lines)})`);
      const what = `the line ${show(msg)} of order ${p.order.id}${underParent.has(p.order.id) ? ' (processed inside a request)' : ''}`;
      const expected = spans.find((s) => s.name === spanName && s.attributes['app.order.id'] === p.order.id);
      if (!expected) fail(`no "${spanName}" span with app.order.id=${show(p.order.id)} was recorded: the worker's spans are given in orders.ts, keep them as they are`);
      verifyTraceFields(line, expectedFields(expected), `${what}, which belongs in its "${spanName}" span,`, spans);
      const named = spans.find((s) => s.spanId === line['span_id']) ?? expected;
      verify(named.traceId, `the trace of the span ${what} names`).is(line['trace_id'] as string);
      if (msg === 'payment failed') verify(named.status, `the status of the span ${what} names: the error line leads to the span that failed`).is('error');
    }
  }
});
