import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromGrader, GraderArgs, ToGrader } from './protocol.ts';
import type { Fault, ModuleResult } from './results.ts';

export const GRADER_MESSAGES = {
  crashed: (detail: string) => `the checker process stopped unexpectedly${detail ? `: ${detail}` : ''}`,
} as const;

export interface GraderOptions extends GraderArgs {
  /** Extra time past the per-check limit before a check is declared stuck. */
  graceMs?: number;
  /**
   * How long a checker file may take to load (transform and import the checks and the learner's
   * code) once a worker took it. Past it, the code is stuck at load time.
   */
  loadTimeoutMs?: number;
  /** Extra environment for the grader and the checker processes it starts. */
  env?: Record<string, string>;
}

export interface RunOutcome {
  results: Map<string, ModuleResult>;
  unhandled: { file: string | undefined; message: string }[];
}

type FileState =
  | { state: 'pending' }
  | { state: 'loading'; since: number }
  | { state: 'testing'; test: string | undefined; since: number; limitMs: number }
  | { state: 'done' };

export const DEFAULT_LOAD_TIMEOUT_MS = 6_000;

/** `TRACECRAFT_TIMINGS=1`: each message of the grader on stderr, with the time since the CLI started (for speed work). */
const TIMINGS = process.env['TRACECRAFT_TIMINGS'] === '1';

/** Where the grader's entry point is: the built JavaScript, or the TypeScript source when run from source. */
function graderEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return { file: path.join(path.dirname(here), 'grader-main.ts'), execArgv: ['--import', 'tsx'] };
  return { file: path.join(path.dirname(here), '..', 'runner', 'grader-main.js'), execArgv: [] };
}

/** V8's last words when a heap limit was reached. */
const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|ERR_WORKER_OUT_OF_MEMORY/i;

/**
 * The CLI's handle on a grader process: starts it, runs checker files through it, and watches
 * every file from the moment it is handed over. A file that stays too long loading, or a check
 * that outlives its limit, means the learner's code is stuck where vitest's own timers cannot
 * reach (an infinite loop, an await that never settles at the top of a module): the whole
 * process group is killed, the stuck file gets its verdict, and the files it held up run again
 * in a new grader.
 */
export class Grader {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private runCounter = 0;
  private stderr = '';

  constructor(private readonly options: GraderOptions) {}

  /** Whether every checker file gets a thread of its own. */
  get isolated(): boolean {
    return this.options.isolate;
  }

  private get graceMs(): number {
    return this.options.graceMs ?? 1500;
  }

  private get loadTimeoutMs(): number {
    return this.options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  }

  /**
   * How long a run may go without any news while files are still waiting for a worker: vitest
   * reports a file when a worker takes it, so a file never reported is stuck behind (or inside)
   * a worker that stopped answering.
   */
  private get stallMs(): number {
    return this.loadTimeoutMs + this.graceMs;
  }

  /** Starts the grader process now, so that the first run finds vitest warm. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const { file, execArgv } = graderEntry();
    const args: GraderArgs = {
      root: this.options.root,
      target: this.options.target,
      testTimeoutMs: this.options.testTimeoutMs,
      isolate: this.options.isolate,
      ...(this.options.targetDir ? { targetDir: this.options.targetDir } : {}),
    };
    const child = fork(file, [JSON.stringify(args)], {
      cwd: this.options.root,
      execArgv,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      detached: process.platform !== 'win32',
      env: { ...process.env, ...this.options.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    this.child = child;
    this.stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromGrader): void => {
        if (message.type === 'ready') {
          if (TIMINGS) process.stderr.write(`[timings] ${performance.now().toFixed(0).padStart(6)} ms  grader: ready\n`);
          child.off('message', onMessage);
          resolve();
        } else if (message.type === 'fatal') {
          reject(new Error(`the grader could not start: ${message.message}`));
        }
      };
      child.on('message', onMessage);
      child.once('error', (error) => reject(new Error(`the grader could not start: ${error.message}`)));
      child.once('exit', (code, signal) => reject(new Error(GRADER_MESSAGES.crashed(`${signal ?? `exit code ${code}`}. ${this.stderr}`.trim()))));
    });
    // A grader that cannot start is forgotten, so the next run tries a fresh one.
    ready.catch(() => {
      if (this.child === child) this.forget();
    });
    this.ready = ready;
    // Keep the CLI's exit independent of the grader: an idle grader must not hold the event loop.
    child.unref();
    child.channel?.unref();
    return ready;
  }

  /** Asks the grader to transform these checker files ahead of the run that will need them. */
  warm(files: string[]): void {
    this.start()
      .then(() => this.send({ type: 'warm', files }))
      .catch(() => undefined);
  }

  /** Tells the grader that these files changed, so the next run reads them again. */
  invalidate(files: string[]): void {
    this.send({ type: 'invalidate', files });
  }

  /**
   * Runs checker files (absolute paths) and returns one result per file, whatever happened to the
   * learner's code. `env` reaches the checks (the URLs of resolved servers). Rejects only when
   * the grader itself cannot start.
   */
  async run(files: string[], env: Record<string, string> = {}): Promise<RunOutcome> {
    const results = new Map<string, ModuleResult>();
    const unhandled: RunOutcome['unhandled'] = [];
    let remaining = files.map((f) => path.resolve(f));
    // After a stall nobody could be blamed for, files run one at a time: then the one that hangs is known.
    let solo = false;
    while (remaining.length > 0) {
      const batch = solo ? remaining.slice(0, 1) : remaining;
      await this.start();
      const outcome = await this.runOnce(batch, env);
      for (const [file, result] of outcome.results) results.set(file, result);
      unhandled.push(...outcome.unhandled);
      const next = remaining.filter((f) => !results.has(f));
      if (next.length === remaining.length) {
        // No file got a verdict: run them one at a time, and a lone file that still gets none crashed the grader.
        if (batch.length > 1) solo = true;
        else {
          const [file] = batch;
          if (file) results.set(file, faultResult(file, { kind: 'crashed', detail: this.lastWords() }));
        }
      }
      if (outcome.stalled) solo = true;
      remaining = remaining.filter((f) => !results.has(f));
    }
    return { results, unhandled };
  }

  private lastWords(): string {
    return this.stderr.trim().split('\n').at(-1) ?? '';
  }

  private runOnce(files: string[], env: Record<string, string>): Promise<RunOutcome & { stalled: boolean }> {
    const child = this.child;
    if (!child) throw new Error('grader not started');
    const runId = ++this.runCounter;
    const states = new Map<string, FileState>(files.map((f) => [f, { state: 'pending' }]));
    const results = new Map<string, ModuleResult>();
    const limits = new Map<string, number>();
    let lastNews = performance.now();
    return new Promise((resolve) => {
      child.ref();
      child.channel?.ref();
      const finish = (outcome: RunOutcome, stalled = false): void => {
        clearInterval(watchdog);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (this.child) {
          this.child.unref();
          this.child.channel?.unref();
        }
        resolve({ ...outcome, stalled });
      };
      const stop = (stalled = false): void => {
        child.off('exit', onExit);
        this.kill();
        finish({ results, unhandled: [] }, stalled);
      };
      const onMessage = (message: FromGrader): void => {
        if (TIMINGS) process.stderr.write(`[timings] ${performance.now().toFixed(0).padStart(6)} ms  grader: ${message.type}\n`);
        if (!('runId' in message) || message.runId !== runId) {
          if (message.type === 'fatal') onExit(null, null);
          return;
        }
        lastNews = performance.now();
        const now = lastNews;
        if (message.type === 'module-queued') states.set(message.file, { state: 'loading', since: now });
        // Vitest batches test updates, so a worker stuck in a loop may never report the test it is in:
        // after collection, any silence longer than a check's limit means it is stuck.
        // A check's own time limit counts; between checks, the longest limit of the file's checks.
        const fileLimit = (file: string): number => limits.get(file) ?? this.options.testTimeoutMs;
        if (message.type === 'module-collected') {
          limits.set(message.file, message.limitMs);
          states.set(message.file, { state: 'testing', test: undefined, since: now, limitMs: message.limitMs });
        }
        if (message.type === 'test-start') states.set(message.file, { state: 'testing', test: message.name, since: now, limitMs: message.limitMs });
        if (message.type === 'test-end') states.set(message.file, { state: 'testing', test: undefined, since: now, limitMs: fileLimit(message.file) });
        if (message.type === 'module-end') {
          states.set(message.result.file, { state: 'done' });
          results.set(message.result.file, message.result);
        }
        if (message.type === 'run-end') finish({ results, unhandled: message.unhandled });
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.forget();
        const fault = exitFault(code, signal, this.stderr);
        // Only a file alone in flight can be blamed for the process ending; the others run again, alone.
        const inFlight = [...states].filter(([, s]) => s.state === 'loading' || s.state === 'testing');
        const alone = files.length === 1 ? [...states][0] : inFlight.length === 1 ? inFlight[0] : undefined;
        if (alone) {
          const [file, state] = alone;
          results.set(file, faultResult(file, fault, state.state === 'testing' ? state.test : undefined));
        }
        finish({ results, unhandled: [] }, alone === undefined && inFlight.length > 1);
      };
      const watchdog = setInterval(() => {
        const now = performance.now();
        for (const [file, state] of states) {
          if (state.state === 'testing' && now - state.since > state.limitMs + this.graceMs) {
            const memoryMb = residentMb(child.pid);
            const fault: Fault =
              memoryMb !== undefined && memoryMb > RUNAWAY_MEMORY_MB
                ? { kind: 'out-of-memory', memoryMb }
                : { kind: 'stuck-check', test: state.test, ms: Math.round(now - state.since) };
            results.set(file, faultResult(file, fault, state.test));
            return stop();
          }
          if (state.state === 'loading' && now - state.since > this.loadTimeoutMs) {
            results.set(file, faultResult(file, { kind: 'stuck-loading', ms: Math.round(now - state.since) }));
            return stop();
          }
        }
        const pending = [...states].filter(([, s]) => s.state === 'pending');
        const busy = [...states.values()].some((s) => s.state === 'loading' || s.state === 'testing');
        if (pending.length > 0 && !busy && now - lastNews > this.stallMs) {
          // Handed over and never reported: alone in the run, it is the one stuck; otherwise run each alone.
          const only = files.length === 1 ? pending[0] : undefined;
          if (only) results.set(only[0], faultResult(only[0], { kind: 'stuck-loading', ms: Math.round(now - lastNews) }));
          return stop(only === undefined);
        }
      }, 100);
      child.on('message', onMessage);
      child.on('exit', onExit);
      this.send({ type: 'run', runId, files, env });
    });
  }

  private send(message: ToGrader): void {
    if (this.child?.connected) this.child.send(message);
  }

  private forget(): void {
    this.child = undefined;
    this.ready = undefined;
  }

  /** Ends the grader and every process it started (vitest's workers, the learner's stuck code). */
  kill(): void {
    const child = this.child;
    this.forget();
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    try {
      if (process.platform === 'win32') spawnSync('taskkill', ['/pid', String(child.pid), '/T', '/F']);
      else process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }

  async close(): Promise<void> {
    this.kill();
  }
}

/** A stuck check whose process grew past this much memory was filling it, not just spinning. */
const RUNAWAY_MEMORY_MB = 1_500;

/** The resident memory of a process, where the system tells it (Linux); undefined elsewhere. */
function residentMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

/** Exit codes of a process that a signal ended after a handler ran (128 + the signal's number). */
const SIGNAL_EXIT_CODES: Record<number, string> = { 129: 'SIGHUP', 130: 'SIGINT', 134: 'SIGABRT', 137: 'SIGKILL', 143: 'SIGTERM' };

/** Why the grader process ended while a file was running. */
function exitFault(code: number | null, signal: NodeJS.Signals | null, stderr: string): Fault {
  if (OUT_OF_MEMORY.test(stderr)) return { kind: 'out-of-memory' };
  const ending = signal ?? (code === null ? undefined : SIGNAL_EXIT_CODES[code]);
  if (ending) return { kind: 'killed', signal: ending };
  return { kind: 'crashed', detail: code === null ? '' : `exit code ${code}` };
}

function faultResult(file: string, fault: Fault, test?: string): ModuleResult {
  return {
    file,
    status: 'error',
    fault,
    tests: test ? [{ name: test, status: 'error' }] : [],
    durationMs: 0,
  };
}
