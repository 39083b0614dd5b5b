/**
 * /healthz (JSON; 200 when the source is up and every sink's last attempt succeeded,
 * else 503 with what is wrong) and /metrics (Prometheus text). Meant for monitoring: a
 * broker outage turns /healthz 503 without anything being lost, so do not restart the
 * bridge on it. Features add their own routes (route()); the two above stay the core's.
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
}

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface RouteOptions {
  /** Methods served (HEAD is served with GET); default GET. */
  methods?: readonly string[];
  /** `/api/chart`; with prefix: true also every path under it (`/api/chart/...`). */
  path: string;
  prefix?: boolean;
}

interface Route {
  methods: readonly string[];
  path: string;
  prefix: boolean;
  handler: RouteHandler;
}

const CORE_PATHS = ['/healthz', '/metrics'];

export class HealthServer {
  private server: http.Server | null = null;
  private readonly routes: Route[] = [];

  constructor(private readonly sources: HealthSources) {}

  /** Serves a feature's path; throws if the path is taken or malformed. */
  route(options: RouteOptions, handler: RouteHandler): void {
    const p = options.path;
    if (!p.startsWith('/') || (p.length > 1 && p.endsWith('/')) || /[?#\s]/.test(p)) throw new Error(`http route ${JSON.stringify(p)}: expected /word[/word...] without a trailing /`);
    const prefix = options.prefix === true;
    // A prefix route over them (even `/`) is fine: the core's paths are matched first.
    if (CORE_PATHS.includes(p)) throw new Error(`http route ${p}: ${p} is the bridge's own`);
    if (this.routes.some((r) => r.path === p)) throw new Error(`http route ${p} is already served`);
    const methods = (options.methods ?? ['GET']).map((m) => m.toUpperCase());
    this.routes.push({ methods: methods.includes('GET') ? [...methods, 'HEAD'] : methods, path: p, prefix, handler });
  }

  /** The most specific route for a path: exact first, then the longest prefix. */
  private findRoute(url: string): Route | undefined {
    let best: Route | undefined;
    for (const r of this.routes) {
      if (r.path === url) return r;
      if (r.prefix && (r.path === '/' || url.startsWith(r.path + '/')) && (!best || r.path.length > best.path.length)) best = r;
    }
    return best;
  }

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
    if (!CORE_PATHS.includes(url)) {
      const route = this.findRoute(url);
      if (route) {
        this.serveRoute(route, req, res);
        return;
      }
    }
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

  private serveRoute(route: Route, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!route.methods.includes(req.method ?? '')) {
      res.writeHead(405, { allow: route.methods.join(', '), 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const fail = (e: unknown): void => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${(e as Error).message}\n`);
    };
    try {
      const done = route.handler(req, res);
      if (done) done.catch(fail);
    } catch (e) {
      fail(e);
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
