/**
 * The metrics equivalent of the trace harness: one global MeterProvider per checker process, read
 * on demand, each check seeing only what was recorded since it began, decoded to plain data.
 *
 * The API (1.9) has no proxy for metrics: a meter obtained before a provider is registered is a
 * no-op forever. Learner modules get their meter when they load, before the checker's code runs, so
 * the harness registers its provider as soon as `#checks` is imported (the export guard imports it
 * first). What it registers is light: meters and instruments that stand for the SDK's, which is
 * loaded only when a checker file asks for metrics (`useMetrics`). Until then measurements go
 * nowhere, and a checker that never reads metrics never pays for the SDK. The stand-ins also
 * survive a change of Views: the SDK is rebuilt with them and every instrument re-created on it.
 *
 * Synchronous instruments are read with delta temporality and added up by the harness since the
 * last reset (the check's own measurements); observable instruments report what their callback
 * observes now (cumulative).
 */
import { createRequire } from 'node:module';
import {
  metrics,
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Gauge,
  type Histogram,
  type Meter,
  type MeterOptions,
  type MeterProvider,
  type MetricOptions,
  type Observable,
  type ObservableCallback,
  type ObservableCounter,
  type ObservableGauge,
  type ObservableUpDownCounter,
  type UpDownCounter,
} from '@opentelemetry/api';
import type * as Sdk from '@opentelemetry/sdk-metrics';

export type MetricType = 'counter' | 'up-down-counter' | 'gauge' | 'histogram' | 'exponential-histogram';

export interface NumberPoint {
  attributes: Attributes;
  value: number;
}

export interface HistogramPoint {
  attributes: Attributes;
  count: number;
  sum: number;
  min: number | undefined;
  max: number | undefined;
  /** Upper bounds of the buckets; `counts` has one more entry (the bucket above the last bound). Empty for exponential histograms. */
  boundaries: number[];
  counts: number[];
}

interface MetricBase {
  name: string;
  description: string;
  unit: string;
  /** The meter's name (instrumentation scope). */
  scope: string;
  valueType: 'int' | 'double';
  /** Read from an observable instrument: its points are what the callback observed, not sums of measurements. */
  observable: boolean;
}

export type NumberMetric = MetricBase & { type: 'counter' | 'up-down-counter' | 'gauge'; points: NumberPoint[] };
export type HistogramMetric = MetricBase & { type: 'histogram' | 'exponential-histogram'; points: HistogramPoint[] };
export type MetricData = NumberMetric | HistogramMetric;

export interface MetricsConfig {
  /** Views for the SDK's MeterProvider (`{ instrumentName, aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries } } }`). */
  views?: Sdk.ViewOptions[];
}

export interface MetricsHarness {
  /** The global provider the learner's `metrics.getMeter()` reaches. */
  readonly provider: MeterProvider;
  /** Loads the SDK (once) with these views; measurements are recorded from now on. */
  activate(config?: MetricsConfig): void;
  readonly active: boolean;
  /** Everything recorded since the last reset. */
  collect(): Promise<MetricData[]>;
  /** Forgets what was recorded so far. */
  reset(): Promise<void>;
  /** Undefined when the global meter provider is still the harness's; otherwise what changed. */
  verifyGlobals(): string | undefined;
  restoreGlobals(): void;
}

export const METRICS_REPLACED =
  'your code replaced the global meter provider (metrics.setGlobalMeterProvider or metrics.disable). ' +
  'The workbook installs the provider that records your measurements: get meters with metrics.getMeter(name) and leave the globals alone.';

const INSTALLED = Symbol.for('tracecraft.metrics-harness');

/** The one metrics harness of this process, registered as the global meter provider on first call. */
export function metricsHarness(): MetricsHarness {
  const existing = (globalThis as { [INSTALLED]?: MetricsHarness })[INSTALLED];
  if (existing) return existing;
  const harness = createHarness();
  (globalThis as { [INSTALLED]?: MetricsHarness })[INSTALLED] = harness;
  return harness;
}

type SdkModule = typeof Sdk;

/** The SDK as CommonJS: loaded synchronously, at the moment it is first needed. */
function loadSdk(): SdkModule {
  return createRequire(import.meta.url)('@opentelemetry/sdk-metrics') as SdkModule;
}

interface Generation {
  sdk: SdkModule;
  provider: Sdk.MeterProvider;
  reader: Sdk.MetricReader;
  number: number;
}

/** What the stand-in instruments need from the harness. */
interface Host {
  current(): Generation | undefined;
  observables: Set<LazyObservable>;
  batches: Set<LazyBatch>;
}

function createHarness(): MetricsHarness {
  let generation: Generation | undefined;
  let views: Sdk.ViewOptions[] = [];
  let counter = 0;
  const store = new Store();
  const host: Host = { current: () => generation, observables: new Set(), batches: new Set() };
  const provider = new LazyMeterProvider(host);

  const build = (sdk: SdkModule): Generation => {
    const reader = new (readerClass(sdk))();
    const built = new sdk.MeterProvider({ views, readers: [reader] });
    return { sdk, provider: built, reader, number: ++counter };
  };

  const harness: MetricsHarness = {
    provider,
    get active() {
      return generation !== undefined;
    },
    activate(config = {}) {
      const wanted = config.views ?? views;
      if (generation && sameViews(wanted, views)) return;
      const previous = generation;
      views = wanted;
      generation = build(previous?.sdk ?? loadSdk());
      store.clear();
      void previous?.provider.shutdown().catch(() => undefined);
    },
    async collect() {
      if (!generation) return [];
      for (const observable of host.observables) observable.bind();
      for (const batch of host.batches) batch.bind();
      const { resourceMetrics } = await generation.reader.collect();
      store.add(resourceMetrics, generation.sdk);
      return store.read();
    },
    async reset() {
      if (generation) await generation.reader.collect();
      store.clear();
    },
    verifyGlobals: () => (metrics.getMeterProvider() === provider ? undefined : METRICS_REPLACED),
    restoreGlobals: () => {
      metrics.disable();
      metrics.setGlobalMeterProvider(provider);
    },
  };
  metrics.setGlobalMeterProvider(provider);
  return harness;
}

function sameViews(a: readonly Sdk.ViewOptions[], b: readonly Sdk.ViewOptions[]): boolean {
  return a.length === b.length && a.every((view, i) => view === b[i]);
}

/** Measurements of synchronous instruments since the last read (delta); observable ones as observed (cumulative). */
function readerClass(sdk: SdkModule): new () => Sdk.MetricReader {
  const observable = new Set<string>([
    sdk.InstrumentType.OBSERVABLE_COUNTER,
    sdk.InstrumentType.OBSERVABLE_GAUGE,
    sdk.InstrumentType.OBSERVABLE_UP_DOWN_COUNTER,
  ]);
  return class HarnessReader extends sdk.MetricReader {
    constructor() {
      super({
        aggregationTemporalitySelector: (type) =>
          observable.has(type) ? sdk.AggregationTemporality.CUMULATIVE : sdk.AggregationTemporality.DELTA,
      });
    }
    protected override onForceFlush(): Promise<void> {
      return Promise.resolve();
    }
    protected override onShutdown(): Promise<void> {
      return Promise.resolve();
    }
  };
}

// ---- stand-ins for the SDK's meters and instruments ---------------------------------------------

class LazyMeterProvider implements MeterProvider {
  private readonly meters = new Map<string, LazyMeter>();
  constructor(private readonly host: Host) {}
  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    const key = `${name}\0${version ?? ''}\0${options?.schemaUrl ?? ''}`;
    let meter = this.meters.get(key);
    if (!meter) {
      meter = new LazyMeter(this.host, (provider) => provider.getMeter(name, version, options));
      this.meters.set(key, meter);
    }
    return meter;
  }
}

/** Something made on the SDK of the current generation, made again when the generation changes. */
class Bound<T> {
  private value: T | undefined;
  private number = 0;
  constructor(
    private readonly host: Host,
    private readonly make: (generation: Generation) => T,
  ) {}
  /** What was made for the current generation, without making it. */
  peek(): T | undefined {
    const generation = this.host.current();
    return generation && this.number === generation.number ? this.value : undefined;
  }
  get(): T | undefined {
    const generation = this.host.current();
    if (!generation) return undefined;
    if (this.number !== generation.number) {
      this.value = this.make(generation);
      this.number = generation.number;
    }
    return this.value;
  }
}

class LazyMeter implements Meter {
  readonly real: Bound<Meter>;
  constructor(
    private readonly host: Host,
    getMeter: (provider: Sdk.MeterProvider) => Meter,
  ) {
    this.real = new Bound(host, (g) => getMeter(g.provider));
  }
  private bound<T>(make: (meter: Meter) => T): Bound<T> {
    return new Bound(this.host, () => make(this.real.get() as Meter));
  }
  createCounter(name: string, options?: MetricOptions): Counter {
    const real = this.bound((m) => m.createCounter(name, options));
    return { add: (value, attributes, context) => real.get()?.add(value, attributes, context) };
  }
  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    const real = this.bound((m) => m.createUpDownCounter(name, options));
    return { add: (value, attributes, context) => real.get()?.add(value, attributes, context) };
  }
  createHistogram(name: string, options?: MetricOptions): Histogram {
    const real = this.bound((m) => m.createHistogram(name, options));
    return { record: (value, attributes, context) => real.get()?.record(value, attributes, context) };
  }
  createGauge(name: string, options?: MetricOptions): Gauge {
    const real = this.bound((m) => m.createGauge(name, options));
    return { record: (value, attributes, context) => real.get()?.record(value, attributes, context) };
  }
  createObservableCounter(name: string, options?: MetricOptions): ObservableCounter {
    return this.observable((m) => m.createObservableCounter(name, options));
  }
  createObservableUpDownCounter(name: string, options?: MetricOptions): ObservableUpDownCounter {
    return this.observable((m) => m.createObservableUpDownCounter(name, options));
  }
  createObservableGauge(name: string, options?: MetricOptions): ObservableGauge {
    return this.observable((m) => m.createObservableGauge(name, options));
  }
  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.host.batches.add(new LazyBatch(this.host, this, callback, observables));
  }
  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    for (const batch of this.host.batches) {
      if (batch.is(this, callback, observables)) {
        batch.unbind();
        this.host.batches.delete(batch);
      }
    }
  }
  private observable(make: (meter: Meter) => Observable): LazyObservable {
    const observable = new LazyObservable(this.host, () => make(this.real.get() as Meter));
    this.host.observables.add(observable);
    return observable;
  }
}

/** An observable instrument: its callbacks are kept here and handed to each SDK instrument made for it. */
class LazyObservable implements Observable {
  private readonly callbacks = new Set<ObservableCallback>();
  private readonly real: Bound<Observable>;
  constructor(host: Host, make: () => Observable) {
    this.real = new Bound(host, () => {
      const observable = make();
      for (const callback of this.callbacks) observable.addCallback(callback);
      return observable;
    });
  }
  /** The SDK's instrument of the current generation, made (with every callback) if needed. */
  bind(): Observable | undefined {
    return this.real.get();
  }
  addCallback(callback: ObservableCallback): void {
    if (this.callbacks.has(callback)) return;
    this.callbacks.add(callback);
    // An SDK instrument not made yet gets every callback when it is.
    this.real.peek()?.addCallback(callback);
  }
  removeCallback(callback: ObservableCallback): void {
    this.callbacks.delete(callback);
    this.real.peek()?.removeCallback(callback);
  }
}

/** A batch observable callback, registered on each generation's meter with that generation's instruments. */
class LazyBatch {
  private registered: { meter: Meter; callback: BatchObservableCallback; observables: Observable[] } | undefined;
  private readonly real: Bound<true>;
  constructor(
    host: Host,
    private readonly meter: LazyMeter,
    private readonly callback: BatchObservableCallback,
    private readonly observables: Observable[],
  ) {
    this.real = new Bound(host, () => {
      const meter = this.meter.real.get() as Meter;
      const real = observables.map((o) => (o instanceof LazyObservable ? o.bind() : o)).filter((o): o is Observable => o !== undefined);
      const pairs = new Map<Observable, Observable>(observables.map((o, i) => [o, real[i] ?? o]));
      const wrapped: BatchObservableCallback = (result) =>
        callback({ observe: (observable, value, attributes) => result.observe(pairs.get(observable) ?? observable, value, attributes) });
      meter.addBatchObservableCallback(wrapped, real);
      this.registered = { meter, callback: wrapped, observables: real };
      return true;
    });
  }
  bind(): void {
    this.real.get();
  }
  unbind(): void {
    if (this.registered) this.registered.meter.removeBatchObservableCallback(this.registered.callback, this.registered.observables);
    this.registered = undefined;
  }
  is(meter: LazyMeter, callback: BatchObservableCallback, observables: Observable[]): boolean {
    return this.meter === meter && this.callback === callback && observables.every((o, i) => o === this.observables[i]);
  }
}

// ---- what was recorded, as plain data -----------------------------------------------------------

interface Series {
  metric: string;
  attributes: Attributes;
  number?: number;
  histogram?: Omit<HistogramPoint, 'attributes'>;
}

/** Adds up what each read returned since the last reset: deltas are summed, cumulative and gauge points replace. */
class Store {
  private readonly metricsByKey = new Map<string, MetricBase & { type: MetricType }>();
  private readonly series = new Map<string, Series>();

  clear(): void {
    this.metricsByKey.clear();
    this.series.clear();
  }

  add(resourceMetrics: Sdk.ResourceMetrics, sdk: SdkModule): void {
    for (const scopeMetrics of resourceMetrics.scopeMetrics) {
      for (const metric of scopeMetrics.metrics) {
        const key = `${scopeMetrics.scope.name}\0${metric.descriptor.name}`;
        const delta = metric.aggregationTemporality === sdk.AggregationTemporality.DELTA;
        const type = metricType(metric, sdk);
        this.metricsByKey.set(key, {
          name: metric.descriptor.name,
          description: metric.descriptor.description,
          unit: metric.descriptor.unit,
          scope: scopeMetrics.scope.name,
          valueType: metric.descriptor.valueType === 0 ? 'int' : 'double',
          observable: !delta,
          type,
        });
        for (const point of metric.dataPoints) {
          const seriesKey = `${key}\0${attributesKey(point.attributes)}`;
          const known = this.series.get(seriesKey);
          const value = point.value;
          if (typeof value === 'number') {
            const adds = delta && type !== 'gauge' && known?.number !== undefined;
            this.series.set(seriesKey, { metric: key, attributes: { ...point.attributes }, number: adds ? (known?.number ?? 0) + value : value });
          } else {
            const next = histogramValue(value);
            const before = known?.histogram;
            this.series.set(seriesKey, { metric: key, attributes: { ...point.attributes }, histogram: delta && before ? mergeHistograms(before, next) : next });
          }
        }
      }
    }
  }

  read(): MetricData[] {
    return [...this.metricsByKey].map(([key, base]) => {
      const series = [...this.series.values()].filter((s) => s.metric === key);
      if (base.type === 'histogram' || base.type === 'exponential-histogram') {
        return { ...base, type: base.type, points: series.map((s) => ({ attributes: s.attributes, ...(s.histogram as Omit<HistogramPoint, 'attributes'>) })) };
      }
      return { ...base, type: base.type, points: series.map((s) => ({ attributes: s.attributes, value: s.number ?? 0 })) };
    });
  }
}

function metricType(metric: Sdk.MetricData, sdk: SdkModule): MetricType {
  switch (metric.dataPointType) {
    case sdk.DataPointType.HISTOGRAM:
      return 'histogram';
    case sdk.DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'exponential-histogram';
    case sdk.DataPointType.GAUGE:
      return 'gauge';
    default:
      return metric.dataPointType === sdk.DataPointType.SUM && metric.isMonotonic ? 'counter' : 'up-down-counter';
  }
}

function histogramValue(value: Sdk.Histogram | Sdk.ExponentialHistogram): Omit<HistogramPoint, 'attributes'> {
  const explicit = 'buckets' in value && 'boundaries' in value.buckets;
  return {
    count: value.count,
    sum: value.sum ?? 0,
    min: value.min,
    max: value.max,
    boundaries: explicit ? [...(value as Sdk.Histogram).buckets.boundaries] : [],
    counts: explicit ? [...(value as Sdk.Histogram).buckets.counts] : [],
  };
}

function mergeHistograms(a: Omit<HistogramPoint, 'attributes'>, b: Omit<HistogramPoint, 'attributes'>): Omit<HistogramPoint, 'attributes'> {
  const sameBuckets = a.boundaries.length === b.boundaries.length && a.boundaries.every((x, i) => x === b.boundaries[i]);
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: a.min === undefined ? b.min : b.min === undefined ? a.min : Math.min(a.min, b.min),
    max: a.max === undefined ? b.max : b.max === undefined ? a.max : Math.max(a.max, b.max),
    boundaries: b.boundaries,
    counts: sameBuckets ? b.counts.map((count, i) => count + (a.counts[i] ?? 0)) : b.counts,
  };
}

function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}
