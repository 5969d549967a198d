/**
 * An expected shape as plain data, ready to draw: names and expectations already put in words,
 * so it can travel from a check to the CLI (a shape holds patterns and predicates; this does not).
 * Built in the checks' worker, which therefore never loads the renderer.
 */
import { describeExpected, type ExpectedValue } from './expect-values.ts';
import { describeName, type LinkShape, type SpanShape } from './match.ts';

function formatExpectedAttributes(attributes: Record<string, ExpectedValue>): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${describeExpected(value)}`)
    .join(' ');
}

export interface ShapeView {
  name: string;
  /** `SERVER`, `ERROR "message"`: what the shape requires of the span itself. */
  facts: string[];
  details: ShapeDetail[];
  children: ShapeView[];
  /** The first difference is here. */
  marked: boolean;
}

export interface ShapeDetail {
  kind: 'scope' | 'attributes' | 'event' | 'link' | 'note';
  text: string;
  /** An event's expected attributes, drawn after its name. */
  extra?: string;
}

function linkLine(link: LinkShape): string {
  const target = link.to ? ` to span ${link.to.spanId}` : '';
  const attributes = link.attributes ? ` ${formatExpectedAttributes(link.attributes)}` : '';
  return `↗ link${target}${attributes}`;
}

function shapeDetails(s: SpanShape): ShapeDetail[] {
  const details: ShapeDetail[] = [];
  if (s.scope !== undefined) details.push({ kind: 'scope', text: `tracer "${s.scope}"` });
  if (s.resource && Object.keys(s.resource).length > 0) details.push({ kind: 'scope', text: `resource ${formatExpectedAttributes(s.resource)}` });
  if (s.attributes && Object.keys(s.attributes).length > 0) details.push({ kind: 'attributes', text: formatExpectedAttributes(s.attributes) });
  for (const event of s.events ?? []) {
    const name = typeof event.name === 'string' ? event.name : String(event.name);
    details.push({ kind: 'event', text: name, ...(event.attributes ? { extra: formatExpectedAttributes(event.attributes) } : {}) });
  }
  for (const link of s.links ?? []) details.push({ kind: 'link', text: linkLine(link) });
  if (s.linkCount !== undefined) details.push({ kind: 'link', text: `↗ exactly ${s.linkCount} link(s)` });
  const children = s.children?.length ?? 0;
  const notes = [
    s.ordered && children > 1 ? 'children in this order' : '',
    s.exact ? (children === 0 ? 'no children' : 'no other children') : '',
    s.eventsExact ? (s.events?.length ? 'no other events' : 'no events') : '',
  ].filter(Boolean);
  if (notes.length > 0) details.push({ kind: 'note', text: `(${notes.join(', ')})` });
  return details;
}

/** The drawable form of a shape; `mark` is the shape (by identity) where the first difference is. */
export function toShapeView(shape: SpanShape, mark?: SpanShape): ShapeView {
  const message = shape.status && shape.statusMessage !== undefined ? ` ${describeName(shape.statusMessage)}` : '';
  const facts = [shape.kind?.toUpperCase(), shape.status ? `${shape.status.toUpperCase()}${message}` : undefined].filter(
    (f): f is string => f !== undefined,
  );
  return {
    name: typeof shape.name === 'string' ? shape.name : describeName(shape.name),
    facts,
    details: shapeDetails(shape),
    children: (shape.children ?? []).map((child) => toShapeView(child, mark)),
    marked: shape === mark,
  };
}

/** Whether a shape, or any shape under it, names a tracer. */
export function shapeNamesScope(shape: SpanShape): boolean {
  return shape.scope !== undefined || (shape.children ?? []).some(shapeNamesScope);
}

