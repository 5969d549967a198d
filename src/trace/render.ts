import type { Attributes } from '@opentelemetry/api';
import { formatValue, type SpanNode, type TraceTree } from './model.ts';
import type { SpanShape } from './match.ts';
import { toShapeView, type ShapeDetail, type ShapeView } from './shape-view.ts';

export type { ShapeView, ShapeDetail } from './shape-view.ts';
import { padEnd, plain, visibleLength, type Paint } from './paint.ts';

export interface RenderOptions {
  paint?: Paint;
  /** Show each span's attributes, events and links under it. Default true. */
  details?: boolean;
  /** Width of the time bar in characters; 0 hides it. Default 24. */
  barWidth?: number;
  /** Span id of a line to mark (✗) as the first difference. */
  mark?: string | undefined;
  /** Keep a two-column gutter for the mark on every line, so a marked and an unmarked tree line up. Default: when `mark` is set. */
  gutter?: boolean;
  /** Show each span's tracer name (instrumentation scope), for a check that asks for one. Default false. */
  scope?: boolean;
}

export interface Rendered {
  lines: string[];
  /** The line of each span, by span id (or of each shape, for expected shapes). */
  lineOf: Map<unknown, number>;
}

const MARK = '✗';
const NEVER_ENDED = '⚠ never ended';
const PARENT_NOT_RECORDED = '(parent not recorded)';

/** The gutter before a line: the mark, blanks of the same width, or nothing when nothing is marked. */
function gutter(marking: boolean, marked: boolean, p: Paint): string {
  if (!marking) return '';
  return marked ? p.red(`${MARK} `) : '  ';
}

/**
 * Walks a forest, drawing each node with its branch prefix (├─ └─) and the prefix its
 * detail lines take (│ continues the branch down to the node's children).
 */
function tree<T>(
  roots: readonly T[],
  childrenOf: (node: T) => readonly T[],
  draw: (node: T, prefix: string, detailPrefix: string) => string[],
): { lines: string[]; lineOf: Map<T, number> } {
  const lines: string[] = [];
  const lineOf = new Map<T, number>();
  const walk = (node: T, prefix: string, childPrefix: string): void => {
    lineOf.set(node, lines.length);
    const children = childrenOf(node);
    lines.push(...draw(node, prefix, childPrefix + (children.length > 0 ? '│  ' : '   ')));
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      walk(child, childPrefix + (last ? '└─ ' : '├─ '), childPrefix + (last ? '   ' : '│  '));
    });
  };
  for (const root of roots) walk(root, '', '');
  return { lines, lineOf };
}

/** Long multi-line values (a stack trace) would bury the tree: show their first line and a count. */
function formatAttributeValue(value: Attributes[string]): string {
  if (typeof value !== 'string' || !value.includes('\n')) return formatValue(value);
  const lines = value.split('\n');
  return `${formatValue(lines[0] ?? '')} (+${lines.length - 1} more line${lines.length === 2 ? '' : 's'})`;
}

function formatAttributes(attributes: Attributes): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${formatAttributeValue(value)}`)
    .join(' ');
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(0)} ms`;
}

/**
 * The span's place in the trace, `width` columns for the trace's whole duration: █ while it
 * ran (at least one column, however short), ░ from its start to the end of the trace when it never ended.
 */
export function timeBar(span: Pick<SpanNode, 'start' | 'end'>, total: number, width: number): string {
  if (width <= 0) return '';
  const scale = total > 0 ? width / total : 0;
  const from = Math.max(0, Math.min(width - 1, Math.round(span.start * scale)));
  const to = span.end === undefined ? width : Math.min(width, Math.max(from + 1, Math.round(span.end * scale)));
  const fill = span.end === undefined ? '░' : '█';
  return '│' + ' '.repeat(from) + fill.repeat(to - from) + ' '.repeat(width - to) + '│';
}

/** The service that made a span, when a trace crosses processes: spans received over OTLP carry their resource. */
function serviceOf(span: SpanNode): string | undefined {
  const name = span.resource?.['service.name'];
  return typeof name === 'string' ? name : undefined;
}

function spanLabel(span: SpanNode, orphan: boolean, p: Paint, showService = false): string {
  const kind = span.kind === 'internal' ? p.dim('INTERNAL') : p.cyan(span.kind.toUpperCase());
  const status =
    span.status === 'error'
      ? p.red(` ERROR${span.statusMessage ? ` "${span.statusMessage}"` : ''}`)
      : span.status === 'ok'
        ? p.green(' OK')
        : '';
  const open = span.ended ? '' : p.yellow(` ${NEVER_ENDED}`);
  const parent = orphan ? p.dim(` ${PARENT_NOT_RECORDED}`) : '';
  const service = showService && serviceOf(span) !== undefined ? p.dim(` [${serviceOf(span)}]`) : '';
  return `${p.bold(span.name)}  ${kind}${status}${open}${parent}${service}`;
}

function spanDetails(span: SpanNode, detail: string, p: Paint, scope: boolean): string[] {
  const lines: string[] = [];
  if (scope) lines.push(p.dim(`${detail}tracer "${span.scope}"`));
  const attributes = formatAttributes(span.attributes);
  if (attributes) lines.push(p.dim(`${detail}${attributes}`));
  for (const event of span.events) {
    const eventAttributes = formatAttributes(event.attributes);
    lines.push(p.magenta(`${detail}• ${event.name}`) + p.dim(eventAttributes ? ` ${eventAttributes}` : ''));
  }
  for (const link of span.links) {
    const attributes = formatAttributes(link.attributes);
    lines.push(p.dim(`${detail}↗ link to trace ${link.traceId.slice(0, 8)}… span ${link.spanId}${attributes ? ` ${attributes}` : ''}`));
  }
  return lines;
}

/**
 * Draws a trace as an indented tree with a time bar per span (a waterfall). A trace with
 * several roots (spans whose parent was not recorded) draws each root at the left margin,
 * noting the missing parent.
 */
export function renderTrace(trace: TraceTree, options: RenderOptions = {}): Rendered {
  const p = options.paint ?? plain;
  const details = options.details ?? true;
  const barWidth = options.barWidth ?? 24;
  const marking = options.gutter ?? options.mark !== undefined;
  const roots = new Set(trace.roots);
  const heads = new Map<SpanNode, string>();
  // Spans of several processes in one trace: each says which service made it.
  const showService = new Set(trace.spans.map(serviceOf).filter((s) => s !== undefined)).size > 1;
  const drawn = tree(trace.roots, (s) => s.children, (span, prefix, detail) => {
    const orphan = roots.has(span) && span.parentSpanId !== undefined;
    const head = `${gutter(marking, options.mark === span.spanId, p)}${prefix}${spanLabel(span, orphan, p, showService)}`;
    heads.set(span, head);
    const below = details ? spanDetails(span, detail, p, options.scope ?? false).map((line) => gutter(marking, false, p) + line) : [];
    return [head, ...below];
  });
  if (barWidth > 0 && heads.size > 0) {
    const column = Math.max(...[...heads.values()].map(visibleLength)) + 2;
    for (const [span, text] of heads) {
      const index = drawn.lineOf.get(span);
      if (index === undefined) continue;
      const time = (span.end === undefined ? '?' : formatDuration(span.end - span.start)).padStart(9);
      drawn.lines[index] = `${padEnd(text, column)}${p.dim(timeBar(span, trace.durationMs, barWidth))} ${p.dim(time)}`;
    }
  }
  const lineOf = new Map<unknown, number>();
  for (const [span, line] of drawn.lineOf) lineOf.set(span.spanId, line);
  return { lines: drawn.lines, lineOf };
}

/** Draws several traces one after the other, each headed by its trace id. */
export function renderTraces(traces: readonly TraceTree[], options: RenderOptions = {}): string[] {
  const p = options.paint ?? plain;
  if (traces.length === 0) return [p.dim('(no spans were recorded)')];
  return traces.flatMap((trace, i) => [
    ...(traces.length > 1 ? [p.dim(`trace ${i + 1} of ${traces.length} (${trace.traceId.slice(0, 8)}…)`)] : []),
    ...renderTrace(trace, options).lines,
  ]);
}

function detailLine(detail: ShapeDetail, prefix: string, p: Paint): string {
  if (detail.kind === 'event') return p.magenta(`${prefix}• ${detail.text}`) + p.dim(detail.extra ? ` ${detail.extra}` : '');
  return p.dim(`${prefix}${detail.text}`);
}

/** Draws an expected shape the way a trace is drawn, so the two can stand side by side. */
export function renderShapeView(view: ShapeView, options: { paint?: Paint; gutter?: boolean } = {}): Rendered {
  const p = options.paint ?? plain;
  const marking = options.gutter ?? hasMark(view);
  const drawn = tree([view], (s) => s.children, (s, prefix, detail) => [
    `${gutter(marking, s.marked, p)}${prefix}${p.bold(s.name)}${s.facts.length > 0 ? `  ${s.facts.join(' ')}` : ''}`,
    ...s.details.map((d) => gutter(marking, false, p) + detailLine(d, detail, p)),
  ]);
  return { lines: drawn.lines, lineOf: drawn.lineOf as Map<unknown, number> };
}

function hasMark(view: ShapeView): boolean {
  return view.marked || view.children.some(hasMark);
}

/** Draws an expected shape the same way, so it can stand beside the actual tree. */
export function renderShape(
  shape: SpanShape,
  options: { paint?: Paint; mark?: SpanShape | undefined; gutter?: boolean } = {},
): Rendered {
  const view = toShapeView(shape, options.mark);
  const rendered = renderShapeView(view, { ...(options.paint ? { paint: options.paint } : {}), gutter: options.gutter ?? options.mark !== undefined });
  // Lines by the caller's shapes, not by their views.
  const lineOf = new Map<unknown, number>();
  const walk = (s: SpanShape, v: ShapeView): void => {
    const line = rendered.lineOf.get(v);
    if (line !== undefined) lineOf.set(s, line);
    (s.children ?? []).forEach((child, i) => {
      const childView = v.children[i];
      if (childView) walk(child, childView);
    });
  };
  walk(shape, view);
  return { lines: rendered.lines, lineOf };
}

/** Two blocks of lines side by side when they fit the width, one above the other when they don't. No trailing blanks. */
export function sideBySide(
  left: { title: string; lines: string[] },
  right: { title: string; lines: string[] },
  width = 160,
): string[] {
  const leftWidth = Math.max(visibleLength(left.title), ...left.lines.map(visibleLength)) + 4;
  const rightWidth = Math.max(visibleLength(right.title), ...right.lines.map(visibleLength));
  if (leftWidth + rightWidth > width) {
    return [left.title, ...left.lines.map((l) => `  ${l}`), '', right.title, ...right.lines.map((l) => `  ${l}`)];
  }
  const rows = Math.max(left.lines.length, right.lines.length);
  const out = [padEnd(left.title, leftWidth) + right.title];
  for (let i = 0; i < rows; i++) {
    const beside = right.lines[i] ?? '';
    out.push(beside === '' ? (left.lines[i] ?? '') : padEnd(left.lines[i] ?? '', leftWidth) + beside);
  }
  return out;
}
