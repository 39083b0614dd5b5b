/**
 * A TCP server that plays the MCU's serial-over-TCP export (ser2net / socat): it sends
 * lines to whoever is connected and records what comes back (commands). Tests use it as
 * the bridge's real TCP source.
 */
import net from 'node:net';

export class LineServer {
  private server: net.Server;
  private clients = new Set<net.Socket>();
  private received = '';
  private connections = 0;
  private onLine: ((line: string, reply: (text: string) => void) => void) | null = null;

  private constructor(readonly port: number, server: net.Server) {
    this.server = server;
  }

  static start(port = 0): Promise<LineServer> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const ls = new LineServer((server.address() as net.AddressInfo).port, server);
        server.on('connection', (s) => ls.accept(s));
        resolve(ls);
      });
    });
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  private accept(s: net.Socket): void {
    this.connections++;
    this.clients.add(s);
    s.setNoDelay(true);
    let buf = '';
    s.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      this.received += text;
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.onLine?.(line, (t) => { if (!s.destroyed) s.write(t, 'latin1'); });
      }
    });
    s.on('close', () => this.clients.delete(s));
    s.on('error', () => undefined);
  }

  /** Answers lines from the bridge (commands), as the MCU would. */
  respond(handler: (line: string, reply: (text: string) => void) => void): void {
    this.onLine = handler;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get connectionCount(): number {
    return this.connections;
  }

  receivedText(): string {
    return this.received;
  }

  /** Sends to every connected client; resolves when the data is handed to the kernel. */
  send(text: string): Promise<void> {
    const writes = [...this.clients].map((s) => new Promise<void>((resolve) => {
      if (s.write(text, 'latin1')) resolve();
      else s.once('drain', () => resolve());
    }));
    return Promise.all(writes).then(() => undefined);
  }

  /** Cuts every connection (a network fault), keeps listening. */
  dropClients(): void {
    for (const s of this.clients) s.destroy();
    this.clients.clear();
  }

  close(): Promise<void> {
    this.dropClients();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
