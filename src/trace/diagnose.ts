import type { SpanNode, TraceTree } from './model.ts';
import type { Mismatch } from './match.ts';

/**
 * The tracing mistakes a tutor would point at by name. Each finding is one sentence
 * that says what happened and what to do; the checker prints them under a mismatch.
 */
export function diagnose(traces: readonly TraceTree[], mismatch?: Mismatch): string[] {
  const spans = traces.flatMap((t) => t.spans);
  const findings: string[] = [];
  for (const span of spans.filter((s) => !s.ended)) {
    findings.push(`span "${span.name}" was started but never ended: call span.end(), in a finally block so errors end it too.`);
  }
  if (mismatch) findings.push(...explainMismatch(traces, spans, mismatch));
  for (const span of spans) {
    const raw = rawValueInName(span.name);
    if (raw) findings.push(`span name "${span.name}" contains ${raw}: span names must be low-cardinality (a route like /orders/:id, not the id itself).`);
    const status = span.attributes['http.response.status_code'];
    if (span.kind === 'server' && span.status === 'error' && typeof status === 'number' && status >= 400 && status < 500) {
      findings.push(`SERVER span "${span.name}" answered ${status} and is marked ERROR: a 4xx is the client's mistake, so a server span leaves its status unset.`);
    }
  }
  return [...new Set(findings)];
}

function explainMismatch(traces: readonly TraceTree[], spans: SpanNode[], mismatch: Mismatch): string[] {
  const findings: string[] = [];
  const wanted = mismatch.path.at(-1);
  const parentName = mismatch.path.at(-2);
  if (mismatch.spanId === undefined && wanted !== undefined && parentName !== undefined) {
    const elsewhere = spans.filter((s) => s.name === wanted);
    for (const span of elsewhere) {
      const parent = spans.find((s) => s.spanId === span.parentSpanId);
      if (span.parentSpanId === undefined || !parent) {
        const ownTrace = traces.find((t) => t.traceId === span.traceId);
        const separate = ownTrace && ownTrace.roots.includes(span) && ownTrace.spans.every((s) => s.name !== parentName);
        findings.push(
          separate
            ? `span "${wanted}" is the root of a trace of its own: it was started outside the active context of "${parentName}" (context lost across a callback, a timer or an emitter?). Start it inside the parent's context: startActiveSpan, or context.with / context.bind.`
            : `span "${wanted}" has no parent: it was started outside the active context of "${parentName}".`,
        );
      } else if (parent.name !== parentName) {
        findings.push(`span "${wanted}" is a child of "${parent.name}", but it belongs under "${parentName}": start it while "${parentName}" is the active span.`);
      }
    }
  }
  const attribute = /^attribute (\S+) is missing/.exec(mismatch.message)?.[1];
  if (attribute) {
    const holders = spans.filter((s) => s.spanId !== mismatch.spanId && s.attributes[attribute] !== undefined);
    for (const holder of holders.slice(0, 2)) {
      findings.push(`attribute ${attribute} is set on span "${holder.name}", not on "${mismatch.path.at(-1) ?? ''}": set it on the span that describes that operation.`);
    }
  }
  return findings;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

function rawValueInName(name: string): string | undefined {
  if (/https?:\/\//.test(name)) return 'a full URL';
  if (UUID.test(name)) return 'a UUID';
  if (/(^|[\s/=:-])\d{2,}($|[\s/?&])/.test(name)) return 'a raw id';
  return undefined;
}
