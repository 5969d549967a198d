import { context, diag, DiagLogLevel, propagation, trace, type Tracer } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { buildTraces } from './tree.ts';
import type { SpanNode, TraceTree } from './model.ts';

/** Remembers spans between start and end, so a span that never ends can be reported by name. */
class OpenSpanTracker implements SpanProcessor {
  readonly open = new Map<string, ReadableSpan>();
  onStart(span: ReadableSpan): void {
    this.open.set(span.spanContext().spanId, span);
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span.spanContext().spanId);
  }
  reset(): void {
    this.open.clear();
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** What the OpenTelemetry API tells `diag` while the learner's code runs (duplicate registrations, mostly). */
const diagnostics: string[] = [];

export interface TraceHarness {
  readonly provider: NodeTracerProvider;
  /** Spans that ended, in the order they ended. */
  finishedSpans(): ReadableSpan[];
  /** Spans started and not (yet) ended. */
  openSpans(): ReadableSpan[];
  /** Every span captured since the last reset, ended or not, assembled into traces. */
  traces(): TraceTree[];
  /** Every captured span as a node, in start order across traces. */
  spans(): SpanNode[];
  /** Messages the OpenTelemetry API logged through `diag` since the last reset. */
  diagnostics(): readonly string[];
  /** A tracer for the checker's own spans (a test client, a parent the learner's code should join). */
  tracer(name?: string): Tracer;
  reset(): void;
  /** Ok when the global provider, context manager and propagator are still the harness's own. */
  verifyGlobals(): string | undefined;
  restoreGlobals(): void;
}

let installed: TraceHarness | undefined;

/**
 * The one tracer provider of a checker process: an in-memory exporter behind a simple
 * processor, the AsyncLocalStorage context manager and the W3C propagators.
 * Registered once; tests reset it instead of shutting it down, because an
 * InMemorySpanExporter that was shut down rejects every later export.
 */
export function traceHarness(): TraceHarness {
  if (installed) return installed;
  const exporter = new InMemorySpanExporter();
  const tracker = new OpenSpanTracker();
  const provider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), tracker],
  });
  diag.setLogger(
    {
      error: (message) => diagnostics.push(message),
      warn: (message) => diagnostics.push(message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  provider.register();
  const registeredContextManager = currentContextManager();

  const harness: TraceHarness = {
    provider,
    finishedSpans: () => exporter.getFinishedSpans(),
    openSpans: () => [...tracker.open.values()],
    traces: () =>
      buildTraces([
        ...exporter.getFinishedSpans().map((span) => ({ span, ended: true })),
        ...[...tracker.open.values()].map((span) => ({ span, ended: false })),
      ]),
    spans: () => harness.traces().flatMap((t) => t.spans).sort((a, b) => a.start - b.start),
    diagnostics: () => diagnostics,
    tracer: (name = 'tracecraft-checker') => provider.getTracer(name),
    reset: () => {
      exporter.reset();
      tracker.reset();
      diagnostics.length = 0;
    },
    verifyGlobals: () => {
      const global = trace.getTracerProvider() as { getDelegate?: () => unknown };
      const delegate = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
      if (delegate !== provider) return GLOBALS_REPLACED;
      if (currentContextManager() !== registeredContextManager) return CONTEXT_MANAGER_REPLACED;
      return undefined;
    },
    restoreGlobals: () => {
      trace.disable();
      context.disable();
      propagation.disable();
      provider.register();
    },
  };
  installed = harness;
  return harness;
}

/** The API keeps the registered context manager on a global; reading it is the only way to compare. */
function currentContextManager(): unknown {
  const key = Symbol.for('opentelemetry.js.api.1');
  const globals = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[key];
  return globals?.['context'];
}

export const GLOBALS_REPLACED =
  'your code replaced the global tracer provider (trace.setGlobalTracerProvider, trace.disable or provider.register()). ' +
  'The workbook installs the provider that records your spans: get tracers with trace.getTracer(name) and leave the globals alone.';
export const CONTEXT_MANAGER_REPLACED =
  'your code replaced the global context manager (context.setGlobalContextManager or context.disable). ' +
  'The workbook installs the AsyncLocalStorage context manager; use context.with / context.bind instead of replacing it.';
