/**
 * The zero-setup MQTT broker of `npm start`: aedes in this process, on a local TCP port,
 * so a newcomer needs no mosquitto to see the system run. Not for production and not a
 * stand-in for mosquitto in tests: it keeps sessions and retained messages in memory only.
 */
import net from 'node:net';
import { createBroker } from 'aedes';

export interface EmbeddedBroker {
  /** e.g. mqtt://127.0.0.1:41883 */
  readonly url: string;
  readonly port: number;
  /** Clients connected now. */
  clients(): number;
  close(): Promise<void>;
}

/** Port 0 picks a free port. Rejects with a message naming the address if it cannot listen. */
export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const broker = createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      broker.close();
      reject(new Error(`embedded MQTT broker: cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (pick another with --broker-port, or 0 for any free one)' : e.message}`));
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `mqtt://${hostInUrl}:${bound}`,
    port: bound,
    clients: () => broker.connectedClients,
    async close(): Promise<void> {
      // Clients first, or server.close() waits for them to go on their own.
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
