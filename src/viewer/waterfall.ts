/**
 * Traces and expected shapes as HTML waterfalls: one row per span, indented under its parent,
 * with its kind and status, a bar placed to scale within its trace, and its duration. Each row is
 * a button; what it shows when chosen (attributes, events, links, status) is a <template> beside
 * the waterfall that the page's script copies into the details panel. The same data the terminal
 * renderer draws (src/trace/render.ts), laid out for a browser.
 */
import type { Attributes } from '@opentelemetry/api';
import { formatValue, type SpanNode, type TraceTree } from '../trace/model.ts';
import { formatDuration } from '../trace/render.ts';
import type { ShapeView } from '../trace/shape-view.ts';
import { attrs, join, text } from './html.ts';

/** The words of the waterfalls, in one place. */
export const WATERFALL_TEXT = {
  firstDifference: 'first difference',
  neverEnded: 'never ended',
  parentNotRecorded: 'parent not recorded',
  noAttributes: 'no attributes',
  attributes: 'Attributes',
  events: 'Events',
  links: 'Links',
  expectedShape: 'What the check expects of this span:',
  expectsNothingMore: 'only that it is here, with this name',
  differsHere: (difference: string) => `The first difference is here: ${difference}`,
  traceOf: (n: number, of: number, id: string) => `trace ${n} of ${of} (${id.slice(0, 8)}…)`,
  axis: (total: string) => `0 – ${total}`,
  linkTo: (traceId: string, spanId: string) => `trace ${traceId.slice(0, 8)}… span ${spanId}`,
  at: (ms: string) => `at ${ms}`,
} as const;

/** Hands out ids unique within one page, for the templates the rows point at. */
export class IdSource {
  private n = 0;
  next(prefix: string): string {
    return `${prefix}-${++this.n}`;
  }
}

export interface TraceWaterfallOptions {
  /** The span (by id) where the first difference is. */
  mark?: string | undefined;
  /** The difference in words, for the marked span's details. */
  difference?: string | undefined;
  /** Show each span's tracer name on its row (the check asks for one). */
  scope?: boolean;
}

/** A waterfall: its rows, and the details templates the rows point at. */
export interface Drawn {
  rows: string[];
  templates: string[];
}

function kindBadge(kind: string): string {
  return `<span class="kind kind-${text(kind)}">${text(kind.toUpperCase())}</span>`;
}

function statusBadge(status: SpanNode['status'], message?: string): string {
  if (status === 'unset') return '';
  const label = status === 'error' && message ? `ERROR "${message}"` : status.toUpperCase();
  return `<span class="status status-${status}">${text(label)}</span>`;
}

function serviceOf(span: SpanNode): string | undefined {
  const name = span.resource?.['service.name'];
  return typeof name === 'string' ? name : undefined;
}

function percent(value: number): string {
  return `${Math.max(0, Math.min(100, value)).toFixed(3)}%`;
}

/** The span's bar: where it starts and how long it ran, as a share of the whole trace; events as ticks on it. */
function bar(span: SpanNode, total: number): string {
  const scale = total > 0 ? 100 / total : 0;
  const left = span.start * scale;
  const width = span.end === undefined ? 100 - left : (span.end - span.start) * scale;
  const ticks = span.events.map(
    (event) => `<span class="tick"${attrs({ style: `left:${percent(event.at * scale)}`, title: event.name })}></span>`,
  );
  const classes = join(['bar', `status-${span.status}`, !span.ended && 'open'], ' ');
  return `<span class="track"><span${attrs({ class: classes, style: `left:${percent(left)};width:${percent(width)}` })}></span>${ticks.join('')}</span>`;
}

function attributeTable(attributes: Attributes): string {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return `<p class="none">${text(WATERFALL_TEXT.noAttributes)}</p>`;
  // A break may come after each dot of a long key (app.circuit_breaker.state), never inside a word.
  const rows = entries.map(([key, value]) => `<tr><th scope="row">${text(key).replace(/\./g, '.<wbr>')}</th><td>${text(formatValue(value))}</td></tr>`);
  return `<table class="attributes"><tbody>${rows.join('')}</tbody></table>`;
}

function fact(term: string, value: string): string {
  return `<dt>${text(term)}</dt><dd>${value}</dd>`;
}

/** What the details panel shows for a recorded span: everything the SDK recorded about it. */
function spanDetails(span: SpanNode, marked: boolean, options: TraceWaterfallOptions): string {
  const duration = span.end === undefined ? text(WATERFALL_TEXT.neverEnded) : text(formatDuration(span.end - span.start));
  const status = span.status === 'unset' ? 'UNSET' : `${span.status.toUpperCase()}${span.statusMessage ? ` "${span.statusMessage}"` : ''}`;
  const facts = [
    fact('kind', kindBadge(span.kind)),
    fact('status', `<span class="status status-${span.status}">${text(status)}</span>`),
    fact('duration', duration),
    fact('starts', text(`${formatDuration(span.start)} into the trace`)),
    fact('tracer', text(span.scope)),
    ...(serviceOf(span) ? [fact('service', text(serviceOf(span) ?? ''))] : []),
    fact('span id', `<code>${text(span.spanId)}</code>`),
    fact('parent', span.parentSpanId ? `<code>${text(span.parentSpanId)}</code>` : 'none (a root)'),
    fact('trace id', `<code>${text(span.traceId)}</code>`),
  ];
  const events = span.events.map(
    (event) =>
      `<li><span class="event-name">${text(event.name)}</span> <span class="dim">${text(WATERFALL_TEXT.at(formatDuration(event.at)))}</span>${
        Object.keys(event.attributes).length > 0 ? attributeTable(event.attributes) : ''
      }</li>`,
  );
  const links = span.links.map(
    (link) =>
      `<li><code>${text(WATERFALL_TEXT.linkTo(link.traceId, link.spanId))}</code>${
        Object.keys(link.attributes).length > 0 ? attributeTable(link.attributes) : ''
      }</li>`,
  );
  return join([
    `<h3 class="detail-name">${text(span.name)}</h3>`,
    marked && options.difference !== undefined && `<p class="differs">${text(WATERFALL_TEXT.differsHere(options.difference))}</p>`,
    `<dl class="facts">${facts.join('')}</dl>`,
    `<h4>${text(WATERFALL_TEXT.attributes)} (${Object.keys(span.attributes).length})</h4>`,
    attributeTable(span.attributes),
    `<h4>${text(WATERFALL_TEXT.events)} (${span.events.length})</h4>`,
    events.length > 0 && `<ol class="events">${events.join('')}</ol>`,
    `<h4>${text(WATERFALL_TEXT.links)} (${span.links.length})</h4>`,
    links.length > 0 && `<ul class="links">${links.join('')}</ul>`,
  ]);
}

/** One row: a button naming the span, its kind and status, its bar and its duration. */
function row(label: string, track: string, duration: string, depth: number, marked: boolean, detailId: string, extraClass = ''): string {
  const mark = marked ? `<span class="mark" title="${text(WATERFALL_TEXT.firstDifference)}">✗<span class="visually-hidden"> ${text(WATERFALL_TEXT.firstDifference)}:</span></span>` : '';
  return (
    `<li${attrs({ class: join(['row', marked && 'marked', extraClass], ' '), style: `--depth:${depth}` })}>` +
    `<button type="button" class="span-row"${attrs({ 'data-detail': detailId, 'aria-controls': 'details', 'aria-pressed': 'false' })}>` +
    `<span class="label">${mark}${label}</span>${track}<span class="dur">${duration}</span></button></li>`
  );
}

/** A trace as a waterfall: rows in tree order (children by start), bars to the trace's scale. */
export function traceWaterfall(trace: TraceTree, ids: IdSource, options: TraceWaterfallOptions = {}): Drawn {
  const drawn: Drawn = { rows: [], templates: [] };
  const roots = new Set(trace.roots);
  // A trace across processes names the service of each span.
  const services = new Set(trace.spans.map(serviceOf).filter((s) => s !== undefined));
  const walk = (span: SpanNode, depth: number): void => {
    const id = ids.next('span');
    const marked = options.mark !== undefined && span.spanId === options.mark;
    const orphan = roots.has(span) && span.parentSpanId !== undefined;
    const label = join(
      [
        `<span class="span-name">${text(span.name)}</span>`,
        kindBadge(span.kind),
        statusBadge(span.status, span.statusMessage),
        !span.ended && `<span class="warn">⚠ ${text(WATERFALL_TEXT.neverEnded)}</span>`,
        orphan && `<span class="dim">(${text(WATERFALL_TEXT.parentNotRecorded)})</span>`,
        services.size > 1 && serviceOf(span) !== undefined && `<span class="service">${text(serviceOf(span) ?? '')}</span>`,
        options.scope && `<span class="dim">tracer "${text(span.scope)}"</span>`,
      ],
      ' ',
    );
    const duration = span.end === undefined ? '?' : text(formatDuration(span.end - span.start));
    drawn.rows.push(row(label, bar(span, trace.durationMs), duration, depth, marked, id));
    drawn.templates.push(`<template${attrs({ id })}>${spanDetails(span, marked, options)}</template>`);
    for (const child of span.children) walk(child, depth + 1);
  };
  for (const root of trace.roots) walk(root, 0);
  return drawn;
}

/** The expected shape as a waterfall of the same rows: no times (a shape has none), its expectations instead. */
export function shapeWaterfall(shape: ShapeView, ids: IdSource, difference?: string): Drawn {
  const drawn: Drawn = { rows: [], templates: [] };
  const walk = (view: ShapeView, depth: number): void => {
    const id = ids.next('shape');
    const facts = view.facts.map((f) => {
      const [word = ''] = f.split(' ');
      const lower = word.toLowerCase();
      if (['internal', 'server', 'client', 'producer', 'consumer'].includes(lower)) return kindBadge(lower);
      return `<span class="status status-${text(lower)}">${text(f)}</span>`;
    });
    const label = join([`<span class="span-name">${text(view.name)}</span>`, ...facts], ' ');
    const expects = view.details.map((d) => `<span class="expect expect-${d.kind}">${text(d.kind === 'event' ? `• ${d.text}${d.extra ? ` ${d.extra}` : ''}` : d.text)}</span>`);
    const track = `<span class="expects">${expects.join('')}</span>`;
    drawn.rows.push(row(label, track, '', depth, view.marked, id, 'shape'));
    const listed = [...view.facts, ...view.details.map((d) => (d.kind === 'event' ? `event ${d.text}${d.extra ? ` ${d.extra}` : ''}` : d.text))];
    drawn.templates.push(
      `<template${attrs({ id })}>${join([
        `<h3 class="detail-name">${text(view.name)}</h3>`,
        view.marked && difference !== undefined && `<p class="differs">${text(WATERFALL_TEXT.differsHere(difference))}</p>`,
        `<p>${text(WATERFALL_TEXT.expectedShape)}</p>`,
        listed.length > 0 ? `<ul class="expected-list">${listed.map((l) => `<li>${text(l)}</li>`).join('')}</ul>` : `<p class="none">${text(WATERFALL_TEXT.expectsNothingMore)}</p>`,
      ])}</template>`,
    );
    for (const child of view.children) walk(child, depth + 1);
  };
  walk(shape, 0);
  return drawn;
}

/** A waterfall in its frame: a title, the time axis, the rows, then the rows' templates. */
export function waterfallBlock(title: string, drawn: Drawn, options: { axis?: string; side: 'expected' | 'actual' | 'trace' }): string {
  return (
    `<figure${attrs({ class: `waterfall-block side-${options.side}`, 'data-side': options.side })}>` +
    `<figcaption><span class="title">${text(title)}</span>${options.axis ? `<span class="axis">${text(options.axis)}</span>` : ''}</figcaption>` +
    `<ol class="waterfall">${drawn.rows.join('')}</ol>${drawn.templates.join('')}</figure>`
  );
}

/** The axis caption of a trace: from its start to its whole duration. */
export function traceAxis(trace: TraceTree): string {
  return WATERFALL_TEXT.axis(formatDuration(trace.durationMs));
}
