/**
 * Child processes owned by a check: the learner's service (a `.ts` file of the graded tree) or one
 * of the checker's own, started with its environment, awaited until it says it is ready, signalled,
 * and killed when the check ends, pass or fail.
 *
 * The entry is bundled with esbuild (`#kit` bundled in, packages left as imports) into
 * `<workbook>/.workbook/processes/`, so its bare imports resolve from the workbook's node_modules,
 * and run by plain `node`: a `tsx` start costs about half a second more. Children stay in the
 * grader's process group, which the CLI kills as a whole, and the grader kills its group when the
 * CLI goes away: none can outlive the grading.
 *
 * What goes wrong in the learner's process is a verdict in words: it does not compile (esbuild's
 * message, with file:line), it exits before it is ready, it is not ready in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { onTestFinished } from 'vitest';
import { CheckFailure } from './contract.ts';

/** The engine's own folder (two levels above this module). */
const ENGINE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const KIT_ENTRY = path.join(ENGINE_ROOT, 'src', 'kit', 'index.ts');

export interface ProcessOptions {
  /** What the learner calls it, in messages: "your service" (the default), "the upstream". */
  name?: string;
  /** Added to the environment. Inherited `OTEL_*` variables are removed first: a developer's own collector is never the target. */
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Default: the workbook root. */
  cwd?: string;
  /** A line of output (stdout or stderr) that says it is ready; a numeric first group is read as its port. */
  ready?: RegExp;
  /** How long to wait for `ready`. Default 5000 ms. */
  readyTimeoutMs?: number;
  /** Output kept, in characters (the most recent). Default 64 KiB. */
  maxOutputChars?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildService {
  readonly name: string;
  readonly pid: number;
  /** The `ready` line's match. */
  readonly readyMatch: RegExpExecArray | undefined;
  /** The port from the `ready` line's first group, when it is a number. */
  readonly port: number | undefined;
  /** `http://127.0.0.1:<port>` when the port is known. */
  readonly url: string | undefined;
  /** How it ended; undefined while it runs. */
  readonly exit: ExitInfo | undefined;
  /** What the start cost: the bundle, and from spawn to the ready line. */
  readonly timings: { bundleMs: number; readyMs: number | undefined };
  /** Everything it printed (stdout and stderr, interleaved), the most recent part when it printed a lot. */
  output(): string;
  /** Its last lines of output, ready to quote in a failure message. */
  lastLines(count?: number): string[];
  /** Resolves with the first line (printed so far or later) that matches; fails the check past the time limit. */
  waitForOutput(pattern: RegExp, options?: { timeoutMs?: number; what?: string }): Promise<RegExpExecArray>;
  signal(signal?: NodeJS.Signals): void;
  /** Resolves when it has exited; fails the check if it is still running after `timeoutMs` (default 5000). */
  waitForExit(options?: { timeoutMs?: number; after?: string }): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs` (default 3000). */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGKILL, and waits for the exit. */
  close(): Promise<void>;
}

export const PROCESS_MESSAGES = {
  doesNotCompile: (name: string, errors: string) => `${name} does not compile:\n${errors}`,
  exitedBeforeReady: (name: string, exit: ExitInfo, ready: RegExp, printed: string) =>
    `${name} ${describeExit(exit)} before it was ready (it should print a line matching ${String(ready)}); ${printed}`,
  notReady: (name: string, ready: RegExp, ms: number, printed: string) =>
    `${name} did not print a line matching ${String(ready)} within ${ms} ms; ${printed}`,
  noLine: (what: string, pattern: RegExp, ms: number, printed: string) =>
    `${what}: expected a line matching ${String(pattern)} within ${ms} ms, but none came; ${printed}`,
  exitedBeforeLine: (what: string, pattern: RegExp, exit: ExitInfo, printed: string) =>
    `${what}: expected a line matching ${String(pattern)}, but the process ${describeExit(exit)} first; ${printed}`,
  stillRunning: (name: string, ms: number, after: string, printed: string) =>
    `${name} was still running ${ms} ms ${after}; ${printed}`,
  printedNothing: 'it printed nothing',
  printed: (lines: readonly string[]) => `it printed:\n${lines.map((line) => `    ${line}`).join('\n')}`,
  outsideCheck:
    'startProcess() was called outside a check: a process belongs to the check that starts it (in it() or a beforeEach), ' +
    'so that it is killed when that check ends.',
} as const;

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
}

/** "it printed: …" with the last lines of a process, for any failure message about it. */
export function printedLines(service: Pick<ChildService, 'lastLines'>, count = 12): string {
  const lines = service.lastLines(count);
  return lines.length === 0 ? PROCESS_MESSAGES.printedNothing : PROCESS_MESSAGES.printed(lines);
}

/** The workbook a file belongs to: the nearest folder above it with a package.json. */
export function workbookRoot(file: string): string {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return ENGINE_ROOT;
    dir = parent;
  }
}

/** Processes still running, killed if the checker process ends first (a backstop: checks kill their own). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Bundles `entry` (an absolute `.ts` or `.js` path) and starts it with plain node. Call it inside
 * a check: the process is killed when the check ends. Resolves once it printed a line matching
 * `ready` (or at once without one).
 */
export async function startProcess(entry: string, options: ProcessOptions = {}): Promise<ChildService> {
  const name = options.name ?? 'your service';
  const root = workbookRoot(entry);
  // Registered before anything starts, so that nothing started here outlives the check.
  let service: ChildService | undefined;
  try {
    onTestFinished(async () => {
      await service?.close();
    });
  } catch {
    throw new Error(PROCESS_MESSAGES.outsideCheck);
  }
  const began = performance.now();
  const bundle = await bundleEntry(entry, root, name);
  const spawned = performance.now();
  service = spawnService(bundle, root, name, options, spawned - began);
  if (options.ready) await untilReady(service, options.ready, options.readyTimeoutMs ?? 5000);
  (service as Internal).timings.readyMs = performance.now() - spawned;
  return service;
}

/** Where bundles are kept: in the workbook's state folder, so bare imports resolve from its node_modules. */
export function bundlesDir(root: string): string {
  return path.join(root, '.workbook', 'processes');
}

let swept = false;

/**
 * Bundles `entry` into `<root>/.workbook/processes/<name>-<hash>.mjs` and returns its path. The file
 * is named by its content, so starting the same code again (or in another checker at the same time)
 * reuses it. A compile error fails the check with esbuild's message.
 */
export async function bundleEntry(entry: string, root = workbookRoot(entry), name = 'your service'): Promise<string> {
  // Loaded on first use: a checker file that starts no process does not pay for esbuild.
  const esbuild = await import('esbuild');
  const dir = bundlesDir(root);
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: path.join(dir, 'entry.mjs'),
      write: false,
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      plugins: [workbookPlugin()],
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!Array.isArray(errors) || errors.length === 0) throw error;
    const text = await esbuild.formatMessages(errors, { kind: 'error', color: false });
    throw new CheckFailure(PROCESS_MESSAGES.doesNotCompile(name, relativize(text.join('\n').trimEnd(), root)));
  }
  const code = result.outputFiles[0]?.text ?? '';
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const file = path.join(dir, `${path.basename(entry).replace(/\.[^.]+$/, '')}-${hash}.mjs`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temp, code);
    await rename(temp, file);
  }
  if (!swept) {
    swept = true;
    void sweep(dir);
  }
  return file;
}

/** Bundles from earlier days are removed: each save of the learner's code makes a new one. */
async function sweep(dir: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const file of await readdir(dir).catch(() => [])) {
    const full = path.join(dir, file);
    const info = await stat(full).catch(() => undefined);
    if (info && info.mtimeMs < dayAgo) await rm(full, { force: true }).catch(() => undefined);
  }
}

const LOADERS: Record<string, 'ts' | 'tsx' | 'js' | 'jsx'> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx' };

/**
 * `#kit` is bundled from the engine's source; `import.meta.url` (and `dirname`, `filename`) keep
 * meaning the source file, not the bundle, so code that reads files beside itself still finds them.
 */
function workbookPlugin(): Plugin {
  return {
    name: 'tracecraft-process',
    setup(build) {
      build.onResolve({ filter: /^#kit$/ }, () => ({ path: KIT_ENTRY }));
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.')) return undefined;
        const contents = source
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(path.dirname(args.path)))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path));
        return { contents, loader: LOADERS[path.extname(args.path)] ?? 'ts', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/** Paths as the learner reads them: relative to the workbook. */
function relativize(text: string, root: string): string {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return text.split(pathToFileURL(prefix).href).join('').split(prefix).join('');
}

/** Node's frames inside itself, and its version banner, say nothing about the learner's code. */
const NOISE = /^\s*at .*\bnode:internal\b|^Node\.js v\d+/;

/** The service as this module sees it: it records when it became ready. */
type Internal = ChildService & { setReady(match: RegExpExecArray): void; timings: { bundleMs: number; readyMs: number | undefined } };

function spawnService(bundle: string, root: string, name: string, options: ProcessOptions, bundleMs: number): ChildService {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('OTEL_') && key !== 'NODE_OPTIONS') env[key] = value;
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const child = spawn(process.execPath, ['--enable-source-maps', bundle, ...(options.args ?? [])], {
    cwd: options.cwd ?? root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const running of live) running.kill('SIGKILL');
    });
  }
  const maxChars = options.maxOutputChars ?? 64 * 1024;
  const lines: string[] = [];
  let kept = 0;
  let cut = 0;
  const lineListeners = new Set<(line: string) => void>();
  const exitListeners = new Set<(exit: ExitInfo) => void>();
  let exit: ExitInfo | undefined;

  const addLine = (raw: string): void => {
    const line = relativize(raw.replace(/\r$/, ''), root);
    if (NOISE.test(line)) return;
    lines.push(line);
    kept += line.length + 1;
    while (kept > maxChars && lines.length > 1) {
      const dropped = lines.shift() ?? '';
      kept -= dropped.length + 1;
      cut += dropped.length + 1;
    }
    for (const listener of [...lineListeners]) listener(line);
  };
  const reader = (stream: NodeJS.ReadableStream | null): (() => void) => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) addLine(part);
    });
    return () => {
      if (partial !== '') addLine(partial);
      partial = '';
    };
  };
  const flushOut = reader(child.stdout);
  const flushErr = reader(child.stderr);
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      flushOut();
      flushErr();
      exit = { code, signal };
      for (const listener of [...exitListeners]) listener(exit);
      resolve(exit);
    });
    child.once('error', (error) => {
      addLine(`could not start: ${error.message}`);
    });
  });

  let readyMatch: RegExpExecArray | undefined;
  const service: Internal = {
    name,
    timings: { bundleMs, readyMs: undefined },
    pid: child.pid ?? -1,
    get readyMatch() {
      return readyMatch;
    },
    get port() {
      const group = readyMatch?.[1];
      return group !== undefined && /^\d+$/.test(group) ? Number(group) : undefined;
    },
    get url() {
      return this.port === undefined ? undefined : `http://127.0.0.1:${this.port}`;
    },
    get exit() {
      return exit;
    },
    setReady(match) {
      readyMatch = match;
    },
    output: () => (cut > 0 ? `(… ${cut} characters cut)\n` : '') + lines.join('\n'),
    lastLines: (count = 12) => lines.slice(-count),
    waitForOutput(pattern, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5000;
      const what = waitOptions.what ?? `the output of ${name}`;
      return new Promise((resolve, reject) => {
        for (const line of lines) {
          const match = exec(pattern, line);
          if (match) return resolve(match);
        }
        const done = (): void => {
          clearTimeout(timer);
          lineListeners.delete(onLine);
          exitListeners.delete(onExit);
        };
        const onLine = (line: string): void => {
          const match = exec(pattern, line);
          if (!match) return;
          done();
          resolve(match);
        };
        const onExit = (info: ExitInfo): void => {
          done();
          reject(new CheckFailure(PROCESS_MESSAGES.exitedBeforeLine(what, pattern, info, printedLines(service))));
        };
        const timer = setTimeout(() => {
          done();
          reject(new CheckFailure(PROCESS_MESSAGES.noLine(what, pattern, timeoutMs, printedLines(service))));
        }, timeoutMs);
        if (exit) return onExit(exit);
        lineListeners.add(onLine);
        exitListeners.add(onExit);
      });
    },
    signal(signal = 'SIGTERM') {
      if (!exit) child.kill(signal);
    },
    async waitForExit(waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      const result = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (result) return result;
      throw new CheckFailure(PROCESS_MESSAGES.stillRunning(name, timeoutMs, waitOptions.after ?? 'after the check waited for it to exit', printedLines(service)));
    },
    async stop(timeoutMs = 3000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([exited, late]);
      clearTimeout(timer);
      if (!exit) child.kill('SIGKILL');
      return exited;
    },
    async close() {
      if (!exit) child.kill('SIGKILL');
      await exited;
    },
  };
  return service;
}

/** `exec` without the pattern's lastIndex carried from one line to the next. */
function exec(pattern: RegExp, line: string): RegExpExecArray | null {
  pattern.lastIndex = 0;
  return pattern.exec(line);
}

async function untilReady(service: ChildService, ready: RegExp, timeoutMs: number): Promise<void> {
  const internal = service as Internal;
  try {
    const match = await service.waitForOutput(ready, { timeoutMs });
    internal.setReady(match);
  } catch (error) {
    if (!(error instanceof CheckFailure)) throw error;
    const printed = printedLines(service);
    const exit = service.exit;
    throw new CheckFailure(
      exit ? PROCESS_MESSAGES.exitedBeforeReady(service.name, exit, ready, printed) : PROCESS_MESSAGES.notReady(service.name, ready, timeoutMs, printed),
    );
  }
}
