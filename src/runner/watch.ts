import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface FileWatch {
  close(): void;
}

/**
 * Calls `onChange` with the changed files once a burst of saves settles: the listed files and
 * any TypeScript file under the folder. Watches the folder,
 * not the files: many editors save by writing a new file and renaming it over the old one,
 * which a watcher on the old file would miss.
 */
export function watchFiles(dir: string, files: readonly string[], onChange: (changed: string[]) => void, settleMs = 25): FileWatch {
  const wanted = new Set(files.map((f) => path.normalize(f)));
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dir, { recursive: true }, (_event, name) => {
    if (!name) return;
    const relative = path.normalize(name.toString());
    // The listed files, and any other TypeScript file the learner adds (a new adapter, a new ring).
    if (!wanted.has(relative) && !/\.(?:ts|tsx|mts|cts)$/.test(relative)) return;
    pending.add(path.join(dir, relative));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const changed = [...pending];
      pending.clear();
      onChange(changed);
    }, settleMs);
  });
  watcher.on('error', () => undefined);
  return {
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
