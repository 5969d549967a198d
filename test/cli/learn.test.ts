import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, copyWorkbook, runCli } from '../support/workbook.ts';

// `learn` is driven in a real terminal: tmux gives it a pseudo-terminal, types keys and reads the screen.
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env['CI']) throw new Error('tmux is needed for the learn tests in CI (.ci/run installs it)');

class Terminal {
  constructor(readonly session: string) {}

  static start(command: string, session = `tracecraft-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, width = 150): Terminal {
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', String(width), '-y', '50', command]);
    return new Terminal(session);
  }

  resize(width: number): void {
    execFileSync('tmux', ['resize-window', '-t', this.session, '-x', String(width), '-y', '50']);
  }

  /** Types text as one burst, the way a paste arrives. */
  paste(text: string): void {
    execFileSync('tmux', ['send-keys', '-l', '-t', this.session, text]);
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

describe.skipIf(!hasTmux)('npm run learn in a terminal', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let terminal: Terminal | undefined;
  beforeEach(async () => {
    workbook = await copyWorkbook();
  });
  afterEach(async () => {
    terminal?.close();
    await workbook.remove();
  });

  const learn = (args: string): Terminal =>
    Terminal.start(`cd ${workbook.root} && node ${CLI} learn --root ${workbook.root} ${args}; echo "learn exited with $?"; sleep 60`);

  it('opens an exercise, checks it on save, shows the verdict and a hint, and quits', async () => {
    terminal = learn('fails');
    await terminal.waitFor('Fixture: fails');
    await terminal.waitFor('2 + 3: expected -1 to be 5');
    terminal.keys('h');
    await terminal.waitFor('Hint 1/1: It is a fixture.');
    await copyFile(
      path.join(workbook.root, 'solutions', '01-basics', '02-fails', 'code.ts'),
      path.join(workbook.root, 'exercises', '01-basics', '02-fails', 'code.ts'),
    );
    await terminal.waitFor('All checks pass');
    terminal.keys('q');
    await terminal.waitFor('learn exited with 0');
  });

  it('starts at the menu on the first unfinished exercise and moves on with n', async () => {
    terminal = learn('');
    await terminal.waitFor('Pick one');
    await terminal.waitFor('passes');
    terminal.keys('Enter');
    await terminal.waitFor('All checks pass');
    terminal.keys('n');
    await terminal.waitFor('2 + 3: expected -1 to be 5');
    terminal.keys('l');
    await terminal.waitFor(/✓ passes/);
    terminal.keys('C-c');
    await terminal.waitFor('learn exited with 0');
  });

  it('gives a verdict for a save that hangs at load time, and passes the next save of a correct file', async () => {
    const file = path.join(workbook.root, 'exercises', '01-basics', '01-passes', 'code.ts');
    const correct = await readFile(file, 'utf8');
    terminal = learn('passes');
    await terminal.waitFor('All checks pass');
    await writeFile(file, `let spins = 0;\nwhile (spins >= 0) spins++;\n${correct}`);
    await terminal.waitFor('your code never finished loading: an infinite loop or an await that never settles at the top of');
    await writeFile(file, correct);
    await terminal.waitFor(/All checks pass[\s\S]*$/);
    const screen = terminal.screen();
    expect(screen.lastIndexOf('All checks pass')).toBeGreaterThan(screen.lastIndexOf('never finished loading'));
    terminal.keys('q');
    await terminal.waitFor('learn exited with 0');
  });

  it('ignores a paste and function keys, and checks again on c', async () => {
    terminal = learn('fails');
    await terminal.waitFor('2 + 3: expected -1 to be 5');
    terminal.paste('quit please');
    terminal.keys('F2');
    terminal.keys('Home');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = terminal.screen();
    expect(before).not.toContain('learn exited');
    expect(before, 'Home is not h: no hint was revealed').not.toContain('Hint 1/1');
    const checkedAt = (screen: string): string | undefined => /checked at (\S+)/.exec(screen)?.[1];
    const first = checkedAt(before);
    expect(first).toBeDefined();
    // The clock moves on a second, so the time of the next check differs from the first.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    terminal.keys('c');
    await terminal.waitFor(new RegExp(`checked at (?!${first?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})\\S+[\\s\\S]*2 \\+ 3: expected -1 to be 5`));
    terminal.keys('q');
    await terminal.waitFor('learn exited with 0');
  });

  it('shows exercises never tried as not started, apart from the ones that fail', async () => {
    await runCli(['check', '--root', workbook.root, '--track', 'basics']);
    terminal = learn('');
    await terminal.waitFor('Pick one');
    const menu = terminal.screen();
    expect(menu).toMatch(/· fails/);
    expect(menu).toContain('· not started');
    terminal.keys('Enter');
    await terminal.waitFor('2 + 3: expected -1 to be 5');
    terminal.keys('l');
    await terminal.waitFor(/✗ fails/);
    terminal.keys('C-c');
    await terminal.waitFor('learn exited with 0');
  });

  it('draws the failure again for the new width when the terminal is resized', async () => {
    terminal = Terminal.start(`cd ${workbook.root} && node ${CLI} learn --root ${workbook.root} wrong-span; echo "learn exited with $?"; sleep 60`, undefined, 220);
    await terminal.waitFor(/expected\s+your trace/);
    terminal.resize(90);
    await terminal.waitFor(/\n\s*your trace\s*\n/);
    terminal.keys('q');
    await terminal.waitFor('learn exited with 0');
  });

  it('shows the solution diff only after confirming, while the exercise fails', async () => {
    terminal = learn('fails');
    await terminal.waitFor('2 + 3: expected -1 to be 5');
    terminal.keys('s');
    await terminal.waitFor('Press s again');
    terminal.keys('s');
    await terminal.waitFor('+  return a + b;');
    terminal.keys('q');
    await terminal.waitFor('learn exited with 0');
  });
});

describe.skipIf(!hasTmux)('reset in npm run learn', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let terminal: Terminal | undefined;
  beforeEach(async () => {
    workbook = await copyWorkbook();
    // A reset restores the committed starter, so this workbook needs a commit.
    const git = (...args: string[]): void => void execFileSync('git', args, { cwd: workbook.root, stdio: 'ignore' });
    git('init', '-q');
    git('add', 'exercises');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'starters');
  });
  afterEach(async () => {
    terminal?.close();
    await workbook.remove();
  });

  it('backs up the learner\'s file, restores the starter, and only after a confirmation', async () => {
    const file = path.join(workbook.root, 'exercises', '01-basics', '02-fails', 'code.ts');
    const starter = await readFile(file, 'utf8');
    const mine = 'export function add(a: number, b: number): number {\n  return b + a; // my attempt\n}\n';
    await writeFile(file, mine);
    terminal = Terminal.start(`cd ${workbook.root} && node ${CLI} learn --root ${workbook.root} fails; echo "learn exited with $?"; sleep 60`);
    await terminal.waitFor('All checks pass');
    terminal.keys('r');
    await terminal.waitFor('Press y to reset');
    terminal.keys('x');
    expect(await readFile(file, 'utf8'), 'any other key cancels').toBe(mine);
    terminal.keys('r');
    terminal.keys('y');
    await terminal.waitFor('Your previous files are in .workbook/backups/fails/');
    expect(await readFile(file, 'utf8')).toBe(starter);
    const backups = path.join(workbook.root, '.workbook', 'backups', 'fails');
    const [stamp] = await readdir(backups);
    expect(await readFile(path.join(backups, stamp ?? '', 'code.ts'), 'utf8')).toBe(mine);
    await terminal.waitFor('2 + 3: expected -1 to be 5');
    terminal.keys('q');
    await terminal.waitFor('learn exited with 0');
  });
});

it('learn without a terminal says to use check instead, and exits 2', async () => {
  const run = await runCli(['learn']);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('needs a terminal');
  expect(run.stderr).toContain('npm run check');
});
