import { isDeepStrictEqual } from 'node:util';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * The top-level fields whose values differ between legacy's answer and modern's, sorted by name.
 * A field only one side has differs; values are compared as data, so the order of an object's keys
 * does not matter, the order of an array's items does.
 */
export function differingFields(legacy: JsonObject, modern: JsonObject): string[] {
  return Object.keys(legacy)
    .filter((field) => !isDeepStrictEqual(legacy[field], modern[field]))
    .sort();
}
