import net from 'node:net';
import { LOCAL_HOST } from './specs.ts';

/** Long enough for a loopback connect on a busy machine, short enough to be unnoticed when nothing listens. */
export const PORT_PROBE_TIMEOUT_MS = 300;

/** True when something accepts a TCP connection on host:port within the timeout. Never rejects. */
export function portOpen(port: number, host: string = LOCAL_HOST, timeoutMs: number = PORT_PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const finish = (open: boolean): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
