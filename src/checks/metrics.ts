/**
 * Metrics beside spans: the metrics harness wired into vitest's lifecycle, and readings a check
 * asserts on in words ("no metric "http.server.request.duration" was recorded …").
 */
import { afterEach, beforeEach, TestRunner } from 'vitest';
import type { Attributes } from '@opentelemetry/api';
import { metricsHarness, type HistogramMetric, type HistogramPoint, type MetricData, type MetricsConfig, type MetricsHarness, type MetricType, type NumberMetric, type NumberPoint } from '../trace/metrics.ts';
import { valueMatches, type ExpectedValue } from '../trace/expect-values.ts';
import { formatValue } from '../trace/model.ts';
import { CheckFailure } from './contract.ts';

// The global meter provider must exist before the learner's module gets its meter: importing
// #checks (the export guard imports it before the code under test) registers it. It is light;
// the SDK itself loads only in files that call useMetrics().
metricsHarness();

export interface CheckMetrics {
  readonly harness: MetricsHarness;
  /** What was recorded since the check began: every call reads the measurements made until now. */
  collect(): Promise<MetricsReading>;
}

/** One reading of the metrics, with lookups that fail the check in words. */
export interface MetricsReading {
  readonly all: readonly MetricData[];
  names(): string[];
  find(name: string): MetricData | undefined;
  /** The metric, failing the check when it was not recorded or is of another type. */
  counter(name: string, concept?: string): NumberMetric;
  upDownCounter(name: string, concept?: string): NumberMetric;
  gauge(name: string, concept?: string): NumberMetric;
  histogram(name: string, concept?: string): HistogramMetric;
}

const ARTICLE: Record<MetricType, string> = {
  counter: 'a counter',
  'up-down-counter': 'an up-down counter',
  gauge: 'a gauge',
  histogram: 'a histogram',
  'exponential-histogram': 'an exponential histogram',
};

export const METRIC_MESSAGES = {
  missing: (name: string, recorded: string) =>
    `no metric "${name}" was recorded (metrics recorded in this check: ${recorded}). ` +
    'Create the instrument from a meter of metrics.getMeter(name) (@opentelemetry/api), with exactly this name, and record on it.',
  wrongType: (name: string, actual: MetricType, expected: MetricType) =>
    `metric "${name}" is ${ARTICLE[actual]}, expected ${ARTICLE[expected]}`,
} as const;

/** The files whose hooks are installed (vitest without isolation shares this module between files). */
const hookedFiles = new WeakSet<object>();

/**
 * Call once at the top of a checker file: measurements are recorded from now on, each check reads
 * only its own (reset before each check), and a learner who replaced the global meter provider is
 * told so. `views` configure the SDK's MeterProvider; give them before the code under test gets its
 * meter (load it with `importTarget` after this call). Bucket boundaries the learner gives as
 * `advice: { explicitBucketBoundaries }` need no view.
 */
export function useMetrics(config: MetricsConfig = {}): CheckMetrics {
  const harness = metricsHarness();
  harness.activate(config);
  const file = TestRunner.getCurrentSuite().file;
  if (!hookedFiles.has(file)) {
    hookedFiles.add(file);
    beforeEach(async () => {
      await harness.reset();
    });
    afterEach(() => {
      const replaced = harness.verifyGlobals();
      if (replaced) {
        harness.restoreGlobals();
        throw new CheckFailure(replaced);
      }
    });
  }
  return { harness, collect: async () => reading(await harness.collect()) };
}

export function reading(all: readonly MetricData[]): MetricsReading {
  const find = (name: string): MetricData | undefined => all.find((m) => m.name === name);
  const typed = (name: string, type: MetricType, concept: string | undefined): MetricData => {
    const metric = find(name);
    const prefix = concept ? `${concept}: ` : '';
    if (!metric) throw new CheckFailure(prefix + METRIC_MESSAGES.missing(name, describeMetrics(all)));
    if (metric.type !== type) throw new CheckFailure(prefix + METRIC_MESSAGES.wrongType(name, metric.type, type));
    return metric;
  };
  return {
    all,
    names: () => all.map((m) => m.name),
    find,
    counter: (name, concept) => typed(name, 'counter', concept) as NumberMetric,
    upDownCounter: (name, concept) => typed(name, 'up-down-counter', concept) as NumberMetric,
    gauge: (name, concept) => typed(name, 'gauge', concept) as NumberMetric,
    histogram: (name, concept) => typed(name, 'histogram', concept) as HistogramMetric,
  };
}

/** The metric's points whose attributes include these (literals, patterns or matchers such as `absent()`). */
export function pointsWhere<M extends MetricData>(metric: M, attributes: Record<string, ExpectedValue> = {}): M['points'] {
  const points = metric.points as (NumberPoint | HistogramPoint)[];
  return points.filter((p) => Object.entries(attributes).every(([key, expected]) => valueMatches(expected, p.attributes[key]))) as M['points'];
}

/** The sum of the values (counters, gauges) or of the counts (histograms) of the points matching `attributes`. */
export function totalOf(metric: MetricData, attributes: Record<string, ExpectedValue> = {}): number {
  const points = pointsWhere(metric, attributes) as (NumberPoint | HistogramPoint)[];
  return points.reduce((sum, p) => sum + ('count' in p ? p.count : p.value), 0);
}

/** The metrics of a reading in words: `http.server.request.duration (histogram, 2 points)`. */
export function describeMetrics(all: readonly MetricData[]): string {
  if (all.length === 0) return 'none';
  return all.map((m) => `${m.name} (${m.type.replace(/-/g, ' ')}, ${m.points.length} ${m.points.length === 1 ? 'point' : 'points'})`).join(', ');
}

/** A point's attributes in words: `{http.route="/orders/:id", http.response.status_code=200}`. */
export function describeAttributes(attributes: Attributes): string {
  const entries = Object.entries(attributes);
  return entries.length === 0 ? '{}' : `{${entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ')}}`;
}
