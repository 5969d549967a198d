/*
 * The rig of the log-correlation checks: a destination that keeps what the learner's logger writes,
 * the lines parsed as JSON, a payment provider whose answers the checks plan (and release in an
 * order they choose), and the README's rules for the trace fields of a line.
 */
import { fail, random, show, type SpanNode } from '#checks';
import { deferred, type Deferred } from '#kit';
import type { ChargeResult, Order, Payments } from '#target/06-pipeline/05-log-correlation/orders.ts';

export const TRACE_KEYS = ['trace_id', 'span_id', 'trace_flags'] as const;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

export type LogLine = Record<string, unknown> & { msg?: unknown; level?: unknown };

/** Where the learner's logger writes: every chunk kept, read back as JSON lines. */
export class LogCapture {
  private text = '';

  /** pino calls this once per line, synchronously. */
  write(chunk: string): void {
    this.text += chunk;
  }

  /** Every line written so far, parsed; a line that is not JSON fails the check in words. */
  lines(): LogLine[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        try {
          const parsed: unknown = JSON.parse(line);
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
          return parsed as LogLine;
        } catch {
          return fail(`line ${i + 1} the logger wrote is not a JSON object: ${show(line)}. Structured logs are one JSON object per line, as pino writes them`);
        }
      });
  }
}

/** The one line whose msg is `msg`, failing in words when there is none or several. */
export function lineWith(lines: readonly LogLine[], msg: string, where: string): LogLine {
  const found = lines.filter((line) => line.msg === msg);
  if (found.length === 1) return found[0] as LogLine;
  if (found.length === 0) {
    fail(`no line with msg ${show(msg)} reached the logger's destination (${where}); it received ${describeLines(lines)}`);
  }
  return fail(`${found.length} lines have msg ${show(msg)} (${where}), expected one`);
}

export function describeLines(lines: readonly LogLine[]): string {
  if (lines.length === 0) return 'no line at all: does createLogger write to the destination it is given?';
  const shown = lines.slice(-4).map((line) => show(line.msg));
  return `${lines.length === 1 ? '1 line' : `${lines.length} lines`}, with msg ${lines.length > 4 ? '…, ' : ''}${shown.join(', ')}`;
}

/** pino's levels by number, and by label for a logger that prints labels. */
const LEVELS: Record<string, number[] | string[]> = { info: [30], warn: [40], error: [50] };
const LABELS: Record<string, number> = { info: 30, warn: 40, error: 50 };

export function verifyLevel(line: LogLine, level: 'info' | 'warn' | 'error', what: string): void {
  const value = line.level;
  const ok = value === LABELS[level] || value === level;
  if (!ok) fail(`the level of ${what} is ${show(value)}, expected ${level} (${(LEVELS[level] as number[])[0]})`);
}

/** The trace fields a line should carry when it was written in `span`. */
export function expectedFields(span: { traceId: string; spanId: string }, flags = '01'): Record<string, string> {
  return { trace_id: span.traceId, span_id: span.spanId, trace_flags: flags };
}

/** Fails unless the line carries exactly these trace fields, saying which rule it broke. */
export function verifyTraceFields(line: LogLine, expected: Record<string, string>, what: string, spans: readonly SpanNode[] = []): void {
  const camel = ['traceId', 'spanId', 'traceFlags'].filter((key) => key in line);
  if (camel.length > 0 && !('trace_id' in line)) {
    fail(`${what} carries ${camel.join(', ')}: the fields are named trace_id, span_id and trace_flags, the names OpenTelemetry gives them in logs (and the names a backend looks for to join a line to its trace)`);
  }
  const flags = line.trace_flags;
  if (typeof flags === 'number') fail(`${what} has trace_flags=${flags}, a number: the flags are two hex digits in a string, ${show(expected.trace_flags)}`);
  for (const key of TRACE_KEYS) {
    if (line[key] === expected[key]) continue;
    if (line[key] === undefined) fail(`${what} has no ${key}, expected ${show(expected[key])}: every line written inside a span carries the trace_id, span_id and trace_flags of the span active at that moment`);
    if (key === 'span_id') {
      const named = spans.find((span) => span.spanId === line[key]);
      fail(`${what} has span_id=${show(line[key])}${named ? `, the span "${named.name}"` : ''}, expected ${show(expected[key])}: a line names the span active when it was written, not one captured before`);
    }
    if (key === 'trace_flags') {
      fail(`${what} has trace_flags=${show(line[key])}, expected ${show(expected[key])}: the flags say whether the trace was sampled ("01") or not ("00"); read them from the span context, never assume`);
    }
    fail(`${what} has ${key}=${show(line[key])}, expected ${show(expected[key])}`);
  }
}

/** Fails if the line carries any trace field: outside a span there is no trace to name. */
export function verifyNoTraceFields(line: LogLine, what: string): void {
  const present = [...TRACE_KEYS, 'traceId', 'spanId', 'traceFlags'].filter((key) => line[key] !== undefined);
  if (present.length === 0) return;
  const zeros = present.some((key) => typeof line[key] === 'string' && /^0+$/.test(line[key] as string) && key !== 'trace_flags' && key !== 'traceFlags');
  fail(
    `${what} was written outside any span, yet it has ${present.map((key) => `${key}=${show(line[key])}`).join(', ')}` +
      (zeros
        ? ': all zeros is the invalid span context, a trace that does not exist; outside a span, leave the trace fields out'
        : ': outside a span there is no trace to name; trace fields computed once, when the logger was made, name a span that is long gone'),
  );
}

/** Fails unless the line's trace fields are well formed (32 and 16 lowercase hex digits). */
export function verifyFieldFormat(line: LogLine, what: string): void {
  if (typeof line.trace_id !== 'string' || !TRACE_ID.test(line.trace_id)) fail(`${what} has trace_id=${show(line.trace_id)}, expected 32 lowercase hex digits`);
  if (typeof line.span_id !== 'string' || !SPAN_ID.test(line.span_id)) fail(`${what} has span_id=${show(line.span_id)}, expected 16 lowercase hex digits`);
}

// ---- orders and the payment provider ----------------------------------------------------------

export type Plan = 'approved' | 'declined' | 'unreachable';

export class ProviderUnreachableError extends Error {
  override name = 'ProviderUnreachableError';
}

export interface PlannedOrder {
  order: Order;
  plan: Plan;
  reason: string;
  message: string;
}

export function plannedOrder(plan: Plan): PlannedOrder {
  return {
    order: { id: `ord-${random.word(4)}${random.int(1000, 9999)}`, customerId: `cust-${random.word(5)}`, amountCents: random.int(100, 99_999) },
    plan,
    reason: random.pick(['insufficient_funds', 'card_declined', 'expired_card', `do_not_honor_${random.int(1, 99)}`]),
    message: `connect ECONNREFUSED 10.0.${random.int(0, 255)}.${random.int(1, 254)}:443`,
  };
}

/** A provider that answers each order as planned, when the check releases it (at once unless held). */
export class PlannedPayments implements Payments {
  private readonly plans = new Map<string, PlannedOrder>();
  private readonly gates = new Map<string, Deferred<void>>();
  readonly charged: string[] = [];

  constructor(
    orders: readonly PlannedOrder[],
    private readonly hold = false,
  ) {
    for (const planned of orders) {
      this.plans.set(planned.order.id, planned);
      this.gates.set(planned.order.id, deferred());
    }
  }

  async charge(order: Order): Promise<ChargeResult> {
    this.charged.push(order.id);
    const planned = this.plans.get(order.id);
    if (!planned) throw new Error(`the checks planned no payment for order ${order.id}`);
    if (this.hold) await this.gates.get(order.id)?.promise;
    if (planned.plan === 'unreachable') throw new ProviderUnreachableError(planned.message);
    return planned.plan === 'approved' ? { approved: true } : { approved: false, reason: planned.reason };
  }

  /** Lets every held charge answer, in a random order, each on a later turn. */
  async releaseAll(): Promise<void> {
    for (const gate of random.shuffle([...this.gates.values()])) {
      gate.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** The lines a planned order writes, in order, with their level: the README's table. */
export function expectedLines(planned: PlannedOrder): { msg: string; level: 'info' | 'warn' | 'error'; span: 'process order' | 'charge' }[] {
  const last = {
    approved: { msg: 'order paid', level: 'info', span: 'process order' },
    declined: { msg: 'payment declined', level: 'warn', span: 'process order' },
    unreachable: { msg: 'payment failed', level: 'error', span: 'process order' },
  } as const;
  return [
    { msg: 'order received', level: 'info', span: 'process order' },
    { msg: 'charging card', level: 'info', span: 'charge' },
    last[planned.plan],
  ];
}
