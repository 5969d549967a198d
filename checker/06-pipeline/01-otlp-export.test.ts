import path from 'node:path';
import { it } from 'vitest';
import {
  describeExit,
  expectThat,
  expectTrace,
  fail,
  printedLines,
  random,
  startProcess,
  targetFolder,
  useOtlpReceiver,
  verify,
  type ChildService,
  type ExitInfo,
} from '#checks';
import { httpRequest } from '#kit';
import { createResource } from '#target/06-pipeline/01-otlp-export/telemetry.ts';

const otlp = useOtlpReceiver();

const EXERCISE = '06-pipeline/01-otlp-export';
const READY = /listening on (\d+)/;
const SERVER = 'GET /orders/:id';
const LOOKUP = 'load order';
const DEFAULTS = { 'service.name': 'orders', 'service.version': '1.4.0', 'deployment.environment.name': 'development' } as const;
/** How long an answer may take while the collector is down or slow: an answer never waits for an export. */
const ANSWER_MS = 700;
/** What the checks add to the grace period before calling the exit late: the process's own start of a timer and exit. */
const EXIT_SLACK_MS = 800;
/** Process checks start a node process with the SDK: more than the default time limit of a check. */
const PROCESS_CHECK = { timeout: 6000 };
/**
 * How long the service may take to print `listening on`: well inside a check's limit, so that a
 * service stuck at load (a loop, an await that never settles) is said to be so, with what it printed.
 */
const READY_MS = 3000;
const RESOURCE_VARIABLES = ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'] as const;

/**
 * Export requests that reached the receiver at a path that is not OTLP's, said as the reason the
 * spans were not sent (a collector answers 404 there, and the exporter's shutdown fails); empty when none did.
 */
function misdirected(): string {
  const elsewhere = otlp.requests().filter((request) => request.signal === undefined);
  const paths = [...new Set(elsewhere.map((request) => request.path))];
  if (paths.length === 0) return '';
  return (
    `, after ${elsewhere.length === 1 ? 'an export request' : `${elsewhere.length} export requests`} to ${paths.join(', ')} ` +
    `instead of /v1/traces, which a collector answers with 404: OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL, ` +
    'and the exporter appends /v1/traces itself when it is given no url'
  );
}

// ---------------------------------------------------------------------------------------------
// The resource, read in this process
// ---------------------------------------------------------------------------------------------

it('the resource has the defaults, and OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override them', async () => {
  const name = `orders-${random.word(5)}`;
  const environment = random.pick(['staging', 'production', 'qa', `preview-${random.int(1, 99)}`]);
  const namespace = `shop-${random.word(4)}`;
  const version = `${random.int(2, 9)}.${random.int(0, 20)}.${random.int(0, 9)}`;
  const cases = [
    { variables: {}, expected: { ...DEFAULTS } },
    { variables: { OTEL_SERVICE_NAME: name }, expected: { ...DEFAULTS, 'service.name': name } },
    {
      variables: { OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=${environment},service.namespace=${namespace}` },
      expected: { ...DEFAULTS, 'deployment.environment.name': environment, 'service.namespace': namespace },
    },
    {
      // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (the specification's rule, which the env detector follows).
      variables: { OTEL_SERVICE_NAME: name, OTEL_RESOURCE_ATTRIBUTES: `service.name=not-${name},service.version=${version},deployment.environment.name=${environment}` },
      expected: { 'service.name': name, 'service.version': version, 'deployment.environment.name': environment },
    },
  ];
  for (const { variables, expected } of cases) {
    const attributes = await resourceWith(variables);
    const set = Object.keys(variables).length === 0 ? 'with no OTEL_* variable set' : `with ${Object.entries(variables).map(([k, v]) => `${k}=${v}`).join(' and ')}`;
    verify(pick(attributes, Object.keys(expected)), `the attributes of createResource() ${set}`).equals(expected);
  }
});

// ---------------------------------------------------------------------------------------------
// The service, run as its own process
// ---------------------------------------------------------------------------------------------

it('on SIGTERM, every span of every request reaches the collector, in batches, with the resource; then the service exits with code 0', PROCESS_CHECK, async () => {
  const name = `orders-${random.word(5)}`;
  const environment = random.pick(['staging', 'production', 'qa']);
  const namespace = `shop-${random.word(4)}`;
  const apiKey = random.id('key-');
  const service = await startService({
    OTEL_SERVICE_NAME: name,
    OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=${environment},service.namespace=${namespace}`,
    OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${apiKey}`,
    SHUTDOWN_GRACE_MS: '2000',
  });
  const ids = Array.from({ length: random.int(4, 9) }, () => random.id('ord-'));
  for (const id of ids) verify((await getOrder(service, id)).status, `the status of GET /orders/${id}`).is(200);

  const exit = await terminate(service, 2000);
  expectThat(exit.code === 0, 'on SIGTERM the service sends its spans and exits with code 0', `it ${describeExit(exit)}${misdirected()}; ${printedLines(service)}`);
  const spanCount = ids.length * 2;
  await otlp.waitForSpans(spanCount, { timeoutMs: 500, what: `the spans of ${ids.length} requests (2 each), sent before the exit` });

  const resource = { 'service.name': name, 'service.version': DEFAULTS['service.version'], 'deployment.environment.name': environment, 'service.namespace': namespace };
  for (const id of ids) {
    expectTrace(
      otlp.traces(),
      { name: SERVER, kind: 'server', attributes: { 'url.path': `/orders/${id}` }, resource, children: [{ name: LOOKUP, attributes: { 'app.order.id': id }, resource }] },
      `the trace of GET /orders/${id} arrives whole, each span with the service's resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and the version)`,
    );
  }
  const exports = otlp.requests().filter((request) => request.signal === 'traces' && request.kept);
  const withoutKey = exports.filter((request) => request.headers['x-api-key'] !== apiKey);
  verify(withoutKey.length, `export requests without the header of OTEL_EXPORTER_OTLP_HEADERS (x-api-key=${apiKey}), of ${exports.length}`).hasCount(0, 'request');
  verify(exports.length, `the export requests that carried ${spanCount} spans (a BatchSpanProcessor sends many spans in one request; one request per span is a SimpleSpanProcessor)`).isBelow(spanCount);
});

it('a request in flight when SIGTERM comes is still answered, and its spans are sent before the exit', PROCESS_CHECK, async () => {
  const service = await startService({ OTEL_SERVICE_NAME: `orders-${random.word(5)}`, SHUTDOWN_GRACE_MS: '2000' });
  const slowId = random.id('ord-');
  const delayMs = random.int(300, 500);
  const inFlight = getOrder(service, slowId, { delayMs, timeoutMs: 2500 }).then(
    (answer) => answer,
    (error: unknown) => error as Error,
  );
  // Once a later request is answered, the slow one has been taken in by the server: it is in flight.
  verify((await getOrder(service, random.id('ord-'))).status, 'the status of a request sent beside the slow one').is(200);
  service.signal('SIGTERM');
  const answer = await inFlight;
  if (answer instanceof Error) fail(`the request in flight when SIGTERM came (GET /orders/${slowId}, ${delayMs} ms long) got no answer: ${answer.message}. Let server.close() finish the requests in flight before the SDK shuts down and the process exits.`);
  verify(answer.status, `the status of the request in flight when SIGTERM came (${delayMs} ms long)`).is(200);
  const exit = await waitForExit(service, 2000);
  expectThat(exit.code === 0, 'after the requests in flight, the service sends its spans and exits with code 0', `it ${describeExit(exit)}${misdirected()}; ${printedLines(service)}`);
  await otlp.waitForSpans((spans) => spans.some((span) => span.name === LOOKUP && span.attributes['app.order.id'] === slowId), {
    timeoutMs: 500,
    what: `the spans of the request in flight when SIGTERM came (GET /orders/${slowId})`,
  });
  expectTrace(
    otlp.traces(),
    { name: SERVER, kind: 'server', attributes: { 'url.path': `/orders/${slowId}` }, children: [{ name: LOOKUP, attributes: { 'app.order.id': slowId } }] },
    'the spans of a request that ended after SIGTERM are sent too: the SDK shuts down only after the server has finished its requests',
  );
});

it('with the collector down, the service keeps answering, and exits within its grace period after SIGTERM', PROCESS_CHECK, async () => {
  await otlp.setMode('down');
  await keepsAnsweringAndLeavesInTime('down (its port refuses connections)');
});

it('with a collector that answers too slowly, the service keeps answering, and exits within its grace period after SIGTERM', PROCESS_CHECK, async () => {
  await otlp.setMode({ mode: 'slow', delayMs: 5000 });
  await keepsAnsweringAndLeavesInTime('slow (it answers each export after 5 s)');
});

// ---------------------------------------------------------------------------------------------
// The rig
// ---------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  body: string;
}

async function keepsAnsweringAndLeavesInTime(collector: string): Promise<void> {
  const graceMs = random.int(400, 700);
  const service = await startService({ OTEL_SERVICE_NAME: `orders-${random.word(5)}`, SHUTDOWN_GRACE_MS: String(graceMs) });
  const count = random.int(3, 6);
  for (let i = 0; i < count; i++) {
    const id = random.id('ord-');
    const began = performance.now();
    const reply = await getOrder(service, id, { timeoutMs: ANSWER_MS }).catch((error: unknown) =>
      fail(`with the collector ${collector}, GET /orders/${id} got no answer within ${ANSWER_MS} ms (${(error as Error).message}): an answer must never wait for an export`),
    );
    verify(reply.status, `the status of GET /orders/${id} with the collector ${collector} (answered in ${Math.round(performance.now() - began)} ms)`).is(200);
  }
  await terminate(service, graceMs + EXIT_SLACK_MS, `after SIGTERM, with the collector ${collector} (SHUTDOWN_GRACE_MS is ${graceMs}: the service must leave by then, flushed or not)`);
}

function startService(env: Record<string, string>): Promise<ChildService> {
  return startProcess(path.join(targetFolder(EXERCISE), 'service.ts'), {
    env: { PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, ...env },
    ready: READY,
    readyTimeoutMs: READY_MS,
  });
}

async function getOrder(service: ChildService, id: string, options: { delayMs?: number; timeoutMs?: number } = {}): Promise<Reply> {
  const query = options.delayMs === undefined ? '' : `?delay=${options.delayMs}`;
  const response = await httpRequest(`${service.url}/orders/${id}${query}`, { timeoutMs: options.timeoutMs ?? 1500 });
  return { status: response.status, body: response.body };
}

async function terminate(service: ChildService, timeoutMs: number, after = 'after SIGTERM'): Promise<ExitInfo> {
  service.signal('SIGTERM');
  return waitForExit(service, timeoutMs, after);
}

function waitForExit(service: ChildService, timeoutMs: number, after = 'after SIGTERM'): Promise<ExitInfo> {
  return service.waitForExit({ timeoutMs, after });
}

/** createResource() with exactly these OTEL_* variables set in this process, put back afterwards. */
async function resourceWith(variables: Partial<Record<(typeof RESOURCE_VARIABLES)[number], string>>): Promise<Record<string, unknown>> {
  const saved = RESOURCE_VARIABLES.map((key) => [key, process.env[key]] as const);
  try {
    for (const key of RESOURCE_VARIABLES) {
      const value = variables[key];
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    const resource = createResource();
    await resource.waitForAsyncAttributes?.();
    return { ...resource.attributes };
  } finally {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => key in record).map((key) => [key, record[key]]));
}
