import { copyFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, copyWorkbook } from '../support/workbook.ts';
import { hasTmux, Terminal } from '../support/tmux.ts';
import { eventually, hasChromium, openBrowser, requestsElsewhere, type Browser } from './browser.ts';

/** What the page shows, read the way a learner reads it. */
const shown = {
  /** Each check as its verdict mark and its name. */
  checks: (b: Browser) => b.page.locator('.check-link').evaluateAll((links) => links.map((l) => `${l.querySelector('.mark')?.textContent} ${l.querySelector('.check-label')?.textContent}`)),
  current: (b: Browser) => b.page.locator('.check-link[aria-current="true"]').innerText(),
  rows: (b: Browser, side: 'expected' | 'actual') => b.page.locator(`section.check:not([hidden]) [data-side="${side}"] .span-row .span-name`).allInnerTexts(),
  marked: (b: Browser, side: 'expected' | 'actual') => b.page.locator(`section.check:not([hidden]) [data-side="${side}"] .row.marked .span-name`).allInnerTexts(),
  detailsName: (b: Browser) => b.page.locator('#details .detail-name').innerText(),
  attribute: (b: Browser, key: string) => b.page.locator('#details .attributes tr', { hasText: key }).locator('td').innerText(),
};

function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe.skipIf(!hasTmux || !hasChromium)('the trace viewer of npm run learn, in a browser', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let terminal: Terminal | undefined;
  let browser: Browser | undefined;
  beforeEach(async () => {
    workbook = await copyWorkbook();
  });
  afterEach(async () => {
    await browser?.close();
    terminal?.close();
    await workbook.remove();
  });

  it('opens from learn, shows the failing check\'s two waterfalls, a span\'s attributes on click, and turns to pass on a saved fix', async () => {
    terminal = Terminal.start(`cd ${workbook.root} && node ${CLI} learn --root ${workbook.root} wrong-span; echo "learn exited with $?"; sleep 60`);
    await terminal.waitFor('the order id on the span: attribute app.order.id is missing');
    terminal.keys('v');
    const screen = await terminal.waitFor(/Trace viewer: http:\/\/127\.0\.0\.1:\d+\/[\w-]+\//);
    const url = /Trace viewer: (http:\/\/127\.0\.0\.1:\d+\/[\w-]+\/)/.exec(screen)?.[1] ?? '';
    const origin = new URL(url).origin;
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(url);

    // The checks with their verdicts, the failing one shown first.
    expect(await shown.checks(browser)).toEqual(['✓ answers with the order id', '✗ records the order id on the handle span', '✓ type checks cleanly (tsc, strict)']);
    expect(await shown.current(browser)).toContain('records the order id on the handle span');
    expect(await page.title()).toMatch(/^✗ wrong-span/);

    // The expected shape and the learner's trace side by side, the first difference marked on both.
    expect(await shown.rows(browser, 'expected')).toEqual(['handle order', 'load order from the order store']);
    expect(await shown.rows(browser, 'actual')).toEqual(['handle order', 'load order from the order store']);
    expect(await shown.marked(browser, 'expected')).toEqual(['handle order']);
    expect(await shown.marked(browser, 'actual')).toEqual(['handle order']);
    const [expectedBox, actualBox] = await Promise.all([
      page.locator('section.check:not([hidden]) [data-side="expected"]').boundingBox(),
      page.locator('section.check:not([hidden]) [data-side="actual"]').boundingBox(),
    ]);
    expect(actualBox && expectedBox && actualBox.x > expectedBox.x + expectedBox.width - 1, 'side by side on a wide window').toBe(true);
    expect(await page.locator('section.check:not([hidden]) .headline').innerText()).toBe('the order id on the span: attribute app.order.id is missing (expected "o-42")');

    // A click on a span shows what it recorded.
    const actual = page.locator('section.check:not([hidden]) [data-side="actual"] .span-row');
    await actual.filter({ hasText: 'load order from the order store' }).click();
    expect(await shown.detailsName(browser)).toBe('load order from the order store');
    expect(await page.locator('#details').innerText()).toContain('Attributes (0)');
    await actual.filter({ hasText: 'handle order' }).click();
    expect(await shown.detailsName(browser)).toBe('handle order');
    expect(await shown.attribute(browser, 'app.order.note')).toBe('"a note long enough to make the two trees wide when they stand side by side"');
    expect(await page.locator('#details .differs').innerText()).toContain('attribute app.order.id is missing');

    // The keyboard reaches the same: ↓ moves to the next span and shows it.
    await actual.filter({ hasText: 'handle order' }).focus();
    await page.keyboard.press('ArrowDown');
    expect(await shown.detailsName(browser)).toBe('load order from the order store');

    // A saved fix turns the page to pass, without a reload.
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    await copyFile(
      path.join(workbook.root, 'solutions', '04-pictures', '01-wrong-span', 'code.ts'),
      path.join(workbook.root, 'exercises', '04-pictures', '01-wrong-span', 'code.ts'),
    );
    await eventually(async () => ((await page.title()).startsWith('✓') ? true : undefined), 'the page turning to pass');
    expect(await page.locator('.exercise-verdict').innerText()).toContain('3 of 3 checks pass');
    expect((await shown.checks(browser)).every((t) => t.startsWith('✓'))).toBe(true);
    expect(await page.locator('.check-link[aria-current="true"]').innerText(), 'still on the check the learner was reading').toContain('records the order id on the handle span');
    expect(await page.locator('section.check:not([hidden]) [data-side="trace"] .span-name').allInnerTexts()).toEqual(['handle order', 'load order from the order store']);
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await terminal.waitFor('All checks pass');

    // Only the viewer's own server was asked for anything, and only with its token.
    expect(requestsElsewhere(browser.requests, `${origin}/`)).toEqual([]);
    expect(browser.requests.every((r) => r.startsWith(url))).toBe(true);
    expect(await status(`${origin}/`)).toBe(404);
    expect(await status(`${origin}/not-the-token/`)).toBe(404);
    expect(await status(url, { host: 'attacker.example' }), 'a rebound DNS name is refused').toBe(421);

    // learn quits with the page still open, and the page says it lost learn.
    expect(await page.locator('#live').getAttribute('data-state')).toBe('live');
    terminal.keys('q');
    await terminal.waitFor('learn exited with 0');
    await eventually(async () => ((await page.locator('#live').getAttribute('data-state')) === 'offline' ? true : undefined), 'the page saying learn is gone');
    expect(await page.locator('#live').innerText()).toContain('Lost the connection to npm run learn');
  });
});
