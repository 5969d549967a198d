/**
 * Debian's Chromium, headless, driven by playwright-core: what the viewer tests open pages in.
 * It starts with a new empty profile and the flags that keep it off the network (no background
 * requests, no QUIC, no component updates), and every request a page makes is recorded, so a test
 * can say that nothing left the machine. Never `npx playwright install`: .ci/run installs the
 * Debian package when it is missing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env['CI']) throw new Error(`the viewer tests need Chromium at ${CHROMIUM} in CI (.ci/run installs it)`);

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every URL the pages asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function openBrowser(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport });
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  // A page that is not there says so in seconds, not after the test's whole time limit.
  page.setDefaultTimeout(10_000);
  return {
    context,
    page,
    requests,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The requests that went anywhere but `allowed` (an origin such as http://127.0.0.1:1234, or file:). */
export function requestsElsewhere(requests: readonly string[], allowed: string): string[] {
  return requests.filter((url) => !url.startsWith(allowed));
}

/** Polls until `check` returns a value that is not undefined (or throws its last error at the deadline). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what} never happened${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
