/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      const deletion = (previous[j] ?? 0) + 1;
      const insertion = (current[j - 1] ?? 0) + 1;
      current.push(Math.min(substitution, deletion, insertion));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** How far a typo may be from a candidate to still be suggested: about one edit per four characters, at least 2. */
export function maxDistanceFor(query: string): number {
  return Math.max(2, Math.floor(query.length / 4));
}

/**
 * The candidates close to `query`, best first, at most `max`: those starting with it, then those
 * containing it, then those within a small edit distance (nearest first). Ties keep the candidates' order.
 */
export function suggestClosest(query: string, candidates: readonly string[], max = 3): string[] {
  const q = query.trim().toLowerCase();
  if (q === '' || max <= 0) return [];
  const limit = maxDistanceFor(q);
  const scored: { candidate: string; score: number; index: number }[] = [];
  candidates.forEach((candidate, index) => {
    const c = candidate.toLowerCase();
    let score: number | undefined;
    if (c.startsWith(q)) score = 0;
    else if (c.includes(q)) score = 1;
    else {
      const distance = editDistance(q, c);
      if (distance <= limit) score = 1 + distance;
    }
    if (score !== undefined) scored.push({ candidate, score, index });
  });
  scored.sort((x, y) => x.score - y.score || x.index - y.index);
  return scored.slice(0, max).map((s) => s.candidate);
}
