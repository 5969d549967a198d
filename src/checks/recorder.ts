/**
 * An exporter for tracer providers the learner builds in the checker's own process (the pipeline
 * track: samplers, span processors, one provider per service). The harness's global provider
 * records everything it is given; a provider of the learner's decides for itself what is recorded
 * and exported, and this is where what it exported lands. Spans become the same `TraceTree`s the
 * matcher reads, each span carrying its provider's resource (`service.name`), as spans received
 * over OTLP do, and a few traces are drawn with the check's verdict.
 */
import type { Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { beforeEach, onTestFinished, type TestContext } from 'vitest';
import type { SpanNode, TraceTree } from '../trace/model.ts';
import { buildTraces } from '../trace/tree.ts';
import { attachTraces } from './otlp.ts';

export interface SpanRecorderOptions {
  /** How many traces are drawn with the verdict when the check chose none with `draw()`. Default 3. */
  drawn?: number;
}

export interface SpanRecorder {
  /**
   * The exporter to hand the learner's providers. Several providers may share it; its `shutdown()`
   * changes nothing, so one provider shut down never stops another's exports.
   */
  readonly exporter: SpanExporter;
  /** Every span exported so far in this check, in start order (across traces). */
  spans(): SpanNode[];
  /** What was exported so far in this check, assembled into traces. */
  traces(): TraceTree[];
  /** How many spans were exported so far in this check. */
  count(): number;
  /** How many times a provider called `export` (each call carries one or more spans). */
  exportCalls(): number;
  /** Draws these traces with the check's verdict, instead of the first few exported. */
  draw(traces: readonly TraceTree[]): void;
  /** Forgets what was exported so far (a check that runs two configurations one after the other). */
  reset(): void;
}

export const RECORDER_AUTHORING = {
  outsideCheck: (what: string) =>
    `useSpanRecorder(): "${what}" was read outside a check. The recorder exists from the start of each check to its end; ` +
    'read it inside it() (or a beforeEach).',
} as const;

/** One recorder, for one check: an exporter that keeps every span it is given. */
class Recorder implements SpanRecorder {
  private exported: ReadableSpan[] = [];
  private calls = 0;
  private chosen: TraceTree[] | undefined;

  readonly exporter: SpanExporter = {
    export: (spans: ReadableSpan[], done: (result: ExportResult) => void): void => {
      this.calls += 1;
      this.exported.push(...spans);
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };

  spans(): SpanNode[] {
    return this.traces()
      .flatMap((t) => t.spans.map((span) => ({ span, at: t.startEpochMs + span.start })))
      .sort((a, b) => a.at - b.at)
      .map((entry) => entry.span);
  }

  traces(): TraceTree[] {
    return recordedTraces(this.exported);
  }

  count(): number {
    return this.exported.length;
  }

  exportCalls(): number {
    return this.calls;
  }

  draw(traces: readonly TraceTree[]): void {
    this.chosen = [...traces];
  }

  reset(): void {
    this.exported = [];
    this.calls = 0;
    this.chosen = undefined;
  }

  /** What is drawn with the verdict: the traces the check chose, or the first few. */
  drawnTraces(limit: number): TraceTree[] {
    return this.chosen ?? this.traces().slice(0, limit);
  }
}

/**
 * Exported spans as trace trees, each span with the attributes of its provider's resource. A span
 * the SDK exported has ended: exporters only ever see ended spans.
 */
export function recordedTraces(spans: readonly ReadableSpan[]): TraceTree[] {
  const resources = new Map<string, Attributes>(spans.map((span) => [span.spanContext().spanId, { ...span.resource.attributes }]));
  const traces = buildTraces(spans.map((span) => ({ span, ended: true })));
  for (const trace of traces) {
    for (const node of trace.spans) node.resource = resources.get(node.spanId);
  }
  return traces;
}

/**
 * Call once at the top of a checker file. The returned recorder stands for the current check's own:
 * hand `recorder.exporter` to the learner's providers, then read `recorder.traces()` (after the
 * providers' `forceFlush()`, for a batch processor) with `expectTrace(recorder.traces(), shape, concept)`.
 */
export function useSpanRecorder(options: SpanRecorderOptions = {}): SpanRecorder {
  const limit = options.drawn ?? 3;
  let current: Recorder | undefined;
  beforeEach((context: TestContext) => {
    const recorder = new Recorder();
    current = recorder;
    onTestFinished(() => {
      attachTraces(context.task.meta as Record<string, unknown>, recorder.drawnTraces(limit));
      if (current === recorder) current = undefined;
    });
  });
  const now = (what: string): Recorder => {
    if (!current) throw new Error(RECORDER_AUTHORING.outsideCheck(what));
    return current;
  };
  return {
    get exporter() {
      return now('exporter').exporter;
    },
    spans: () => now('spans').spans(),
    traces: () => now('traces').traces(),
    count: () => now('count').count(),
    exportCalls: () => now('exportCalls').exportCalls(),
    draw: (traces) => now('draw').draw(traces),
    reset: () => now('reset').reset(),
  };
}
