import { afterEach, describe, expect, it } from 'vitest';
import { ServerNotFoundError, serverUrl, SERVER_TEXT } from '../../src/checks/servers.ts';

// Where the checks' server helpers take their server from (src/checks/servers.ts).

const VARIABLES = ['WORKBOOK_REDIS_URL', 'TRACECRAFT_REDIS_MISSING'] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('serverUrl', () => {
  it('takes the URL the runner handed over, as is', async () => {
    process.env['WORKBOOK_REDIS_URL'] = 'redis://cache.internal:6380/2';
    process.env['TRACECRAFT_REDIS_MISSING'] = '';
    expect(await serverUrl('redis')).toBe('redis://cache.internal:6380/2');
  });

  it('fails with the runner\'s sentence when the runner found no server but runs the check anyway (CI)', async () => {
    process.env['WORKBOOK_REDIS_URL'] = 'redis://127.0.0.1:1';
    process.env['TRACECRAFT_REDIS_MISSING'] = 'Redis is needed by this exercise and none was found: …';
    const error = await serverUrl('redis').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerNotFoundError);
    expect(error).toMatchObject({ name: 'ServerNotFound', message: 'Redis is needed by this exercise and none was found: …' });
  });

  it('uses the standard local server, once probed, when no runner handed a URL (author-check, the curriculum tests)', async () => {
    delete process.env['WORKBOOK_REDIS_URL'];
    delete process.env['TRACECRAFT_REDIS_MISSING'];
    expect(await serverUrl('redis')).toBe('redis://127.0.0.1:6379');
  });

  it('words the failure of that fallback in a sentence that says how to get a server', () => {
    expect(SERVER_TEXT.noRunner('nats', 'nothing is listening on 127.0.0.1:4222')).toBe(
      'NATS is needed by this check: no runner handed WORKBOOK_NATS_URL to it, and the standard local server cannot be used ' +
        '(nothing is listening on 127.0.0.1:4222). Run the checks with `npm run check`, which finds or starts one.',
    );
  });
});
