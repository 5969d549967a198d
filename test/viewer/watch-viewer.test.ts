import http from 'node:http';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.ts';
import { WatchSession } from '../../src/cli/watch-session.ts';
import { ProgressStore } from '../../src/progress/index.ts';
import { Grader } from '../../src/runner/grader.ts';
import { plain } from '../../src/trace/paint.ts';
import { LiveViewer } from '../../src/viewer/live.ts';
import { copyWorkbook } from '../support/workbook.ts';

function page(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('the v key of a watch session', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  const browser = process.env['BROWSER'];
  beforeEach(async () => {
    workbook = await copyWorkbook();
    // Never open a real browser from a test.
    process.env['BROWSER'] = 'none';
  });
  afterEach(async () => {
    if (browser === undefined) delete process.env['BROWSER'];
    else process.env['BROWSER'] = browser;
    await workbook.remove();
  });

  it('starts the viewer once, prints its address (and keeps it under the keys), and the page shows the last run', async () => {
    const catalog = await loadCatalog(workbook.root);
    const exercise = catalog.byId('wrong-span');
    if (!exercise) throw new Error('no wrong-span in the fixture workbook');
    const { store } = await ProgressStore.open(workbook.root);
    const grader = new Grader({ root: workbook.root, target: 'exercises', testTimeoutMs: 3000, isolate: true });
    const viewer = new LiveViewer();
    const input = new PassThrough() as unknown as NodeJS.ReadStream;
    const output = new PassThrough() as unknown as NodeJS.WriteStream;
    let screen = '';
    (output as unknown as PassThrough).on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const waitFor = async (pattern: RegExp): Promise<RegExpExecArray> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const found = pattern.exec(screen);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`never showed ${pattern}; the screen shows:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      const session = new WatchSession(exercise, { root: workbook.root, catalog, progress: store, grader, paint: plain, colour: false, input, output, viewer });
      const exit = session.run();
      await waitFor(/attribute app\.order\.id is missing/);
      expect(screen).toContain('[v] viewer');
      input.write('v');
      const url = (await waitFor(/Trace viewer: (http:\/\/127\.0\.0\.1:\d+\/[\w-]+\/)/))[1] ?? '';
      expect(screen, 'BROWSER=none: nothing is opened').not.toContain('Opened it in your browser');
      const html = await page(url);
      expect(html).toContain('records the order id on the handle span');
      expect(html).toContain('attribute app.order.id is missing');
      input.write('v');
      await waitFor(/Trace viewer:[\s\S]*Trace viewer:/);
      expect(screen.match(/Trace viewer: (\S+)/g)?.every((line) => line.endsWith(url))).toBe(true);
      input.write('c');
      await waitFor(new RegExp(`viewer: ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      input.write('q');
      expect(await exit).toEqual({ action: 'quit' });
    } finally {
      await viewer.close();
      await grader.close();
    }
  });
});
