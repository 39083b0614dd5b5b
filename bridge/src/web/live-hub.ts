/**
 * Server-sent events to the open pages. Each connection gets `retry: 1000` first, so a
 * browser whose bridge went away tries again every second, and a `hello` naming this
 * bridge process, so the page can tell a reconnect to a restarted bridge (reload its
 * charts) from a blip. Bounded: past `maxClients` a new page gets 503 instead of memory.
 */
import type http from 'node:http';

export class LiveHub {
  private readonly clients = new Set<http.ServerResponse>();
  /** Runs only while a page is open: an idle bridge has nothing to keep alive. */
  private heartbeat: NodeJS.Timeout | undefined;

  /**
   * `watched(true)` when the first page opens, `watched(false)` when the last one goes:
   * while a page is open the bridge reads the source without pauses (live means live).
   */
  constructor(private readonly hello: () => object, private readonly watched: (on: boolean) => void = () => undefined,
    private readonly maxClients = 64, private readonly heartbeatMs = 15000) {}

  get size(): number {
    return this.clients.size;
  }

  open(req: http.IncomingMessage, res: http.ServerResponse, first: Array<[string, unknown]>): void {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end(`too many live pages (${this.maxClients})\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.write(`retry: 1000\n${frame('hello', this.hello())}`);
    for (const [name, data] of first) res.write(frame(name, data));
    this.clients.add(res);
    if (this.clients.size === 1) this.watched(true);
    if (!this.heartbeat) {
      // A comment line now and then keeps proxies from closing an idle stream and finds dead sockets.
      this.heartbeat = setInterval(() => this.write(': keepalive\n\n'), this.heartbeatMs);
      this.heartbeat.unref();
    }
    const drop = (): void => { this.forget(res); this.stopHeartbeatIfAlone(); };
    res.on('close', drop);
    res.on('error', drop);
  }

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(frame(event, data));
  }

  private write(text: string): void {
    for (const res of this.clients) {
      // A page that stopped reading (buffer past 1 MB) is dropped; it reconnects and reloads.
      if (res.writableLength > 1024 * 1024) {
        res.destroy();
        this.forget(res);
        continue;
      }
      res.write(text);
    }
    this.stopHeartbeatIfAlone();
  }

  private forget(res: http.ServerResponse): void {
    if (this.clients.delete(res) && this.clients.size === 0) this.watched(false);
  }

  private stopHeartbeatIfAlone(): void {
    if (this.clients.size > 0 || !this.heartbeat) return;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const res of this.clients) res.end();
    if (this.clients.size > 0) this.watched(false);
    this.clients.clear();
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
