import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest, readBody, startHttpServer, type HttpHandler, type LoopbackServer } from '../../src/kit/http.ts';

const servers: LoopbackServer[] = [];

async function serve(handler: HttpHandler): Promise<LoopbackServer> {
  const server = await startHttpServer(handler);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('startHttpServer', () => {
  it('listens on an ephemeral port of 127.0.0.1 and gives its base URL', async () => {
    const server = await serve((_req, res) => res.end('hi'));
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.server.address()).toMatchObject({ address: '127.0.0.1', port: server.port });
    const other = await serve((_req, res) => res.end('ho'));
    expect(other.port).not.toBe(server.port);
  });

  it('answers real requests, including fetch', async () => {
    const server = await serve((req, res) => res.end(`you asked for ${req.url}`));
    const response = await fetch(`${server.url}/path?x=1`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('you asked for /path?x=1');
  });

  it('answers 500 with the reason when an async handler rejects', async () => {
    const server = await serve(async () => {
      await Promise.resolve();
      throw new Error('boom');
    });
    const response = await httpRequest(server.url);
    expect(response.status).toBe(500);
    expect(response.body).toContain('boom');
  });

  it('answers 500 when a handler throws synchronously', async () => {
    const server = await serve(() => {
      throw new Error('sync boom');
    });
    const response = await httpRequest(server.url);
    expect(response.status).toBe(500);
    expect(response.body).toContain('sync boom');
  });

  it('close() resolves promptly despite keep-alive connections, and the port stops answering', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http.get(server.url, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
    await fetch(server.url).then((r) => r.text());
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(500);
    await expect(httpRequest(server.url, { timeoutMs: 500 })).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('close() ends a request the handler never answered, and is safe to call twice', async () => {
    const server = await serve(() => undefined);
    const pending = httpRequest(server.url, { timeoutMs: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await Promise.all([server.close(), server.close()]);
    await expect(pending).rejects.toThrow(/failed/);
  });
});

describe('httpRequest', () => {
  it('sends the method, headers and body, and reads status, headers and body', async () => {
    const server = await serve(async (req, res) => {
      const body = await readBody(req);
      res.writeHead(201, { 'x-echo': String(req.headers['x-test']) });
      res.end(`${req.method} ${body}`);
    });
    const response = await httpRequest(`${server.url}/things`, {
      method: 'POST',
      headers: { 'x-test': 'hello', 'content-type': 'text/plain' },
      body: 'café',
    });
    expect(response).toMatchObject({ status: 201, body: 'POST café' });
    expect(response.headers['x-echo']).toBe('hello');
  });

  it('sends header values verbatim, even malformed ones', async () => {
    const seen: (string | undefined)[] = [];
    const server = await serve((req, res) => {
      seen.push(req.headers['traceparent'] as string | undefined);
      res.end();
    });
    await httpRequest(server.url, { headers: { traceparent: '00-not-a-trace' } });
    await httpRequest(server.url, { headers: { traceparent: '' } });
    expect(seen).toEqual(['00-not-a-trace', '']);
  });

  it('rejects with a clear message when no answer comes in time', async () => {
    const server = await serve(() => undefined);
    const started = performance.now();
    await expect(httpRequest(server.url, { timeoutMs: 100 })).rejects.toThrow(`no answer to GET ${server.url} within 100 ms`);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects when nothing listens', async () => {
    const server = await serve((_req, res) => res.end());
    await server.close();
    await expect(httpRequest(server.url)).rejects.toThrow(`GET ${server.url} failed`);
  });
});
