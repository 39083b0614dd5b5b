/** A TCP connection to a serial-over-TCP server (ser2net, `socat TCP-LISTEN`). */
import net from 'node:net';
import type { Connector, Link } from './reconnecting-source';

/** What one read takes at most: a backlog of a few hundred readings. */
const READ_BUFFER_BYTES = 64 * 1024;

export interface TcpTarget {
  host: string;
  port: number;
  /** Give up on a connect attempt after this long. */
  connectTimeoutMs: number;
}

export function tcpConnector(target: TcpTarget): Connector {
  return (events) => new Promise<Link>((resolve, reject) => {
    // Read into one buffer per connection (no Buffer per chunk), and in this mode
    // pause() stops reading at the socket, so paced bytes wait in the kernel
    // (a plain socket keeps reading into its stream buffer while paused).
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket = net.connect({
      host: target.host,
      port: target.port,
      onread: { buffer, callback: (n) => { events.data(buffer.toString('latin1', 0, n)); return true; } },
    });
    let open = false;
    let lastError = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${target.host}:${target.port} timed out after ${target.connectTimeoutMs} ms`));
    }, target.connectTimeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      clearTimeout(timer);
      open = true;
      // Keepalive finds a peer that vanished without a FIN (router power-cycled).
      socket.setKeepAlive(true, 10000);
      resolve({
        write: (text) => new Promise<void>((res, rej) => {
          socket.write(text, 'latin1', (err) => (err ? rej(err) : res()));
        }),
        close: () => socket.destroy(),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      });
    });
    socket.on('error', (err) => {
      if (!open) {
        clearTimeout(timer);
        reject(new Error(`connect to ${target.host}:${target.port}: ${err.message}`));
      }
      // After connect, 'close' follows 'error' and reports it.
      else lastError = err.message;
    });
    socket.on('close', () => {
      if (open) events.closed(lastError ? `connection lost: ${lastError}` : 'connection closed by peer');
    });
  });
}
