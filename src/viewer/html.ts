/**
 * Writing HTML by hand, safely: every text that came from a run (a span name, an attribute, the
 * learner's output) goes through `text()` or `attr()`, so nothing the learner's code recorded can
 * become markup in the page.
 */
import { stripVTControlCharacters } from 'node:util';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or an attribute value; terminal colour codes are dropped. */
export function text(value: string | number): string {
  return stripVTControlCharacters(String(value)).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** ` name="value"` pairs; `false` and `undefined` leave an attribute out, `true` writes it bare. */
export function attrs(values: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined && value !== false)
    .map(([name, value]) => (value === true ? ` ${name}` : ` ${name}="${text(value as string | number)}"`))
    .join('');
}

/** Joins the pieces of markup, leaving out the ones a condition turned off. */
export function join(parts: readonly (string | false | undefined)[], separator = ''): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(separator);
}
