import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { portOpen } from '../../src/services/index.ts';

/** A loopback port nothing listens on right now (the OS picked it, then it was closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Spawned {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a real server of this machine (nats-server, redis-server) on a free port, configured
 * the way a learner's might be (without JetStream, with a password), and waits until it listens.
 */
export async function spawnServer(command: string, args: (port: number, dir: string) => string[]): Promise<Spawned> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-server-'));
  const child: ChildProcess = spawn(command, args(port, dir), { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  for (let waited = 0; !(await portOpen(port)); waited += 50) {
    if (waited > 10_000 || child.exitCode !== null) {
      await stop();
      throw new Error(`${command} did not start listening on ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop };
}

/** A listener that accepts connections and never says a word: what a probe must not wait on forever. */
export async function silentListener(): Promise<Spawned> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no port');
  return {
    port: address.port,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
