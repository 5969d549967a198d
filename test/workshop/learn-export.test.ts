import { execFileSync, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../../src/trace/otlp-receiver.ts';
import { RUN_ATTRIBUTES } from '../../src/workshop/run-attributes.ts';
import { CLI, copyWorkbook } from '../support/workbook.ts';

// learn is driven in a real terminal, as in test/cli/learn.test.ts: tmux gives it a pseudo-terminal.
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args).toString();
}

async function waitFor(session: string, text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session);
    if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(text)}; it shows:\n${screen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!hasTmux)('learn in a workshop', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let receiver: OtlpReceiver;
  const session = `tracecraft-workshop-${process.pid}`;
  beforeEach(async () => {
    workbook = await copyWorkbook();
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    await receiver.close();
    await workbook.remove();
  });

  it('says first where results go, shows the workshop\'s exercises in its order, and sends every graded run', async () => {
    await writeFile(
      path.join(workbook.root, 'workshop.json'),
      JSON.stringify({ version: 1, title: 'Fixture workshop', exercises: ['pictures', 'basics'], solutionsBeforePass: true, otlp: receiver.url }),
    );
    // The variables are set in the command: a tmux server already running keeps the environment it started with.
    const env = "NO_COLOR=1 OTEL_EXPORTER_OTLP_ENDPOINT= OTEL_EXPORTER_OTLP_TRACES_ENDPOINT= OTEL_EXPORTER_OTLP_HEADERS= WORKBOOK_EXPORT= WORKBOOK_LEARNER='Grace Hopper'";
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', `cd ${workbook.root} && ${env} node ${CLI} learn --root ${workbook.root}; echo "learn exited with $?"; sleep 60`);
    const menu = await waitFor(session, 'Pick one');
    expect(menu.split('\n')[0]).toBe(
      `tracecraft: export is on: each graded run and the traces your code recorded go to ${receiver.tracesUrl} (set by workshop.json), as learner "Grace Hopper". ` +
        'To keep them here, add --no-export or set WORKBOOK_EXPORT=off.',
    );
    expect(menu).toContain('tracecraft — Fixture workshop — 0/8 exercises done.');
    tmux('send-keys', '-t', session, 'Enter');
    await waitFor(session, 'the order id on the span: attribute app.order.id is missing');
    const [run] = await receiver.waitForSpans((spans) => spans.some((s) => s.name === 'check wrong-span'), { what: 'the run of wrong-span' });
    const sent = receiver.spans().find((s) => s.name === 'check wrong-span');
    expect(run).toBeDefined();
    expect(sent?.attributes).toMatchObject({
      [RUN_ATTRIBUTES.learner]: 'Grace Hopper',
      [RUN_ATTRIBUTES.verdict]: 'fail',
      [RUN_ATTRIBUTES.command]: 'learn',
      [RUN_ATTRIBUTES.started]: true,
      [RUN_ATTRIBUTES.workshop]: 'Fixture workshop',
    });
    expect(receiver.spans().filter((s) => s.name === 'handle order')).toHaveLength(2);
    tmux('send-keys', '-t', session, 'l');
    const list = await waitFor(session, /Pick one[\s\S]*✗ wrong-span/);
    const after = list.slice(list.lastIndexOf('Pick one'));
    expect(after.indexOf('Pictures (0/1)')).toBeGreaterThan(-1);
    expect(after.indexOf('Pictures (0/1)')).toBeLessThan(after.indexOf('Basics (0/7)'));
    expect(after).not.toContain('Faults');
    tmux('send-keys', '-t', session, 'C-c');
    await waitFor(session, 'learn exited with 0');
  });
});
