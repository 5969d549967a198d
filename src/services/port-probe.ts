import net from 'node:net';
import { LOCAL_HOST } from './specs.ts';

/** Long enough for a loopback connect on a busy machine, short enough to be unnoticed when nothing listens. */
export const PORT_PROBE_TIMEOUT_MS = 300;

/** What a TCP connect found: a listener, a refusal, silence, or an error with its code (a name that does not resolve). */
export type TcpAnswer = { kind: 'open' } | { kind: 'refused' } | { kind: 'timeout' } | { kind: 'failed'; code: string };

/** Connects to host:port and hangs up at once. Never rejects. */
export function tcpProbe(port: number, host: string = LOCAL_HOST, timeoutMs: number = PORT_PROBE_TIMEOUT_MS): Promise<TcpAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const finish = (answer: TcpAnswer): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => finish({ kind: 'timeout' }));
    socket.once('connect', () => finish({ kind: 'open' }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'failed', code: error.code ?? error.message }),
    );
  });
}

/** True when something accepts a TCP connection on host:port within the timeout. Never rejects. */
export async function portOpen(port: number, host: string = LOCAL_HOST, timeoutMs: number = PORT_PROBE_TIMEOUT_MS): Promise<boolean> {
  return (await tcpProbe(port, host, timeoutMs)).kind === 'open';
}
