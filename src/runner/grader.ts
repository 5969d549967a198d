import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromGrader, GraderArgs, ToGrader } from './protocol.ts';
import type { ModuleResult } from './results.ts';

export const GRADER_MESSAGES = {
  stuckTest: (name: string | undefined, ms: number) =>
    `${name ? `the check "${name}"` : 'a check'} was still running after ${ms} ms and did not answer its own time limit: ` +
    'an infinite loop (or a long synchronous computation) in your code? The process running it was stopped.',
  stuckSilent: (ms: number) =>
    `your code stopped responding: the checks made no progress for ${ms} ms ` +
    '(an infinite loop or a long synchronous computation, at load time or in a check?). The process running it was stopped.',
  crashed: (detail: string) => `the checker process stopped unexpectedly${detail ? `: ${detail}` : ''}`,
  interrupted: 'not run: another exercise had to be stopped; run it again',
} as const;

export interface GraderOptions extends GraderArgs {
  /** Extra time past the per-check limit before a check is declared stuck. */
  graceMs?: number;
  /**
   * How long a checker file may go without reporting anything. Vitest batches its progress
   * reports, so a worker stuck in a loop may never report the check it is in; this limit
   * covers loading (transforming and importing) as well as the first check.
   */
  silenceTimeoutMs?: number;
}

export interface RunOutcome {
  results: Map<string, ModuleResult>;
  unhandled: { file: string | undefined; message: string }[];
}

type FileState =
  | { state: 'pending' }
  | { state: 'loading'; since: number }
  | { state: 'testing'; test: string | undefined; since: number }
  | { state: 'done' };

/** Where the grader's entry point is: the built JavaScript, or the TypeScript source when run from source. */
function graderEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return { file: path.join(path.dirname(here), 'grader-main.ts'), execArgv: ['--import', 'tsx'] };
  return { file: path.join(path.dirname(here), '..', 'runner', 'grader-main.js'), execArgv: [] };
}

/**
 * The CLI's handle on a grader process: starts it, runs checker files through it, and
 * watches every check. A check that outlives its limit means the learner's code is stuck
 * in synchronous work that vitest's own timer cannot interrupt: the whole process group is
 * killed, the stuck file gets its verdict, and the files it interrupted run again in a new grader.
 */
export class Grader {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private runCounter = 0;
  private stderr = '';

  constructor(private readonly options: GraderOptions) {}

  private get graceMs(): number {
    return this.options.graceMs ?? 1500;
  }

  private get silenceTimeoutMs(): number {
    return this.options.silenceTimeoutMs ?? this.options.testTimeoutMs + this.graceMs + 4000;
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
    };
    const child = fork(file, [JSON.stringify(args)], {
      cwd: this.options.root,
      execArgv,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      detached: process.platform !== 'win32',
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...terminalWidth() },
    });
    this.child = child;
    this.stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromGrader): void => {
        if (message.type === 'ready') {
          child.off('message', onMessage);
          resolve();
        } else if (message.type === 'fatal') {
          reject(new Error(`the grader could not start: ${message.message}`));
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(GRADER_MESSAGES.crashed(`exit code ${code}. ${this.stderr}`))));
    });
    // Keep the CLI's exit independent of the grader: an idle grader must not hold the event loop.
    child.unref();
    child.channel?.unref();
    return this.ready;
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
   * learner's code. `env` reaches the checks (the URLs of resolved servers).
   */
  async run(files: string[], env: Record<string, string> = {}): Promise<RunOutcome> {
    const results = new Map<string, ModuleResult>();
    const unhandled: RunOutcome['unhandled'] = [];
    let remaining = [...files];
    while (remaining.length > 0) {
      await this.start();
      const outcome = await this.runOnce(remaining, env);
      for (const [file, result] of outcome.results) results.set(file, result);
      unhandled.push(...outcome.unhandled);
      const next = remaining.filter((f) => !results.has(f));
      // A run that made no progress would loop forever: report what is left instead.
      if (next.length === remaining.length) {
        for (const file of next) results.set(file, errorResult(file, GRADER_MESSAGES.crashed(this.stderr.trim().split('\n').at(-1) ?? '')));
        break;
      }
      remaining = next;
    }
    return { results, unhandled };
  }

  private runOnce(files: string[], env: Record<string, string>): Promise<RunOutcome> {
    const child = this.child;
    if (!child) throw new Error('grader not started');
    const runId = ++this.runCounter;
    const states = new Map<string, FileState>(files.map((f) => [path.resolve(f), { state: 'pending' }]));
    const results = new Map<string, ModuleResult>();
    return new Promise<RunOutcome>((resolve) => {
      child.ref();
      child.channel?.ref();
      const finish = (outcome: RunOutcome): void => {
        clearInterval(watchdog);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (this.child) {
          this.child.unref();
          this.child.channel?.unref();
        }
        resolve(outcome);
      };
      const onMessage = (message: FromGrader): void => {
        if (!('runId' in message) || message.runId !== runId) {
          if (message.type === 'fatal') onExit(null);
          return;
        }
        if (message.type === 'module-start') states.set(message.file, { state: 'loading', since: performance.now() });
        // Vitest batches test updates, so a worker stuck in a loop may never report the test it is in:
        // after collection, any silence longer than a check's limit means it is stuck.
        if (message.type === 'module-collected') states.set(message.file, { state: 'testing', test: undefined, since: performance.now() });
        if (message.type === 'test-start') states.set(message.file, { state: 'testing', test: message.name, since: performance.now() });
        if (message.type === 'test-end') states.set(message.file, { state: 'testing', test: undefined, since: performance.now() });
        if (message.type === 'module-end') {
          states.set(message.result.file, { state: 'done' });
          results.set(message.result.file, message.result);
        }
        if (message.type === 'run-end') finish({ results, unhandled: message.unhandled });
      };
      const onExit = (code: number | null): void => {
        this.forget();
        for (const [file, state] of states) {
          if (state.state === 'loading' || state.state === 'testing') {
            results.set(file, errorResult(file, GRADER_MESSAGES.crashed(code === null ? '' : `exit code ${code}`)));
          }
        }
        finish({ results, unhandled: [] });
      };
      const watchdog = setInterval(() => {
        const now = performance.now();
        for (const [file, state] of states) {
          const stuck =
            state.state === 'testing' && now - state.since > this.options.testTimeoutMs + this.graceMs
              ? GRADER_MESSAGES.stuckTest(state.test, Math.round(now - state.since))
              : state.state === 'loading' && now - state.since > this.silenceTimeoutMs
                ? GRADER_MESSAGES.stuckSilent(Math.round(now - state.since))
                : undefined;
          if (stuck) {
            results.set(file, errorResult(file, stuck, state.state === 'testing' ? state.test : undefined));
            child.off('exit', onExit);
            this.kill();
            finish({ results, unhandled: [] });
            return;
          }
        }
      }, 100);
      child.on('message', onMessage);
      child.on('exit', onExit);
      this.send({ type: 'run', runId, files: [...states.keys()], env });
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
    if (!child?.pid || child.exitCode !== null) return;
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

/** Failure messages are drawn in the checks; they fit the terminal, less the indent the CLI adds. */
function terminalWidth(): Record<string, string> {
  const columns = process.stdout.columns;
  return columns ? { TRACECRAFT_WIDTH: String(Math.max(40, columns - 8)) } : {};
}

function errorResult(file: string, message: string, test?: string): ModuleResult {
  return {
    file,
    status: 'error',
    message,
    tests: test ? [{ name: test, status: 'error', message }] : [],
    durationMs: 0,
  };
}
