/** Small helpers for randomized inputs: hard-coded answers must not pass. */
export const random = {
  int(min: number, max: number): number {
    return min + Math.floor(Math.random() * (max - min + 1));
  },
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(Math.random() * items.length)];
    if (item === undefined) throw new Error('random.pick needs at least one item');
    return item;
  },
  /** `count` different items of `items`, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
    }
    return pool.slice(0, count);
  },
  /** The items in random order. */
  shuffle<T>(items: readonly T[]): T[] {
    return random.sample(items, items.length);
  },
  word(length = 6): string {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    return Array.from({ length }, () => letters[Math.floor(Math.random() * letters.length)]).join('');
  },
  id(prefix = ''): string {
    return `${prefix}${Math.random().toString(36).slice(2, 10)}`;
  },
};
