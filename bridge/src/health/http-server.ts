/**
 * /healthz (JSON; 200 when the source is up and every sink's last attempt succeeded,
 * else 503 with what is wrong) and /metrics (Prometheus text). Meant for monitoring: a
 * broker outage turns /healthz 503 without anything being lost, so do not restart the
 * bridge on it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthReport {
  healthy: boolean;
  [key: string]: unknown;
}

export interface HealthSources {
  health(): HealthReport;
  metrics(): string;
  // ---- web page hook (bridge/src/web): more routes, tried first; true = handled ----
  routes?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  // ---- end web page hook ----
}

export class HealthServer {
  private server: http.Server | null = null;

  constructor(private readonly sources: HealthSources) {}

  /** Listens on HOST:PORT (port 0 picks a free one); resolves with the bound address. */
  listen(listen: string): Promise<AddressInfo> {
    const colon = listen.lastIndexOf(':');
    let host = listen.slice(0, colon);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const port = Number(listen.slice(colon + 1));
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`http: cannot listen on ${listen}: ${e.message}`)));
      server.listen(port, host, () => resolve(server.address() as AddressInfo));
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = (req.url ?? '/').split('?')[0];
    // ---- web page hook (bridge/src/web) ----
    try {
      if (this.sources.routes?.(req, res)) return;
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`error: ${(e as Error).message}\n`);
      return;
    }
    // ---- end web page hook ----
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    try {
      if (url === '/healthz') {
        const h = this.sources.health();
        res.writeHead(h.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h) + '\n');
      } else if (url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.sources.metrics());
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
      }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`error: ${(e as Error).message}\n`);
    }
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
