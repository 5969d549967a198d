/**
 * Gives each expected item a different actual item it accepts, matching as many expected
 * items as possible (a maximum bipartite matching, by augmenting paths). Used for children
 * in any order and for links, where a greedy first fit can miss an assignment that exists:
 * two children with the same name, each fitting only one of two shapes.
 *
 * Returns, for each expected item, the index of its actual item, or -1 when none is left for it.
 * Deterministic: expected items are placed in order, trying actual items in order.
 */
export function assignDistinct(
  expectedCount: number,
  actualCount: number,
  accepts: (expected: number, actual: number) => boolean,
): number[] {
  const ownerOf: number[] = new Array<number>(actualCount).fill(-1);
  const place = (k: number, visited: Set<number>): boolean => {
    for (let i = 0; i < actualCount; i++) {
      if (visited.has(i) || !accepts(k, i)) continue;
      visited.add(i);
      const owner = ownerOf[i] ?? -1;
      if (owner < 0 || place(owner, visited)) {
        ownerOf[i] = k;
        return true;
      }
    }
    return false;
  };
  for (let k = 0; k < expectedCount; k++) place(k, new Set());
  const assigned: number[] = new Array<number>(expectedCount).fill(-1);
  ownerOf.forEach((k, i) => {
    if (k >= 0) assigned[k] = i;
  });
  return assigned;
}
