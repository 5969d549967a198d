import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { portOpen, SERVER_SPECS, tcpProbe } from '../../src/services/index.ts';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('expected a TCP address'));
      else resolve(address.port);
    });
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

describe('portOpen', () => {
  it('sees the PostgreSQL server listening on its standard local port', async () => {
    expect(await portOpen(SERVER_SPECS.postgres.port)).toBe(true);
  });

  it('sees a server this test is listening with', async () => {
    const server = net.createServer((socket) => socket.destroy());
    const port = await listen(server);
    try {
      expect(await portOpen(port)).toBe(true);
    } finally {
      await close(server);
    }
  });

  it('answers false for a port nothing listens on', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await close(server);
    expect(await portOpen(port)).toBe(false);
  });

  it('tells a refused connection from a name that does not resolve', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await close(server);
    expect(await tcpProbe(port)).toEqual({ kind: 'refused' });
    expect(await tcpProbe(6379, 'no-such-host.invalid')).toEqual({ kind: 'failed', code: 'ENOTFOUND' });
  });
});
