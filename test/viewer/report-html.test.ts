import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../../src/workshop/report-model.ts';
import { renderReportHtml } from '../../src/viewer/report-html.ts';
import { FIXTURE_WORKBOOK, runCli, type CliRun } from '../support/workbook.ts';
import { hasChromium, openBrowser, requestsElsewhere, type Browser } from './browser.ts';

/** A learner's `check --json` file, as `check` writes it (the part the report reads). */
function checkJson(learner: string, exercises: { id: string; track: string; failed?: string[]; status?: 'pass' | 'fail' | 'skipped' }[]): string {
  return JSON.stringify({
    version: 1,
    learner,
    status: 'fail',
    exercises: exercises.map((e) => ({
      id: e.id,
      track: e.track,
      status: e.status ?? (e.failed?.length ? 'fail' : 'pass'),
      started: true,
      tests: [
        { name: 'adds two numbers', status: e.failed?.includes('adds two numbers') ? 'fail' : 'pass' },
        { name: 'adds negative numbers', status: e.failed?.includes('adds negative numbers') ? 'fail' : 'pass' },
      ],
    })),
    summary: { pass: 0, fail: 0, error: 0, skipped: 0 },
  });
}

describe('report --html', () => {
  let dir: string;
  let out: string;
  let run: CliRun;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-report-'));
    out = path.join(dir, 'room.html');
    await writeFile(path.join(dir, 'ada.json'), checkJson('ada', [{ id: 'passes', track: 'basics' }, { id: 'fails', track: 'basics', failed: ['adds negative numbers'] }]));
    await writeFile(path.join(dir, 'grace.json'), checkJson('grace', [{ id: 'passes', track: 'basics' }, { id: 'fails', track: 'basics', failed: ['adds two numbers', 'adds negative numbers'] }]));
    await writeFile(path.join(dir, 'linus.json'), checkJson('linus <script>alert(1)</script>', [{ id: 'passes', track: 'basics' }, { id: 'fails', track: 'basics' }]));
    run = await runCli(['report', '--root', FIXTURE_WORKBOOK, path.join(dir, 'ada.json'), path.join(dir, 'grace.json'), path.join(dir, 'linus.json'), '--html', out]);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints the table in the terminal and says where the page went', async () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/fails\s+1\/3\s+2\s+0\s+adds negative numbers \(2\)/);
    expect(run.stdout).toContain(`Wrote the report to ${out}`);
    const html = await readFile(out, 'utf8');
    // A learner's name is text, never markup.
    expect(html).toContain('linus &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
  });

  it('draws nobody as a sentence, not as empty tables', () => {
    const html = renderReportHtml(aggregate([]), 'n');
    expect(html).toContain('No results');
    expect(html).not.toContain('<table');
  });

  describe.skipIf(!hasChromium)('in a browser', () => {
    let browser: Browser | undefined;
    afterAll(() => browser?.close());

    it('shows the table per exercise and per learner, and who is where on each exercise, offline', async () => {
      browser = await openBrowser({ width: 1100, height: 800 });
      const { page } = browser;
      await page.goto(pathToFileURL(out).href);
      const rows = (table: string) =>
        page.locator(`table.${table} tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => (c.textContent ?? '').trim())));
      expect(await page.locator('table.exercises thead th').allInnerTexts()).toEqual(['exercise', 'track', 'passed', 'stuck', 'not started', 'skipped', 'most often failing (stuck learners)']);
      expect(await rows('exercises')).toEqual([
        ['passes', 'basics', '3/3', '0', '0', '0', '-'],
        ['fails', 'basics', '1/3', '2', '0', '0', 'adds negative numbers (2)'],
      ]);
      const learners = await rows('learners');
      expect(learners.map((r) => r.slice(0, 3))).toEqual([
        ['ada', '1/2', 'fails'],
        ['grace', '1/2', 'fails'],
        ['linus <script>alert(1)</script>', '2/2', '-'],
      ]);
      // The grid: one cell per learner and exercise, its state in words for a screen reader.
      expect(await page.locator('table.grid tbody tr').first().locator('td .visually-hidden').allInnerTexts()).toEqual([
        'passes: passed, 1 run',
        'fails: stuck, 1 run',
      ]);
      // Narrow: the page fits, the tables scroll inside their frames.
      await page.setViewportSize({ width: 360, height: 800 });
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      expect(requestsElsewhere(browser.requests, pathToFileURL(out).href)).toEqual([]);
    });
  });
});
