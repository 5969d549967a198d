/**
 * A graded run as OpenTelemetry spans, ready for an exporter or the trace file: one span
 * `check <exercise-id>` with the verdict, linked to every trace of the learner's that the checks
 * recorded, and those traces themselves, span for span. The learner's spans keep their ids, so a
 * trace across two traces (links, a propagated context) stays whole in the backend.
 *
 * Built from the `TraceTree` data the CLI receives from the grader: no SDK runs here, the spans are
 * plain `ReadableSpan` objects that the OTLP serializer reads.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type Link, type SpanContext, type SpanStatus } from '@opentelemetry/api';
import { hrTimeDuration, millisToHrTime } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { RandomIdGenerator, type ReadableSpan, type TimedEvent } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { ExerciseResult } from '../runner/results.ts';
import type { KindName, SpanNode, StatusName, TraceTree } from '../trace/model.ts';
import { LINK_CHECK, RESOURCE_LEARNER, RUN_ATTRIBUTES, RUN_SCOPE, RUN_SPAN_PREFIX } from './run-attributes.ts';

/** Who is learning, with which workbook: the resource of every span sent. */
export interface LearnerIdentity {
  learner: string;
  /** The workbook's version (its package.json). */
  version: string;
}

/** What the CLI knows about a run besides its result. */
export interface RunContext {
  command: 'check' | 'learn';
  /** The learner had opened the exercise or edited its files; undefined when not known. */
  started?: boolean | undefined;
  /** The workshop's title, when one selected the exercises. */
  workshop?: string | undefined;
  /** When grading ended, epoch ms (default: now). */
  endedAt?: number;
}

/** The SDK's default link count limit: a run with more traces than this links to the first ones (and counts them all). */
export const MAX_LINKS = 128;

const KINDS: Record<KindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

const STATUS_CODES: Record<StatusName, SpanStatusCode> = {
  unset: SpanStatusCode.UNSET,
  ok: SpanStatusCode.OK,
  error: SpanStatusCode.ERROR,
};

const NOT_RUN = 'the checks could not run';

function context(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED };
}

interface SpanFields {
  name: string;
  kind: SpanKind;
  context: SpanContext;
  parent: SpanContext | undefined;
  startMs: number;
  endMs: number;
  status: SpanStatus;
  attributes: Attributes;
  links: Link[];
  events: TimedEvent[];
  resource: Resource;
  scope: string;
}

function readableSpan(fields: SpanFields): ReadableSpan {
  const startTime: HrTime = millisToHrTime(fields.startMs);
  const endTime: HrTime = millisToHrTime(Math.max(fields.endMs, fields.startMs));
  return {
    name: fields.name,
    kind: fields.kind,
    spanContext: () => fields.context,
    ...(fields.parent ? { parentSpanContext: fields.parent } : {}),
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status: fields.status,
    attributes: fields.attributes,
    links: fields.links,
    events: fields.events,
    ended: true,
    resource: fields.resource,
    instrumentationScope: { name: fields.scope },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/**
 * Turns graded runs into spans. One per learner and workbook: it keeps one `Resource` object per
 * distinct resource, which is how the OTLP serializer groups spans.
 */
export class RunSpans {
  private readonly ids = new RandomIdGenerator();
  private readonly resources = new Map<string, Resource>();
  private readonly own: Resource;

  constructor(private readonly identity: LearnerIdentity) {
    this.own = resourceFromAttributes({
      [ATTR_SERVICE_NAME]: RUN_SCOPE,
      [ATTR_SERVICE_VERSION]: identity.version,
      [RESOURCE_LEARNER]: identity.learner,
    });
  }

  /** The run span first, then every ended span of the learner's traces (a span never ended never reaches a backend either). */
  spansOf(result: ExerciseResult, run: RunContext): ReadableSpan[] {
    const recorded = this.recordedTraces(result);
    return [this.runSpan(result, run, recorded), ...this.learnerSpans(recorded.map((r) => r.trace))];
  }

  /** Every trace the checks recorded, once each, with the check that recorded it. */
  private recordedTraces(result: ExerciseResult): { check: string; trace: TraceTree }[] {
    const seen = new Set<TraceTree>();
    const out: { check: string; trace: TraceTree }[] = [];
    for (const test of result.tests) {
      for (const trace of test.traces ?? []) {
        if (seen.has(trace)) continue;
        seen.add(trace);
        out.push({ check: test.name, trace });
      }
    }
    return out;
  }

  private runSpan(result: ExerciseResult, run: RunContext, recorded: readonly { check: string; trace: TraceTree }[]): ReadableSpan {
    const endMs = run.endedAt ?? Date.now();
    const failed = result.tests.filter((t) => t.status !== 'pass').map((t) => t.name);
    const passed = result.tests.length - failed.length;
    const attributes: Attributes = {
      [RUN_ATTRIBUTES.learner]: this.identity.learner,
      [RUN_ATTRIBUTES.exercise]: result.id,
      [RUN_ATTRIBUTES.track]: result.track,
      [RUN_ATTRIBUTES.verdict]: result.status,
      [RUN_ATTRIBUTES.passed]: passed,
      [RUN_ATTRIBUTES.total]: result.tests.length,
      [RUN_ATTRIBUTES.traces]: recorded.length,
      [RUN_ATTRIBUTES.command]: run.command,
      ...(failed[0] === undefined ? {} : { [RUN_ATTRIBUTES.firstFailed]: failed[0], [RUN_ATTRIBUTES.failed]: failed }),
      ...(run.started === undefined ? {} : { [RUN_ATTRIBUTES.started]: run.started }),
      ...(run.workshop === undefined ? {} : { [RUN_ATTRIBUTES.workshop]: run.workshop }),
    };
    const links = recorded
      .flatMap(({ check, trace }) => trace.roots.filter((root) => root.ended).map((root) => ({ context: context(trace.traceId, root.spanId), attributes: { [LINK_CHECK]: check } })))
      .slice(0, MAX_LINKS);
    // A verdict that is not a pass is an error of the run, so a backend's "errors only" search finds who is stuck.
    const status: SpanStatus =
      result.status === 'fail' || result.status === 'error' ? { code: SpanStatusCode.ERROR, message: failed[0] ?? NOT_RUN } : { code: SpanStatusCode.UNSET };
    return readableSpan({
      name: `${RUN_SPAN_PREFIX}${result.id}`,
      kind: SpanKind.INTERNAL,
      context: context(this.ids.generateTraceId(), this.ids.generateSpanId()),
      parent: undefined,
      startMs: endMs - (result.durationMs ?? 0),
      endMs,
      status,
      attributes,
      links,
      events: [],
      resource: this.own,
      scope: RUN_SCOPE,
    });
  }

  private learnerSpans(traces: readonly TraceTree[]): ReadableSpan[] {
    const sent = new Set<string>();
    const spans: ReadableSpan[] = [];
    for (const trace of traces) {
      for (const node of trace.spans) {
        const key = `${node.traceId}/${node.spanId}`;
        if (!node.ended || node.end === undefined || sent.has(key)) continue;
        sent.add(key);
        spans.push(this.learnerSpan(trace, node, node.end));
      }
    }
    return spans;
  }

  private learnerSpan(trace: TraceTree, node: SpanNode, end: number): ReadableSpan {
    const at = (ms: number): number => trace.startEpochMs + ms;
    return readableSpan({
      name: node.name,
      kind: KINDS[node.kind],
      context: context(node.traceId, node.spanId),
      parent: node.parentSpanId === undefined ? undefined : context(node.traceId, node.parentSpanId),
      startMs: at(node.start),
      endMs: at(end),
      status: { code: STATUS_CODES[node.status], ...(node.statusMessage === undefined ? {} : { message: node.statusMessage }) },
      attributes: { ...node.attributes },
      links: node.links.map((l) => ({ context: context(l.traceId, l.spanId), attributes: { ...l.attributes } })),
      events: node.events.map((e) => ({ name: e.name, time: millisToHrTime(at(e.at)), attributes: { ...e.attributes } })),
      resource: this.resourceOf(node),
      scope: node.scope,
    });
  }

  /** Spans of the checker's own process carry the workbook's resource; spans received from another process keep theirs, with the learner added. */
  private resourceOf(node: SpanNode): Resource {
    if (node.resource === undefined) return this.own;
    const attributes: Attributes = { ...node.resource, [RESOURCE_LEARNER]: this.identity.learner };
    const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)));
    let resource = this.resources.get(key);
    if (!resource) {
      resource = resourceFromAttributes(attributes);
      this.resources.set(key, resource);
    }
    return resource;
  }
}
