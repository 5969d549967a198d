import type { Attributes } from '@opentelemetry/api';
import { formatValue, type SpanNode, type TraceTree } from './model.ts';
import { describeExpected, type ExpectedValue } from './expect-values.ts';
import { describeName, type SpanShape } from './match.ts';
import { padEnd, plain, visibleLength, type Paint } from './paint.ts';

export interface RenderOptions {
  paint?: Paint;
  /** Show each span's attributes, events and links under it. Default true. */
  details?: boolean;
  /** Width of the time bar in characters; 0 hides it. Default 24. */
  barWidth?: number;
  /** Span id of a line to mark as the first difference. */
  mark?: string | undefined;
}

export interface Rendered {
  lines: string[];
  /** The line of each span, by span id (or of each shape, for expected shapes). */
  lineOf: Map<unknown, number>;
}

const MARK = '✗';

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

function formatAttributes(attributes: Attributes): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ');
}

function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(0)} ms`;
}

function timeBar(span: SpanNode, total: number, width: number): string {
  if (width <= 0) return '';
  const scale = total > 0 ? width / total : 0;
  const from = Math.min(width - 1, Math.floor(span.start * scale));
  const to = span.end === undefined ? width : Math.max(from + 1, Math.ceil(span.end * scale));
  const fill = span.end === undefined ? '░' : '█';
  return '│' + ' '.repeat(from) + fill.repeat(Math.min(width, to) - from) + ' '.repeat(Math.max(0, width - to)) + '│';
}

function spanLabel(span: SpanNode, p: Paint): string {
  const kind = span.kind === 'internal' ? p.dim('INTERNAL') : p.cyan(span.kind.toUpperCase());
  const status =
    span.status === 'error'
      ? p.red(` ERROR${span.statusMessage ? ` "${span.statusMessage}"` : ''}`)
      : span.status === 'ok'
        ? p.green(' OK')
        : '';
  const open = span.ended ? '' : p.yellow(' ⚠ never ended');
  return `${p.bold(span.name)}  ${kind}${status}${open}`;
}

/** Draws a trace as an indented tree with a time bar per span (a waterfall). */
export function renderTrace(trace: TraceTree, options: RenderOptions = {}): Rendered {
  const p = options.paint ?? plain;
  const details = options.details ?? true;
  const barWidth = options.barWidth ?? 24;
  const heads = new Map<SpanNode, string>();
  const drawn = tree(trace.roots, (s) => s.children, (span, prefix, detail) => {
    const marker = options.mark === span.spanId ? p.red(`${MARK} `) : '';
    const head = `${marker}${prefix}${spanLabel(span, p)}`;
    heads.set(span, head);
    const lines = [head];
    if (details) {
      const attributes = formatAttributes(span.attributes);
      if (attributes) lines.push(p.dim(`${detail}  ${attributes}`));
      for (const event of span.events) {
        const eventAttributes = formatAttributes(event.attributes);
        lines.push(p.magenta(`${detail}  • ${event.name}`) + p.dim(eventAttributes ? ` ${eventAttributes}` : ''));
      }
      for (const link of span.links) {
        lines.push(p.dim(`${detail}  ↗ link to trace ${link.traceId.slice(0, 8)}… span ${link.spanId}`));
      }
    }
    return lines;
  });
  if (barWidth > 0) {
    const column = Math.max(...[...heads.values()].map(visibleLength)) + 2;
    for (const [span, text] of heads) {
      const index = drawn.lineOf.get(span);
      if (index === undefined) continue;
      const time = span.end === undefined ? '      ?' : duration(span.end - span.start).padStart(9);
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

function formatExpectedAttributes(attributes: Record<string, ExpectedValue>): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${describeExpected(value)}`)
    .join(' ');
}

/** Draws an expected shape the same way, so it can stand beside the actual tree. */
export function renderShape(shape: SpanShape, options: { paint?: Paint; mark?: SpanShape | undefined } = {}): Rendered {
  const p = options.paint ?? plain;
  const drawn = tree([shape], (s) => s.children ?? [], (s, prefix, detail) => {
    const marker = options.mark === s ? p.red(`${MARK} `) : '';
    const kind = s.kind ? `  ${s.kind.toUpperCase()}` : '';
    const status = s.status ? `  ${s.status.toUpperCase()}` : '';
    const head = `${marker}${prefix}${p.bold(typeof s.name === 'string' ? s.name : describeName(s.name))}${kind}${status}`;
    const lines = [head];
    if (s.attributes && Object.keys(s.attributes).length > 0) lines.push(p.dim(`${detail}  ${formatExpectedAttributes(s.attributes)}`));
    for (const event of s.events ?? []) {
      const attributes = event.attributes ? ` ${formatExpectedAttributes(event.attributes)}` : '';
      lines.push(p.magenta(`${detail}  • ${typeof event.name === 'string' ? event.name : String(event.name)}`) + p.dim(attributes));
    }
    const links = s.linkCount ?? s.links?.length;
    if (links !== undefined) lines.push(p.dim(`${detail}  ↗ ${links} link(s)`));
    const notes = [s.ordered ? 'children in this order' : '', s.exact ? 'no other children' : ''].filter(Boolean);
    if (notes.length > 0 && (s.children?.length ?? 0) > 0) lines.push(p.dim(`${detail}  (${notes.join(', ')})`));
    return lines;
  });
  return { lines: drawn.lines, lineOf: drawn.lineOf as Map<unknown, number> };
}

/** Two blocks of lines side by side when they fit the width, one above the other when they don't. */
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
  for (let i = 0; i < rows; i++) out.push(padEnd(left.lines[i] ?? '', leftWidth) + (right.lines[i] ?? ''));
  return out;
}
