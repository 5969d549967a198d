import type { z } from 'zod';
import { BAD_FIELD, NOT_AN_OBJECT, UNKNOWN_FIELD } from './messages.ts';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/** `["files", 1]` → `files[1]`; `["a", "b"]` → `a.b`. */
export function fieldName(path: readonly PathKey[]): string {
  let name = '';
  for (const key of path) {
    if (typeof key === 'number') name += `[${key}]`;
    else name += name === '' ? String(key) : `.${String(key)}`;
  }
  return name;
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const MAX_SHOWN = 60;

/** A short, JSON-like rendering of what was found, for `(got …)`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value) && value.length === 0) return 'got []';
  const shown = JSON.stringify(value) ?? String(value);
  return `got ${shown.length > MAX_SHOWN ? `${shown.slice(0, MAX_SHOWN - 1)}…` : shown}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/** One line per problem, each naming the file and the field: `<file>: "difficulty" must be … (got 7)`. */
export function formatIssues(file: string, issues: readonly Issue[], data: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const prefix = fieldName(issue.path);
      for (const key of issue.keys) lines.push(UNKNOWN_FIELD(file, prefix === '' ? key : `${prefix}.${key}`));
    } else if (issue.path.length === 0) {
      lines.push(NOT_AN_OBJECT(file, kindOf(data)));
    } else {
      lines.push(BAD_FIELD(file, fieldName(issue.path), issue.message, describeValue(valueAt(data, issue.path))));
    }
  }
  return lines;
}
