import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExerciseResult } from '../../src/runner/results.ts';
import { browserCommand, LiveViewer } from '../../src/viewer/live.ts';

const exercise = { id: 'checkout', title: 'Checkout', trackTitle: 'Foundations' };
const failed: ExerciseResult = { id: 'checkout', track: 'foundations', status: 'fail', tests: [{ name: 'adds', status: 'fail', message: 'expected 5' }] };
const passed: ExerciseResult = { id: 'checkout', track: 'foundations', status: 'pass', tests: [{ name: 'adds', status: 'pass' }] };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(url: string, options: { host?: string; method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'GET', headers: options.host ? { host: options.host } : {} }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** A server-sent event stream, read as its events arrive. */
function events(url: string): Promise<{ next(event: string): Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, (response) => {
      let buffer = '';
      const seen: { event: string; data: string }[] = [];
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          if (event) seen.push({ event, data: /^data: ?(.*)$/m.exec(block)?.[1] ?? '' });
        }
      });
      resolve({
        next: async (event) => {
          const deadline = Date.now() + 5000;
          for (;;) {
            const at = seen.findIndex((e) => e.event === event);
            if (at !== -1) return seen.splice(0, at + 1)[at]?.data ?? '';
            if (Date.now() > deadline) throw new Error(`no "${event}" event arrived (seen: ${JSON.stringify(seen)})`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

describe('the live viewer\'s server', () => {
  const viewers: LiveViewer[] = [];
  afterEach(async () => {
    await Promise.all(viewers.splice(0).map((v) => v.close()));
  });
  const started = async (): Promise<{ viewer: LiveViewer; url: string }> => {
    const viewer = new LiveViewer();
    viewers.push(viewer);
    return { viewer, url: await viewer.start() };
  };

  it('listens on 127.0.0.1, on a port of its own, under an unguessable token, and keeps its address', async () => {
    const a = await started();
    const b = await started();
    for (const { url } of [a, b]) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/$/);
    expect(new URL(a.url).port).not.toBe(new URL(b.url).port);
    expect(a.url.split('/')[3]).not.toBe(b.url.split('/')[3]);
    expect(await a.viewer.start()).toBe(a.url);
  });

  it('answers only with its token, only to its own host name, and only to GET', async () => {
    const { url } = await started();
    const origin = new URL(url).origin;
    expect((await get(url)).status).toBe(200);
    expect((await get(`${origin}/`)).status).toBe(404);
    expect((await get(`${origin}/wrong-token/`)).status).toBe(404);
    expect((await get(`${url}../`)).status).toBe(404);
    expect((await get(url, { host: `evil.example:${new URL(url).port}` })).status).toBe(421);
    expect((await get(url, { method: 'POST' })).status).toBe(405);
  });

  it('serves the page with a policy that lets only its own style and script run, and never to be cached', async () => {
    const { viewer, url } = await started();
    viewer.graded(exercise, failed);
    const page = await get(url);
    const policy = String(page.headers['content-security-policy']);
    const nonce = /script-src 'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toBeDefined();
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain('expected 5');
  });

  it('tells open pages of each check started and each run graded, and serves the new run', async () => {
    const { viewer, url } = await started();
    viewer.open(exercise);
    const stream = await events(`${url}events`);
    const first = await stream.next('run');
    viewer.checkStarted();
    await stream.next('checking');
    viewer.graded(exercise, failed);
    const second = await stream.next('run');
    expect(Number(second)).toBeGreaterThan(Number(first));
    expect((await get(`${url}fragment`)).body).toContain('expected 5');
    viewer.graded(exercise, passed);
    expect(Number(await stream.next('run'))).toBeGreaterThan(Number(second));
    const fragment = (await get(`${url}fragment`)).body;
    expect(fragment).toContain('data-status="pass"');
    expect(fragment).toContain(`data-version="${Number(second) + 1}"`);
    stream.close();
  });

  it('stops saying it is checking when a check ends with no result', async () => {
    const { viewer, url } = await started();
    viewer.open(exercise);
    viewer.checkStarted();
    expect((await get(`${url}fragment`)).body).toContain('data-checking="true"');
    viewer.checkFinished();
    expect((await get(`${url}fragment`)).body).not.toContain('data-checking');
  });
});

describe('opening a browser', () => {
  it('only where it is reliable: BROWSER when set, a desktop session, never over SSH or in CI', () => {
    expect(browserCommand({ BROWSER: 'firefox' }, 'linux')).toEqual({ file: 'firefox', args: [] });
    expect(browserCommand({ BROWSER: 'none', DISPLAY: ':0' }, 'linux')).toBeUndefined();
    expect(browserCommand({ DISPLAY: ':0' }, 'linux')).toEqual({ file: 'xdg-open', args: [] });
    expect(browserCommand({}, 'linux')).toBeUndefined();
    expect(browserCommand({ DISPLAY: ':0', SSH_CONNECTION: '1.2.3.4 5 6.7.8.9 22' }, 'linux')).toBeUndefined();
    expect(browserCommand({ CI: 'true' }, 'darwin')).toBeUndefined();
    expect(browserCommand({}, 'darwin')).toEqual({ file: 'open', args: [] });
  });
});
