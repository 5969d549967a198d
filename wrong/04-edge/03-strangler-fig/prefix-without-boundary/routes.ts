/** What a path prefix is in the middle of: still on legacy, moved to modern, being rolled out, or shadowed. */
export type Migration =
  | { mode: 'legacy' }
  | { mode: 'modern' }
  /** Modern for `percent` % of the users (0 to 100), legacy for the others. */
  | { mode: 'rollout'; percent: number }
  /** Legacy answers; modern is called too, and its answer only compared. */
  | { mode: 'shadow' };

/** One line of the routing table: every path under `prefix` (like `/orders`) follows `migration`. */
export interface RouteRule {
  prefix: string;
  migration: Migration;
}

/** The rule for `path`: of the rules whose prefix matches it, the longest; undefined when none does. */
export function findRule(rules: readonly RouteRule[], path: string): RouteRule | undefined {
  let found: RouteRule | undefined;
  for (const rule of rules) {
    const matches = path.startsWith(rule.prefix);
    if (matches && (found === undefined || rule.prefix.length > found.prefix.length)) found = rule;
  }
  return found;
}
