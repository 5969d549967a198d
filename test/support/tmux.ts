import { execFileSync, spawnSync } from 'node:child_process';

// The CLI driven in a real terminal: tmux gives it a pseudo-terminal, types keys and reads the screen.
export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

export class Terminal {
  constructor(readonly session: string) {}

  static start(command: string, width = 150, session = `tracecraft-${process.pid}-${Math.random().toString(36).slice(2, 8)}`): Terminal {
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', String(width), '-y', '50', command]);
    return new Terminal(session);
  }

  screen(): string {
    return execFileSync('tmux', ['capture-pane', '-p', '-J', '-S', '-200', '-t', this.session]).toString();
  }

  keys(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.session, ...keys]);
  }

  /** Waits until the screen shows the text (the CLI runs real checks, so this can take a few seconds). */
  async waitFor(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(text)}; it shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  close(): void {
    spawnSync('tmux', ['kill-session', '-t', this.session]);
  }
}
