/**
 * The simulated MCU's serial port, exposed the way the real one reaches a host:
 * - `tcp:PORT` (or `tcp:HOST:PORT`): a TCP server, as ser2net or socat export a real
 *   port; every connected client gets the firmware's bytes, and bytes from any client
 *   reach the firmware's USB 'data' handler.
 * - `pty:PATH`: a pseudo-terminal at PATH (a symlink made by socat to /dev/pts/N), so a
 *   program opens it exactly like /dev/ttyACM0. socat relays it to an internal TCP
 *   endpoint.
 * Bytes are passed as latin1, one byte per character, both ways. While no client is
 * connected the firmware's output is dropped, as a tty nobody holds open would.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export interface SerialEndpoint {
  /** Where a client connects, e.g. "tcp://127.0.0.1:7000" or "/tmp/ttySIM". */
  readonly address: string;
  /** Firmware → clients. */
  write(data: string): void;
  readonly clients: number;
  /** Bytes dropped because a client stopped reading (its backlog passed MAX_BACKLOG). */
  readonly dropped: number;
  /**
   * Ends every client's connection once what was written to it has been sent, as a TCP
   * export does when its link drops cleanly; the endpoint keeps listening. (Fault tests.)
   */
  disconnectClients(): void;
  close(): Promise<void>;
}

/** A client that does not read gets no more than this queued; the rest is dropped, as a full USB buffer drops. */
export const MAX_BACKLOG = 1 << 20;

export type EndpointSpec = { kind: 'tcp'; host: string; port: number } | { kind: 'pty'; path: string };

export function parseEndpoint(spec: string): EndpointSpec {
  const tcp = /^tcp:(?:([^:]+):)?(\d{1,5})$/.exec(spec);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port > 65535) throw new RangeError(`--serve ${spec}: port must be 0..65535`);
    return { kind: 'tcp', host: tcp[1] ?? '127.0.0.1', port };
  }
  const pty = /^pty:(.+)$/.exec(spec);
  if (pty) return { kind: 'pty', path: pty[1] };
  throw new RangeError(`--serve ${spec}: expected tcp:PORT, tcp:HOST:PORT or pty:PATH`);
}

export function startEndpoint(spec: EndpointSpec, onData: (data: string) => void): Promise<SerialEndpoint> {
  return spec.kind === 'tcp' ? startTcpEndpoint(spec.host, spec.port, onData) : startPtyEndpoint(spec.path, onData);
}

export async function startTcpEndpoint(host: string, port: number, onData: (data: string) => void): Promise<SerialEndpoint> {
  const sockets = new Set<net.Socket>();
  let dropped = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return {
    address: `tcp://${bound.address}:${bound.port}`,
    write(data: string): void {
      for (const s of sockets) {
        if (s.destroyed || s.writableEnded) continue;
        if (s.writableLength > MAX_BACKLOG) dropped += data.length;
        else s.write(data, 'latin1');
      }
    },
    get clients(): number {
      return sockets.size;
    },
    get dropped(): number {
      return dropped;
    },
    disconnectClients(): void {
      for (const s of sockets) s.end();
    },
    close(): Promise<void> {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startPtyEndpoint(path: string, onData: (data: string) => void, timeoutMs = 5000): Promise<SerialEndpoint> {
  const inner = await startTcpEndpoint('127.0.0.1', 0, onData);
  const port = Number(inner.address.slice(inner.address.lastIndexOf(':') + 1));
  if (fs.existsSync(path)) {
    const existing = fs.lstatSync(path);
    if (!existing.isSymbolicLink()) {
      await inner.close();
      throw new Error(`--serve pty:${path}: ${path} exists and is not a symlink; refusing to replace it`);
    }
    fs.unlinkSync(path);
  }
  // raw,echo=0: the pty passes bytes through untouched, like a USB CDC port in raw mode.
  // forever + interval: socat reconnects to us if the TCP leg drops.
  const child: ChildProcess = spawn('socat', [`PTY,link=${path},raw,echo=0`, `TCP:127.0.0.1:${port},forever,interval=0.2`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', (e) => resolve(e)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (fs.existsSync(path) && inner.clients > 0) break;
    const failed = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 20))]);
    if (failed || child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGTERM');
      await inner.close();
      const why = failed ? failed.message : child.exitCode !== null ? `socat exited (${child.exitCode}): ${stderr.trim()}` : 'timed out';
      throw new Error(`--serve pty:${path}: could not start socat (${why}); is socat installed (apt-get install socat)?`);
    }
  }
  return {
    address: path,
    write: (data: string) => inner.write(data),
    get clients(): number {
      return inner.clients;
    },
    get dropped(): number {
      return inner.dropped;
    },
    // socat holds the pty open and reconnects its TCP leg; the program on the pty sees no hang-up.
    disconnectClients: () => inner.disconnectClients(),
    async close(): Promise<void> {
      child.kill('SIGTERM');
      await exited;
      await inner.close();
      if (fs.existsSync(path) && fs.lstatSync(path).isSymbolicLink()) fs.unlinkSync(path);
    },
  };
}
