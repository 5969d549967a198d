import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { guardExports } from './export-guard.ts';
import { SCAN_MODULE_PREFIX, scanFolder } from '../checks/scan.ts';

export type Target = 'exercises' | 'solutions';

/** The workbook's own folder (two levels above this module, from src/ or from dist/). */
export const ENGINE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Engine modules that checker files and exercises import by name, wherever the workbook root is. */
export const ENGINE_IMPORTS: Record<string, string> = {
  '#checks': path.join(ENGINE_ROOT, 'src', 'checks', 'index.ts'),
  '#kit': path.join(ENGINE_ROOT, 'src', 'kit', 'index.ts'),
};

/**
 * Resolves `#target/<track>/<exercise>/<file>` to the learner's exercises/ or to solutions/.
 * Checker files import the code under test only through this prefix, so one checker grades
 * the starter, the learner's work and the reference alike.
 */
export function targetPlugin(root: string, target: Target, targetDir?: string): Plugin {
  const base = targetDir ?? path.join(root, target);
  const checkerDir = path.join(root, 'checker') + path.sep;
  return {
    name: 'tracecraft-target',
    enforce: 'pre',
    resolveId(source) {
      if (source.startsWith('#target/')) return path.join(base, source.slice('#target/'.length));
      if (source.startsWith(SCAN_MODULE_PREFIX)) return `\0${source}`;
      return ENGINE_IMPORTS[source] ?? null;
    },
    configureVitest(context) {
      // A scan reflects the files on disk now, never a cached copy; checker files are rewritten per target.
      context.experimental_defineCacheKeyGenerator(({ id }) => {
        if (id.includes(SCAN_MODULE_PREFIX)) return false;
        return id.startsWith(checkerDir) ? `${target}:${base}` : undefined;
      });
    },
    // A structure check's scan of the learner's folder, parsed here where the parser is already loaded.
    async load(id) {
      if (!id.startsWith(`\0${SCAN_MODULE_PREFIX}`)) return null;
      const folder = new URLSearchParams(id.slice(id.indexOf('?') + 1)).get('folder') ?? '';
      // A folder that cannot be read is the check's answer, carried as data: the worker raises it as it is.
      const scanned = await scanFolder(folder).catch((error: unknown) => ({ readError: error instanceof Error ? error.message : String(error) }));
      return `export default ${JSON.stringify(scanned)};`;
    },
    transform(code, id) {
      if (!id.startsWith(checkerDir) || !id.endsWith('.test.ts')) return null;
      const guarded = guardExports(code, targetDir === undefined ? target : path.relative(root, targetDir) || target);
      return guarded === undefined ? null : { code: guarded, map: null };
    },
  };
}
