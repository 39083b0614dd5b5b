/**
 * The NUT server's TCP edge: accepts connections (up to a limit), cuts the byte stream
 * into lines (bounded in length), hands each line to its NutSession with the time, writes
 * the answers, and closes idle connections and connections that stop reading their
 * answers. Every bad line is answered by the session and counted here.
 */
import net from 'node:net';
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited-log';
import type { NutMetrics } from './nut-metrics';
import { Answer, NutSession, SessionContext } from './nut-session';

export interface NutServerOptions {
  listen: string;
  maxConnections: number;
  idleTimeoutMs: number;
  maxLineBytes: number;
}

const GET_LABELS = { command: 'GET' };

interface Connection {
  socket: net.Socket;
  lastHeardMs: number;
}

/** A client that leaves this much of its answers unread is dropped instead of buffered without bound. */
const MAX_UNREAD_BYTES = 1 << 20;

export class NutServer {
  private server: net.Server | null = null;
  private readonly sockets = new Set<Connection>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Answers from the cache not yet added to the requests metric (added at each scrape, to keep the hot path lean). */
  private cachedAnswers = 0;
  private nextId = 1;
  /** Refused connections still half-open, waiting for their client to read the refusal. */
  private refusing = 0;
  private readonly limited: RateLimitedLog;

  constructor(
    private readonly ctx: SessionContext,
    private readonly options: NutServerOptions,
    private readonly metrics: NutMetrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.limited = new RateLimitedLog(log, 10000);
  }

  listen(): Promise<net.AddressInfo> {
    const l = this.options.listen;
    const colon = l.lastIndexOf(':');
    let host = l.slice(0, colon);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const port = Number(l.slice(colon + 1));
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    this.metrics.registry.onCollect(() => this.flushCounts());
    // One sweep a second instead of a timer per socket, which every read and write would re-arm.
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(1000, this.options.idleTimeoutMs));
    this.sweeper.unref();
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`nut: cannot listen on ${l}: ${e.message}`)));
      server.listen(port, host, () => {
        // Errors after listening (the server fd failing) must not take the bridge down.
        server.on('error', (e) => this.limited.warn('nut_server_error', `NUT server: ${e.message}`));
        resolve(server.address() as net.AddressInfo);
      });
    });
  }

  /** Whether the listening socket is open (for /healthz). */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  get connections(): number {
    return this.sockets.size;
  }

  private accept(socket: net.Socket): void {
    const m = this.metrics;
    socket.on('error', () => socket.destroy());
    if (this.sockets.size >= this.options.maxConnections) {
      m.connectionsTotal.inc({ result: 'refused' });
      m.errors.inc({ error: 'ACCESS-DENIED' });
      this.limited.warn('nut_refused', `NUT connection from ${socket.remoteAddress} refused: ${this.options.maxConnections} connections open (nut.max_connections)`);
      // Every request on a refused connection gets the refusal (upsc sends STARTTLS, then
      // its GET, and then says "Access denied" rather than "Server disconnected"); a few
      // requests, or a second, and it is closed.
      const refusal = 'ERR ACCESS-DENIED too-many-connections\n';
      socket.write(refusal);
      if (this.refusing >= this.options.maxConnections) socket.destroy();
      else {
        this.refusing++;
        let answered = 0;
        socket.on('data', (chunk: Buffer) => {
          for (let at = chunk.indexOf(0x0a); at >= 0 && answered < 4; at = chunk.indexOf(0x0a, at + 1)) {
            answered++;
            socket.write(refusal);
          }
          if (answered >= 4) socket.end();
        });
        socket.once('close', () => { this.refusing--; });
        setTimeout(() => socket.end(), 1000).unref();
        setTimeout(() => socket.destroy(), 3000).unref();
      }
      return;
    }
    m.connectionsTotal.inc({ result: 'accepted' });
    socket.setNoDelay(true);
    const address = socket.remoteAddress ?? 'unknown';
    const session = new NutSession(this.ctx, this.nextId++, address.startsWith('::ffff:') ? address.slice(7) : address);
    const conn: Connection = { socket, lastHeardMs: this.now() };
    this.sockets.add(conn);
    m.connections.set(this.sockets.size);
    socket.on('close', () => {
      session.close();
      this.sockets.delete(conn);
      m.connections.set(this.sockets.size);
    });

    const max = this.options.maxLineBytes;
    let pending: Buffer | null = null;
    /** Inside an over-long line: drop bytes until its newline. */
    let discarding = false;
    socket.on('data', (chunk: Buffer) => {
      const now = this.now();
      conn.lastHeardMs = now;
      // The poll upsmon and upsc send most, alone in its chunk: answered from the cache.
      const n = chunk.length;
      if (pending === null && !discarding && n > 1 && n <= max && chunk[n - 1] === 0x0a && chunk.indexOf(0x0a) === n - 1) {
        const fast = this.ctx.bank.cachedAnswer(chunk.toString('latin1', 0, chunk[n - 2] === 0x0d ? n - 2 : n - 1), now);
        if (fast !== undefined) {
          this.cachedAnswers++;
          socket.write(fast);
          return;
        }
      }
      let out = '';
      let close = false;
      let start = 0;
      while (start < chunk.length && !close) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl < 0 ? chunk.length : nl;
        if (discarding) {
          if (nl >= 0) discarding = false;
        } else {
          const have = (pending?.length ?? 0) + (end - start);
          if (have > max) {
            pending = null;
            discarding = nl < 0;
            out += this.count({ command: '(too_long)', text: 'ERR INVALID-ARGUMENT line-too-long\n', error: 'INVALID-ARGUMENT', note: `request line longer than ${max} bytes (nut.max_line_bytes)` }, address);
          } else if (nl < 0) {
            const part = chunk.subarray(start, end);
            pending = pending ? Buffer.concat([pending, part]) : Buffer.from(part);
          } else {
            const bytes = pending ? Buffer.concat([pending, chunk.subarray(start, end)]) : chunk.subarray(start, end);
            pending = null;
            const a = session.handle(bytes.toString('utf8'), now);
            out += this.count(a, address);
            close = a.close === true;
          }
        }
        start = nl < 0 ? chunk.length : nl + 1;
      }
      if (out !== '') {
        if (close) socket.end(out);
        else socket.write(out);
      }
      if (socket.writableLength > MAX_UNREAD_BYTES) {
        m.connectionsTotal.inc({ result: 'slow' });
        socket.destroy();
      }
    });
  }

  private flushCounts(): void {
    if (this.cachedAnswers > 0) this.metrics.requests.inc(GET_LABELS, this.cachedAnswers);
    this.cachedAnswers = 0;
  }

  private closeIdle(): void {
    const oldest = this.now() - this.options.idleTimeoutMs;
    for (const c of this.sockets) {
      if (c.lastHeardMs > oldest) continue;
      this.metrics.connectionsTotal.inc({ result: 'idle' });
      c.socket.destroy();
    }
  }

  private count(a: Answer, address: string): string {
    this.metrics.requests.inc({ command: a.command });
    if (a.error) {
      this.metrics.errors.inc({ error: a.error });
      if (a.note) this.limited.warn(`nut_${a.error}`, `NUT client ${address}: ${a.note}, answered ERR ${a.error}`);
    } else if (a.note) {
      this.log.info(`NUT: ${a.note}`);
    }
    return a.text;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of this.sockets) c.socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
