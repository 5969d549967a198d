import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { metrics, ValueType } from '@opentelemetry/api';
import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { CheckFailure, pointsWhere, totalOf, useMetrics } from '../../src/checks/index.ts';
import { METRIC_MESSAGES, reading } from '../../src/checks/metrics.ts';
import { metricsHarness, METRICS_REPLACED } from '../../src/trace/metrics.ts';
import { oneOf } from '../../src/trace/expect-values.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// What a learner's module does when it loads, before the checker's own code runs: a meter and its
// instruments from the API, with the bucket boundaries given as advice.
const meter = metrics.getMeter('shop');
const requests = meter.createCounter('app.requests', { unit: '{request}' });
const active = meter.createUpDownCounter('http.server.active_requests', { unit: '{request}' });
const duration = meter.createHistogram('http.server.request.duration', {
  unit: 's',
  advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
});
const temperature = meter.createGauge('app.temperature', { valueType: ValueType.DOUBLE });
let queueDepth = 0;
meter.createObservableGauge('app.queue.depth').addCallback((result) => result.observe(queueDepth, { queue: 'orders' }));
const stock = meter.createObservableUpDownCounter('app.stock');
const sold = meter.createObservableCounter('app.sold');
let inStock = 10;
meter.addBatchObservableCallback(
  (result) => {
    result.observe(stock, inStock);
    result.observe(sold, 10 - inStock);
  },
  [stock, sold],
);

const meters = useMetrics();

describe('useMetrics', () => {
  it('reads counters, up-down counters and gauges created before the harness was asked for', async () => {
    requests.add(2, { 'http.route': '/orders/:id' });
    requests.add(1, { 'http.route': '/orders' });
    requests.add(3, { 'http.route': '/orders/:id' });
    active.add(1);
    active.add(1);
    active.add(-1);
    temperature.record(20.5);
    temperature.record(21.5);
    const now = await meters.collect();
    const counter = now.counter('app.requests');
    expect(counter).toMatchObject({ unit: '{request}', scope: 'shop', valueType: 'double', observable: false });
    expect(pointsWhere(counter, { 'http.route': '/orders/:id' })).toEqual([{ attributes: { 'http.route': '/orders/:id' }, value: 5 }]);
    expect(totalOf(counter)).toBe(6);
    expect(totalOf(counter, { 'http.route': oneOf('/orders') })).toBe(1);
    expect(totalOf(now.upDownCounter('http.server.active_requests'))).toBe(1);
    expect(now.gauge('app.temperature').points).toEqual([{ attributes: {}, value: 21.5 }]);
  });

  it('starts every check with nothing recorded by the checks before it', async () => {
    const now = await meters.collect();
    expect(now.find('app.requests')).toBeUndefined();
    expect(now.find('http.server.request.duration')).toBeUndefined();
  });

  it('adds up what was recorded across several reads in one check', async () => {
    requests.add(2);
    expect(totalOf((await meters.collect()).counter('app.requests'))).toBe(2);
    requests.add(3);
    expect(totalOf((await meters.collect()).counter('app.requests'))).toBe(5);
  });

  it('reads a histogram with the bucket boundaries the instrument was given as advice', async () => {
    for (const seconds of [0.05, 0.2, 0.3, 2]) duration.record(seconds, { 'http.route': '/orders/:id' });
    await meters.collect();
    duration.record(0.7, { 'http.route': '/orders/:id' });
    const [point] = (await meters.collect()).histogram('http.server.request.duration').points;
    expect(point).toEqual({
      attributes: { 'http.route': '/orders/:id' },
      count: 5,
      sum: 3.25,
      min: 0.05,
      max: 2,
      boundaries: [0.1, 0.5, 1],
      counts: [1, 2, 1, 1],
    });
  });

  it('reads observable instruments as their callbacks observe them now', async () => {
    queueDepth = 4;
    inStock = 7;
    let now = await meters.collect();
    expect(now.gauge('app.queue.depth').points).toEqual([{ attributes: { queue: 'orders' }, value: 4 }]);
    expect(totalOf(now.upDownCounter('app.stock'))).toBe(7);
    expect(now.counter('app.sold')).toMatchObject({ observable: true, points: [{ value: 3 }] });
    queueDepth = 1;
    now = await meters.collect();
    expect(now.gauge('app.queue.depth').points[0]?.value).toBe(1);
  });

  it('fails in words when a metric is missing or of another type', async () => {
    requests.add(1);
    const now = await meters.collect();
    expect(() => now.histogram('http.server.duration', 'request duration')).toThrow(
      new CheckFailure(
        `request duration: ${METRIC_MESSAGES.missing('http.server.duration', 'app.requests (counter, 1 point), app.queue.depth (gauge, 1 point), app.stock (up down counter, 1 point), app.sold (counter, 1 point)')}`,
      ),
    );
    expect(() => now.upDownCounter('app.requests')).toThrow(new CheckFailure('metric "app.requests" is a counter, expected an up-down counter'));
    expect(() => reading([]).counter('x')).toThrow(/metrics recorded in this check: none/);
  });

  it('rebuilds the SDK with Views given later, and the instruments made before follow', async () => {
    const harness = metricsHarness();
    harness.activate({
      views: [{ instrumentName: 'http.server.request.duration', aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [1, 5] } } }],
    });
    try {
      duration.record(3);
      const [point] = (await meters.collect()).histogram('http.server.request.duration').points;
      expect(point).toMatchObject({ count: 1, boundaries: [1, 5], counts: [0, 1, 0] });
    } finally {
      harness.activate({ views: [] });
    }
  });

  it('notices a replaced global meter provider and puts its own back', () => {
    const harness = metricsHarness();
    expect(harness.verifyGlobals()).toBeUndefined();
    metrics.disable();
    metrics.setGlobalMeterProvider(new MeterProvider());
    expect(harness.verifyGlobals()).toBe(METRICS_REPLACED);
    harness.restoreGlobals();
    expect(harness.verifyGlobals()).toBeUndefined();
    expect(metrics.getMeterProvider()).toBe(harness.provider);
  });
});

describe('the metrics harness in a checker that never reads metrics', () => {
  it('registers the global provider when #checks is imported, and never loads the SDK', () => {
    const script = [
      "import { createRequire } from 'node:module';",
      "import { metrics } from '@opentelemetry/api';",
      "await import('./src/checks/index.ts');",
      "metrics.getMeter('learner').createCounter('app.calls').add(1);",
      "const loaded = Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('sdk-metrics'));",
      "console.log(JSON.stringify({ registered: metrics.getMeterProvider().constructor.name, loaded }));",
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({ registered: 'LazyMeterProvider', loaded: false });
  });
});
