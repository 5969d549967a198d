import type { AttributeValue } from '@opentelemetry/api';
import type { SpanNode, TraceTree } from './model.ts';
import { nameMatches, type Mismatch } from './match.ts';

/** What a tutor says about each mistake, in one place. */
export const DIAGNOSES = {
  neverEnded: (name: string) =>
    `span "${name}" was started but never ended: call span.end(), in a finally block so errors end it too.`,
  ownTrace: (name: string, parent: string) =>
    `span "${name}" is the root of a trace of its own: it was started outside the active context of "${parent}" ` +
    `(context lost across a callback, a timer or an emitter?). Start it inside the parent's context: startActiveSpan, or context.with / context.bind.`,
  lostAcrossProcess: (name: string, kind: string, parent: string) =>
    `span "${name}" (${kind}) is the root of a trace of its own instead of continuing "${parent}": across a process boundary ` +
    'the context travels only in the message\'s headers. Inject it where the request or message is sent (propagation.inject into the headers) ' +
    'and extract it where it is received (propagation.extract, then start the span in the extracted context).',
  noParent: (name: string, parent: string) => `span "${name}" has no parent: it was started outside the active context of "${parent}".`,
  wrongParent: (name: string, actual: string, expected: string) =>
    `span "${name}" is a child of "${actual}", but it belongs under "${expected}": start it while "${expected}" is the active span.`,
  rawValueInName: (names: readonly string[], what: string) =>
    `${names.length === 1 ? 'span name' : 'span names'} ${names.map((n) => `"${n}"`).join(', ')} ` +
    `${names.length === 1 ? 'contains' : 'contain'} ${what}: span names must be low-cardinality (a route like /orders/:id, not the id itself).`,
  attributeElsewhere: (key: string, holder: string, expected: string) =>
    `attribute ${key} is set on span "${holder}", not on "${expected}": set it on the span that describes that operation.`,
  serverError4xx: (name: string, status: number) =>
    `SERVER span "${name}" answered ${status} and is marked ERROR: a 4xx is the client's mistake, so a server span leaves its status unset.`,
} as const;

/**
 * The tracing mistakes a tutor would point at by name. Each finding is one sentence
 * that says what happened and what to do; the checker prints them under a mismatch.
 */
export function diagnose(traces: readonly TraceTree[], mismatch?: Mismatch): string[] {
  const spans = traces.flatMap((t) => t.spans);
  const findings = [
    ...spans.filter((s) => !s.ended).map((s) => DIAGNOSES.neverEnded(s.name)),
    ...(mismatch ? [...misplacedSpans(traces, spans, mismatch), ...attributeElsewhere(traces, mismatch)] : []),
    ...rawValueFindings(spans),
    ...spans.flatMap(serverErrorFinding),
  ];
  return [...new Set(findings)];
}

/** A missing child (same name, and kind when the shape gives one) that exists elsewhere: a root of its own (context lost) or under another parent. */
function misplacedSpans(traces: readonly TraceTree[], spans: readonly SpanNode[], mismatch: Mismatch): string[] {
  const wanted = mismatch.path.at(-1);
  const parentName = mismatch.path.at(-2);
  if (mismatch.spanId !== undefined || wanted === undefined || parentName === undefined) return [];
  const { name, kind } = mismatch.shape;
  const sender = parentShapeKind(traces, mismatch);
  return spans
    .filter((s) => nameMatches(name, s.name) && (kind === undefined || s.kind === kind))
    .flatMap((span): string[] => {
      const parent = spans.find((s) => s.spanId === span.parentSpanId);
      if (!parent) {
        const own = traces.find((t) => t.traceId === span.traceId);
        const separate = own !== undefined && own.spans.every((s) => s === span || s.name !== parentName);
        if (!separate) return [DIAGNOSES.noParent(span.name, parentName)];
        // A receiving span (SERVER, CONSUMER) under a sending one (CLIENT, PRODUCER) lost the context at a process boundary.
        const receives = span.kind === 'server' || span.kind === 'consumer' || sender === 'client' || sender === 'producer';
        return [receives ? DIAGNOSES.lostAcrossProcess(span.name, span.kind.toUpperCase(), parentName) : DIAGNOSES.ownTrace(span.name, parentName)];
      }
      return parent.name === parentName ? [] : [DIAGNOSES.wrongParent(span.name, parent.name, parentName)];
    });
}

/** The kind of the recorded span the missing child belongs under (the last span matched on the path). */
function parentShapeKind(traces: readonly TraceTree[], mismatch: Mismatch): string | undefined {
  const parentName = mismatch.path.at(-2);
  return traces.flatMap((t) => t.spans).find((s) => s.name === parentName)?.kind;
}

/** A required attribute is missing, but another span of the same trace carries it. */
function attributeElsewhere(traces: readonly TraceTree[], mismatch: Mismatch): string[] {
  const key = mismatch.missingAttribute;
  const trace = traces.find((t) => t.spans.some((s) => s.spanId === mismatch.spanId));
  const target = trace?.spans.find((s) => s.spanId === mismatch.spanId);
  if (!key || !trace || !target) return [];
  return trace.spans
    .filter((s) => s !== target && s.name !== target.name && s.attributes[key] !== undefined)
    .slice(0, 2)
    .map((holder) => DIAGNOSES.attributeElsewhere(key, holder.name, target.name));
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** Raw values that make a span name high-cardinality, and how to name them. Routes like /orders/:id pass. */
const RAW_VALUES: readonly (readonly [RegExp, string])[] = [
  [/https?:\/\//i, 'a full URL'],
  [/\?[^\s=?]+=/, 'a query string'],
  [UUID, 'a UUID'],
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{16,}\b/i, 'a raw id'],
  [/\/\d+(?=$|[/?#\s])/, 'a raw id'],
  [/[=#:]\d+\b/, 'a raw id'],
  [/(^|[\s_-])\d{3,}\b/, 'a raw id'],
];

export function rawValueInName(name: string): string | undefined {
  return RAW_VALUES.find(([pattern]) => pattern.test(name))?.[1];
}

/** One finding per kind of raw value, naming up to three spans (a loop makes the same mistake many times). */
function rawValueFindings(spans: readonly SpanNode[]): string[] {
  const byWhat = new Map<string, Set<string>>();
  for (const span of spans) {
    const what = rawValueInName(span.name);
    if (what) byWhat.set(what, (byWhat.get(what) ?? new Set()).add(span.name));
  }
  return [...byWhat].map(([what, names]) => DIAGNOSES.rawValueInName([...names].slice(0, 3), what));
}

function statusCode(value: AttributeValue | undefined): number | undefined {
  const code = typeof value === 'string' ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}

function serverErrorFinding(span: SpanNode): string[] {
  const code = statusCode(span.attributes['http.response.status_code'] ?? span.attributes['http.status_code']);
  if (span.kind !== 'server' || span.status !== 'error' || code === undefined || code < 400 || code >= 500) return [];
  return [DIAGNOSES.serverError4xx(span.name, code)];
}
