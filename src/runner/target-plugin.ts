import path from 'node:path';
import type { Plugin } from 'vite';

export type Target = 'exercises' | 'solutions';

/**
 * Resolves `#target/<track>/<exercise>/<file>` to the learner's exercises/ or to solutions/.
 * Checker files import the code under test only through this prefix, so one checker grades
 * the starter, the learner's work and the reference alike.
 */
export function targetPlugin(root: string, target: Target): Plugin {
  const base = path.join(root, target);
  return {
    name: 'tracecraft-target',
    enforce: 'pre',
    resolveId(source) {
      if (!source.startsWith('#target/')) return null;
      return path.join(base, source.slice('#target/'.length));
    },
  };
}
