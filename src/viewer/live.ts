/**
 * The live trace viewer of `learn`: it holds the current exercise's last run, and serves it on
 * loopback once the learner asks for it. `learn` tells it of every run (it only keeps a
 * reference, so a viewer nobody opened costs nothing); the page follows along by itself.
 * One viewer serves a whole `learn` process: its address stays the same from exercise to exercise.
 */
import { spawn } from 'node:child_process';
import type { ExerciseResult } from '../runner/results.ts';
import { renderRunsFragment, renderRunsPage, type RunExercise, type RunView } from './page.ts';
import { startViewerServer, type ViewerServer } from './server.ts';

export class LiveViewer {
  private run: RunView | undefined;
  private checking = false;
  private version = 0;
  private server: Promise<ViewerServer> | undefined;
  private address: string | undefined;

  /** A new exercise is open: the page shows it as being checked. */
  open(exercise: RunExercise): void {
    this.run = { exercise, result: undefined };
    this.changed();
  }

  /** A check of the open exercise started. */
  checkStarted(): void {
    this.checking = true;
    void this.server?.then((s) => s.checkingNow()).catch(() => undefined);
  }

  /** A check ended without a result (the grader could not start): the page stops saying it is checking. */
  checkFinished(): void {
    if (!this.checking) return;
    this.checking = false;
    this.changed();
  }

  /** A check finished: the page shows this run. */
  graded(exercise: RunExercise, result: ExerciseResult, checkedAt = new Date()): void {
    this.run = { exercise, result, checkedAt };
    this.checking = false;
    this.changed();
  }

  /** Starts the server the first time; resolves to the page's address (the same every time). */
  async start(): Promise<string> {
    this.server ??= startViewerServer({
      page: (nonce) => renderRunsPage(this.runs(), { nonce, live: true, checking: this.checking, version: this.version }),
      fragment: () => renderRunsFragment(this.runs(), { checking: this.checking, version: this.version }),
      version: () => this.version,
      checking: () => this.checking,
    });
    // A server that could not start is tried again on the next ask.
    this.server.catch(() => (this.server = undefined));
    this.address = (await this.server).url;
    return this.address;
  }

  /** The page's address, once the server listens. */
  get url(): string | undefined {
    return this.address;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.address = undefined;
    await server?.then((s) => s.close()).catch(() => undefined);
  }

  private runs(): RunView[] {
    return this.run ? [this.run] : [];
  }

  private changed(): void {
    this.version++;
    void this.server?.then((s) => s.graded()).catch(() => undefined);
  }
}

let shared: LiveViewer | undefined;

/** The viewer of this `learn` process. */
export function learnViewer(): LiveViewer {
  shared ??= new LiveViewer();
  return shared;
}

/**
 * Opens the page in the learner's browser when that is known to work: `BROWSER` names a command
 * (`BROWSER=none` turns it off), or a desktop session on this machine has its usual opener. Over
 * SSH, in CI or without a display, the printed address is the way in. Returns whether it tried.
 */
export function openInBrowser(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  const command = browserCommand(env, platform);
  if (!command) return false;
  try {
    const child = spawn(command.file, [...command.args, url], { detached: true, stdio: 'ignore', windowsHide: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export function browserCommand(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): { file: string; args: string[] } | undefined {
  const chosen = env['BROWSER'];
  if (chosen !== undefined && chosen !== '') return chosen === 'none' ? undefined : { file: chosen, args: [] };
  if (env['CI'] || env['SSH_CONNECTION'] || env['SSH_TTY']) return undefined;
  if (platform === 'darwin') return { file: 'open', args: [] };
  if (platform === 'win32') return { file: 'explorer.exe', args: [] };
  if (platform === 'linux' && (env['DISPLAY'] || env['WAYLAND_DISPLAY'])) return { file: 'xdg-open', args: [] };
  return undefined;
}
