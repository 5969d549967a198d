import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkbook, runCli, type CliRun } from '../support/workbook.ts';
import { hasChromium, openBrowser, requestsElsewhere, type Browser } from './browser.ts';

describe('check --html-report', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let file: string;
  let run: CliRun;
  beforeAll(async () => {
    workbook = await copyWorkbook();
    file = path.join(workbook.root, 'run.html');
    run = await runCli(['check', '--root', workbook.root, 'wrong-span', 'fails', 'passes', '--html-report', file]);
  });
  afterAll(() => workbook.remove());

  it('writes the page, says where, and keeps the verdict and its exit code', async () => {
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('the order id on the span: attribute app.order.id is missing');
    expect(run.stdout).toContain(`Wrote the run to ${file}`);
    const html = await readFile(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Self-contained: nothing in it points anywhere (no src, no href but its own anchors).
    expect(html).not.toMatch(/\bsrc=/);
    expect([...html.matchAll(/href="([^"]*)"/g)].every(([, href]) => href?.startsWith('#'))).toBe(true);
  });

  it('beside --json, keeps stdout to the JSON and says where the page went on stderr', async () => {
    const other = path.join(workbook.root, 'json-run.html');
    const json = await runCli(['check', '--root', workbook.root, 'passes', '--json', '--html-report', other]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).status).toBe('pass');
    expect(json.stderr).toContain(`Wrote the run to ${other}`);
    expect(await readFile(other, 'utf8')).toContain('passes');
  });

  it('says why a page could not be written, and exits 2', async () => {
    const nowhere = path.join(workbook.root, 'no-such-folder', 'run.html');
    const failed = await runCli(['check', '--root', workbook.root, 'passes', '--html-report', nowhere]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(`failed to write the HTML report ${nowhere}`);
  });

  describe.skipIf(!hasChromium)('in a browser', () => {
    let browser: Browser | undefined;
    afterAll(() => browser?.close());

    it('opens from the file offline: every exercise\'s checks, the failing check\'s two waterfalls, span details on click', async () => {
      browser = await openBrowser();
      const { page } = browser;
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(pathToFileURL(file).href);
      // In the workbook's order, each exercise with its tally.
      expect(await page.locator('.exercise-title').allInnerTexts()).toEqual([
        expect.stringContaining('Fixture: passes'),
        expect.stringContaining('Fixture: fails'),
        expect.stringContaining('Fixture: wrong span'),
      ]);
      expect(await page.locator('.exercise-verdict').allInnerTexts()).toEqual([
        expect.stringContaining('3 of 3 checks pass'),
        expect.stringContaining('1 of 3 checks pass'),
        expect.stringContaining('2 of 3 checks pass'),
      ]);
      // The first failing check is the one shown, its message in words.
      expect(await page.locator('.check-link[aria-current="true"] .check-label').innerText()).toBe('adds two numbers');
      expect(await page.locator('section.check:not([hidden]) .message').innerText()).toBe('2 + 3: expected -1 to be 5');

      // A trace mismatch, picked from the list: the two waterfalls.
      await page.locator('.check-link', { hasText: 'records the order id on the handle span' }).click();
      const shown = page.locator('section.check:not([hidden])');
      expect(await shown.locator('h2 .check-name').innerText()).toBe('records the order id on the handle span');
      expect(await shown.locator('[data-side="expected"] .span-name').allInnerTexts()).toEqual(['handle order', 'load order from the order store']);
      expect(await shown.locator('[data-side="actual"] .span-name').allInnerTexts()).toEqual(['handle order', 'load order from the order store']);
      // The learner's span where it differs opens in the panel with the check.
      expect(await page.locator('#details .detail-name').innerText()).toBe('handle order');
      await shown.locator('[data-side="expected"] .span-row', { hasText: 'handle order' }).click();
      expect(await page.locator('#details').innerText()).toContain('app.order.id="o-42"');

      // A passing check shows the trace it recorded, bars to scale.
      await page.locator('.check-link', { hasText: 'answers with the order id' }).click();
      const bars = await page.locator('section.check:not([hidden]) [data-side="trace"] .bar').evaluateAll((els) => els.map((e) => e.getAttribute('style') ?? ''));
      expect(bars).toHaveLength(2);
      expect(bars[0], 'the root spans the whole trace').toContain('left:0.000%;width:100.000%');

      // The keyboard: ↓ in the check list moves to the next check, Enter opens it; Esc in the panel goes back to the span.
      await page.locator('.check-link', { hasText: 'answers with the order id' }).focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      expect(await page.locator('.check-link[aria-current="true"] .check-label').innerText()).toBe('records the order id on the handle span');
      await page.locator('section.check:not([hidden]) [data-side="actual"] .span-row', { hasText: 'load order' }).focus();
      await page.keyboard.press('Enter');
      expect(await page.locator('#details .detail-name').innerText()).toBe('load order from the order store');
      await page.locator('#details').focus();
      await page.keyboard.press('Escape');
      expect(await page.evaluate<string>('document.activeElement.textContent')).toContain('load order from the order store');

      // A narrow window: one column, the two waterfalls one above the other, nothing wider than the window.
      await page.setViewportSize({ width: 380, height: 800 });
      await page.locator('.check-link', { hasText: 'records the order id' }).click();
      const [expectedBox, actualBox] = await Promise.all([
        page.locator('section.check:not([hidden]) [data-side="expected"]').boundingBox(),
        page.locator('section.check:not([hidden]) [data-side="actual"]').boundingBox(),
      ]);
      expect(expectedBox && actualBox && actualBox.y >= expectedBox.y + expectedBox.height).toBe(true);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(380);

      expect(errors).toEqual([]);
      expect(requestsElsewhere(browser.requests, pathToFileURL(file).href)).toEqual([]);
    });
  });
});
