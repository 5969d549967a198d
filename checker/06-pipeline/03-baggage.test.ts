import { it } from 'vitest';
import fc from 'fast-check';
import { context, propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { absent, expectThat, expectTrace, fail, holds, random, show, useSpanRecorder, useTracing, verify, type SpanNode, type SpanShape } from '#checks';
import { BaggageSpanProcessor } from '#target/06-pipeline/03-baggage/baggage-span-processor.ts';
import { startGateway } from '#target/06-pipeline/03-baggage/gateway.ts';
import { startOrders } from '#target/06-pipeline/03-baggage/orders.ts';
import { createTracerProvider } from '#target/06-pipeline/03-baggage/telemetry.ts';
import { baggageEntries, callers, CHARGES, CHECKOUT, checkout, ORDERS, startServices, type Caller, type Services } from './03-baggage.rig.ts';

const otel = useTracing();
const recorder = useSpanRecorder();
const learner = { createTracerProvider, startGateway, startOrders };

const TENANT = 'app.tenant.id';
const USER = 'app.user.id';

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('a checkout is placed for the tenant and the user the gateway was told, for several callers at once', async () => {
  const services = await startServices(learner, recorder.exporter);
  const many = callers(random.int(3, 5));
  const replies = await Promise.all(many.map((caller) => checkout(services, caller)));
  many.forEach((caller, i) => {
    const reply = replies[i];
    const who = `the answer to a checkout of ${caller.quantity} × ${caller.sku} for tenant ${caller.tenant}, user ${caller.user}`;
    verify(reply?.status, `the status of ${who} (the orders service reads both from the baggage; it answers 400 when the baggage names neither)`).is(201);
    verify(pick(reply?.body ?? {}, ['tenant', 'placedBy', 'sku', 'quantity']), who).equals({ tenant: caller.tenant, placedBy: caller.user, sku: caller.sku, quantity: caller.quantity });
    const charged = services.thirdParty.find((call) => call.orderId === reply?.body['orderId']);
    verify(reply?.body['chargeId'], `the "chargeId" in ${who} (the one the payment provider gave for order ${show(reply?.body['orderId'])})`).is(charged?.chargeId);
  });
});

it('the payment provider, a third party, receives no baggage: neither the tenant nor the user', async () => {
  const services = await startServices(learner, recorder.exporter);
  const many = callers(random.int(2, 3));
  await Promise.all(many.map((caller) => checkout(services, caller)));
  verify(services.thirdParty.length, `the calls the payment provider received for ${many.length} checkouts`).hasCount(many.length, 'call');
  for (const call of services.thirdParty) {
    const entries = baggageEntries(call.headers['baggage']);
    verify(entries, `the entries of the baggage header the payment provider received (the baggage stays inside the trust boundary: remove it from the context the call is injected from)`).equals([]);
    const leaked = Object.entries(call.headers).filter(([, value]) => many.some((caller) => value.includes(caller.tenant) || value.includes(caller.user)));
    verify(leaked.map(([key]) => key), 'the headers sent to the payment provider that carry a tenant or a user id').equals([]);
  }
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it("every span of both services carries app.tenant.id from the baggage, the gateway's SERVER span included; none carries app.user.id", async () => {
  const services = await startServices(learner, recorder.exporter);
  const many = callers(random.int(2, 3));
  await Promise.all(many.map((caller) => checkout(services, caller)));
  await services.flush();
  expectOwnProviders();
  const spans = recorder.spans();
  const label = (span: SpanNode): string => `${span.name} ${span.kind.toUpperCase()} [${String(span.resource?.['service.name'])}]`;
  const withUser = [...new Set(spans.filter((span) => span.attributes[USER] !== undefined).map(label))];
  expectThat(
    withUser.length === 0,
    `no span carries ${USER}: it travels in the baggage, for the services that need it, and is never copied onto a span`,
    `these do: ${withUser.join(', ')}`,
  );
  const withoutTenant = [...new Set(spans.filter((span) => span.attributes[TENANT] === undefined).map(label))];
  expectThat(
    withoutTenant.length === 0,
    `every span of both services carries ${TENANT}, which the processor copies from the baggage of the context each span starts in, ` +
      'as it starts: the baggage must be in that context before the span starts',
    `these do not: ${withoutTenant.join(', ')}`,
  );
  const traces = recorder.traces();
  for (const caller of many) {
    expectTrace(
      traces,
      requestShape(services, caller),
      `the trace of a checkout for tenant ${caller.tenant}: every span of the gateway and of the orders service carries ${TENANT}="${caller.tenant}", ` +
        'copied from the baggage by the span processor when the span starts (so the baggage is in the context before the first span starts), ' +
        `and no span carries ${USER}: personal data is not copied`,
    );
  }
});

it('BaggageSpanProcessor copies exactly the chosen entries of the baggage the span starts in, when it starts', async () => {
  const pool = [TENANT, USER, 'app.region', 'app.plan', 'session.id', 'app.request.priority'] as const;
  const value = fc.stringMatching(/^[a-z0-9-]{1,10}$/);
  const entries = fc.option(fc.dictionary(fc.constantFrom(...pool), value, { maxKeys: pool.length }), { nil: undefined });
  const example = fc.record({ chosen: fc.subarray([...pool], { minLength: 1 }), entries, active: entries });
  const v = (): string => random.id();
  await holds(
    example,
    ({ chosen, entries: started, active }) => {
      const provider = new BasicTracerProvider({ spanProcessors: [new BaggageSpanProcessor(chosen)] });
      const parent = withBaggage(started);
      // The span starts in `parent`, passed to startSpan, while another context is active.
      const span = context.with(withBaggage(active), () => provider.getTracer('checks').startSpan('probe', {}, parent));
      const attributes = { ...(span as unknown as ReadableSpan).attributes };
      span.end();
      const expected = Object.fromEntries(chosen.filter((key) => started?.[key] !== undefined).map((key) => [key, started?.[key]]));
      verify(attributes, 'the attributes of the span the moment it started').equals(expected);
    },
    {
      examples: [
        // No baggage at all; a baggage with none of the chosen keys; chosen and other entries mixed.
        { chosen: [TENANT], entries: undefined, active: undefined },
        { chosen: [TENANT], entries: { [USER]: v(), 'app.region': v() }, active: undefined },
        { chosen: [TENANT, 'app.plan'], entries: { [TENANT]: v(), [USER]: v(), 'app.plan': v(), 'session.id': v() }, active: undefined },
        // The context the span starts in is not the active one: its baggage is the one that counts.
        { chosen: [TENANT], entries: { [TENANT]: v() }, active: { [TENANT]: v() } },
        { chosen: [TENANT, 'app.region'], entries: undefined, active: { [TENANT]: v(), 'app.region': v() } },
      ],
      runs: 100,
      describe: ({ chosen, entries: started, active }) =>
        `new BaggageSpanProcessor(${show(chosen)}); a span started in a context whose baggage is ${describeBaggage(started)}, ` +
        `while the active context's baggage is ${describeBaggage(active)}`,
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The rules, as the checks read them
// ---------------------------------------------------------------------------------------------

/** Spans made with the global tracer (trace.getTracer) went to the workbook's provider, which has no baggage processor: said first. */
function expectOwnProviders(): void {
  const global = otel.spans();
  if (global.length === 0) return;
  const names = [...new Set(global.map((span) => `"${span.name}"`))].join(', ');
  fail(
    `${global.length} spans (${names}) were made by the global tracer provider (trace.getTracer), which has no baggage processor. ` +
      'Each service makes its spans with the tracer it is given (options.tracer), from the provider createTracerProvider built.',
  );
}

/** The trace of one checkout, as the README draws it. */
function requestShape(services: Services, caller: Caller): SpanShape {
  const attributes = { [TENANT]: caller.tenant, [USER]: absent() };
  const gateway = { 'service.name': services.names.gateway };
  const orders = { 'service.name': services.names.orders };
  return {
    name: CHECKOUT,
    kind: 'server',
    attributes,
    resource: gateway,
    children: [
      {
        name: ORDERS,
        kind: 'client',
        attributes,
        resource: gateway,
        children: [{ name: ORDERS, kind: 'server', attributes, resource: orders, children: [{ name: CHARGES, kind: 'client', attributes, resource: orders }] }],
      },
    ],
  };
}

function withBaggage(entries: Record<string, string> | undefined): Context {
  if (entries === undefined) return ROOT_CONTEXT;
  const baggage = propagation.createBaggage(Object.fromEntries(Object.entries(entries).map(([key, value]) => [key, { value }])));
  return propagation.setBaggage(ROOT_CONTEXT, baggage);
}

function describeBaggage(entries: Record<string, string> | undefined): string {
  if (entries === undefined) return 'none (no baggage)';
  const list = Object.entries(entries).map(([key, value]) => `${key}=${value}`);
  return list.length === 0 ? 'empty' : `{ ${list.join(', ')} }`;
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => key in record).map((key) => [key, record[key]]));
}
