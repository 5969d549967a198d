import { context, diag, DiagLogLevel, propagation, trace, type Tracer } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { buildTraces } from './tree.ts';
import { hrToMs, type RawSpan, type SpanNode, type TraceTree } from './model.ts';

/** Remembers spans between start and end, so a span that never ends can be reported by name. */
class OpenSpanTracker implements SpanProcessor {
  readonly open = new Map<string, ReadableSpan>();
  /**
   * The order spans started in. The SDK stamps start times in whole milliseconds, so spans
   * started in the same millisecond need this to keep their real order.
   */
  readonly startOrder = new Map<string, number>();
  /**
   * When each span really started, to the microsecond: the SDK stamps a start in whole
   * milliseconds (Date.now()) but measures the duration precisely, so without this a child can
   * seem to end after a parent that ended first.
   */
  readonly startedAt = new Map<string, number>();
  /** How many links each span had when it started: links given at start, not added afterwards. */
  readonly linksAtStart = new Map<string, number>();
  /** The wall clock when each span started, to tell the SDK's own stamp from a start time the code gave. */
  private readonly wallAt = new Map<string, number>();
  private counter = 0;
  onStart(span: ReadableSpan): void {
    const id = span.spanContext().spanId;
    this.open.set(id, span);
    this.startOrder.set(id, this.counter++);
    this.startedAt.set(id, preciseStart(span));
    this.wallAt.set(id, Date.now());
    this.linksAtStart.set(id, span.links.length);
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span.spanContext().spanId);
  }
  reset(): void {
    this.open.clear();
    this.startOrder.clear();
    this.startedAt.clear();
    this.wallAt.clear();
    this.linksAtStart.clear();
  }
  raw(span: ReadableSpan, ended: boolean): RawSpan {
    const id = span.spanContext().spanId;
    const measured = this.startedAt.get(id);
    // A start time the code gave explicitly is the span's own; the SDK (2.12) says so in `_startTimeProvided`,
    // and without it, its own stamp is Date.now() taken just before onStart.
    const provided = (span as unknown as { _startTimeProvided?: unknown })._startTimeProvided;
    const explicit = typeof provided === 'boolean' ? provided : Math.abs((this.wallAt.get(id) ?? 0) - hrToMs(span.startTime)) > 1;
    const refines = measured !== undefined && !explicit;
    return { span, ended, seq: this.startOrder.get(id), startMs: refines ? measured : undefined, linksAtStart: this.linksAtStart.get(id) };
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The span's start on the clock its duration is measured with. The SDK (2.12) keeps it as
 * `_performanceStartTime`; without it (another SDK), the moment onStart runs comes close.
 */
function preciseStart(span: ReadableSpan): number {
  const internal = (span as unknown as { _performanceStartTime?: unknown })._performanceStartTime;
  return performance.timeOrigin + (typeof internal === 'number' ? internal : performance.now());
}

/** What the OpenTelemetry API tells `diag` while the learner's code runs (duplicate registrations, mostly). */
const diagnostics: string[] = [];

/** The API logs a duplicate registration as an Error's whole stack: keep the sentence, drop the frames. */
function record(message: string): void {
  diagnostics.push(message.split('\n', 1)[0] ?? message);
}

export interface TraceHarness {
  readonly provider: NodeTracerProvider;
  /** Spans that ended, in the order they ended. */
  finishedSpans(): ReadableSpan[];
  /** Spans started and not (yet) ended. */
  openSpans(): ReadableSpan[];
  /** Every span captured since the last reset, ended or not, assembled into traces. */
  traces(): TraceTree[];
  /** Every captured span as a node, in start order across traces (by wall-clock start). */
  spans(): SpanNode[];
  /** Messages the OpenTelemetry API logged through `diag` since the last reset. */
  diagnostics(): readonly string[];
  /** A tracer for the checker's own spans (a test client, a parent the learner's code should join). */
  tracer(name?: string): Tracer;
  /**
   * Resolves once no span is open any more, or after `timeoutMs` (default 500): a server may end
   * its span just after its answer left, so checks of a hop wait for the spans to settle.
   */
  settled(timeoutMs?: number): Promise<void>;
  reset(): void;
  /** Undefined when the global provider, context manager and propagator are still the harness's own; otherwise what changed. */
  verifyGlobals(): string | undefined;
  /** Puts the harness's provider, context manager and propagator back as the globals. */
  restoreGlobals(): void;
}

/**
 * One harness per process, kept on the global object: if this module is evaluated again in
 * the same process (vi.resetModules, a second copy of the module), it must find the provider
 * that is already registered, not register a second one that the API would refuse.
 */
const INSTALLED = Symbol.for('tracecraft.trace-harness');

function installedHarness(): TraceHarness | undefined {
  return (globalThis as { [INSTALLED]?: TraceHarness })[INSTALLED];
}

/**
 * The one tracer provider of a checker process: an in-memory exporter behind a simple
 * processor, the AsyncLocalStorage context manager and the W3C propagators.
 * Registered once; tests reset it instead of shutting it down, because an
 * InMemorySpanExporter that was shut down rejects every later export.
 */
export function traceHarness(): TraceHarness {
  const existing = installedHarness();
  if (existing) return existing;
  const exporter = new InMemorySpanExporter();
  const tracker = new OpenSpanTracker();
  const provider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), tracker],
  });
  diag.setLogger(
    {
      error: record,
      warn: record,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  provider.register();
  let registered = currentGlobals();

  const harness: TraceHarness = {
    provider,
    finishedSpans: () => exporter.getFinishedSpans(),
    openSpans: () => [...tracker.open.values()],
    traces: () =>
      buildTraces([
        ...exporter.getFinishedSpans().map((span) => tracker.raw(span, true)),
        ...[...tracker.open.values()].map((span) => tracker.raw(span, false)),
      ]),
    spans: () => inStartOrder(harness.traces()),
    diagnostics: () => diagnostics,
    tracer: (name = 'tracecraft-checker') => provider.getTracer(name),
    settled: async (timeoutMs = 500) => {
      const deadline = performance.now() + timeoutMs;
      while (tracker.open.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    reset: () => {
      exporter.reset();
      tracker.reset();
      diagnostics.length = 0;
    },
    verifyGlobals: () => {
      const global = trace.getTracerProvider() as { getDelegate?: () => unknown };
      const delegate = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
      if (delegate !== provider) return GLOBALS_REPLACED;
      const now = currentGlobals();
      if (now.context !== registered.context) return CONTEXT_MANAGER_REPLACED;
      if (now.propagation !== registered.propagation) return PROPAGATOR_REPLACED;
      return undefined;
    },
    restoreGlobals: () => {
      trace.disable();
      context.disable();
      propagation.disable();
      provider.register();
      // register() installs a new context manager and propagator: they are the harness's own now.
      registered = currentGlobals();
    },
  };
  (globalThis as { [INSTALLED]?: TraceHarness })[INSTALLED] = harness;
  return harness;
}

/** Spans of every trace in wall-clock start order (a span's `start` is relative to its own trace). */
function inStartOrder(traces: readonly TraceTree[]): SpanNode[] {
  return traces
    .flatMap((t) => t.spans.map((span) => ({ span, at: t.startEpochMs + span.start })))
    .sort((a, b) => a.at - b.at || (a.span.seq ?? 0) - (b.span.seq ?? 0))
    .map((entry) => entry.span);
}

/** The API keeps the registered context manager and propagator on a global; reading it is the only way to compare. */
function currentGlobals(): { context: unknown; propagation: unknown } {
  const key = Symbol.for('opentelemetry.js.api.1');
  const globals = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[key];
  return { context: globals?.['context'], propagation: globals?.['propagation'] };
}

export const GLOBALS_REPLACED =
  'your code replaced the global tracer provider (trace.setGlobalTracerProvider, trace.disable or provider.register()). ' +
  'The workbook installs the provider that records your spans: get tracers with trace.getTracer(name) and leave the globals alone.';
export const CONTEXT_MANAGER_REPLACED =
  'your code replaced the global context manager (context.setGlobalContextManager or context.disable). ' +
  'The workbook installs the AsyncLocalStorage context manager; use context.with / context.bind instead of replacing it.';
export const PROPAGATOR_REPLACED =
  'your code replaced the global propagator (propagation.setGlobalPropagator or propagation.disable). ' +
  'The workbook installs the W3C trace-context propagator; use propagation.inject / propagation.extract with it.';
