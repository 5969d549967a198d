// Builds the CLI and the grader into dist/ with esbuild when src/ changed since the last build.
// Plain JavaScript on purpose: it runs before anything can compile TypeScript, and starting
// the CLI through a TypeScript loader would cost a second on every check.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const stampFile = path.join(dist, '.build-stamp');
const entryPoints = ['src/cli/main.ts', 'src/runner/grader-main.ts'].map((p) => path.join(root, p));

async function newestSource(dir) {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(full)).mtimeMs);
  }
  return newest;
}

async function isFresh() {
  try {
    const built = (await stat(stampFile)).mtimeMs;
    const sources = Math.max(await newestSource(path.join(root, 'src')), (await stat(path.join(root, 'package.json'))).mtimeMs);
    return built >= sources;
  } catch {
    return false;
  }
}

export async function build() {
  const { build: esbuild } = await import('esbuild');
  const result = await esbuild({
    entryPoints,
    outbase: path.join(root, 'src'),
    outdir: dist,
    bundle: true,
    splitting: true,
    // Chunks sit two levels down, like the entry points, so paths computed from import.meta.url hold everywhere.
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    write: false,
    logLevel: 'error',
  });
  // Each file is written beside its final name and renamed, so a CLI starting during a build
  // never imports half a file.
  for (const file of result.outputFiles) {
    await mkdir(path.dirname(file.path), { recursive: true });
    const temp = `${file.path}.${process.pid}.tmp`;
    await writeFile(temp, file.contents);
    await rename(temp, file.path);
  }
  // Chunk names change with their content: drop the ones this build no longer uses.
  const fresh = new Set(result.outputFiles.map((f) => f.path));
  const chunks = path.join(dist, 'chunks');
  for (const name of await readdir(chunks).catch(() => [])) {
    if (!fresh.has(path.join(chunks, name))) await rm(path.join(chunks, name), { force: true });
  }
  await writeFile(stampFile, new Date().toISOString());
}

export async function ensureBuilt() {
  if (!(await isFresh())) await build();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build();
}
