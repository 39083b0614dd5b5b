/**
 * An HTTP proxy in front of a real server that injects failures on demand: the next N
 * requests get a chosen status and headers (503, 429 with Retry-After…) or have their
 * connection cut, and everything else is forwarded untouched. Every request is recorded
 * (time, method, path, outcome) so a test can check how a client retried.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; headers?: { [k: string]: string }; body?: string }
  | { kind: 'cut' };

export interface ProxiedRequest {
  at: number;
  method: string;
  path: string;
  bodyBytes: number;
  outcome: number | 'cut';
}

export class HttpFaultProxy {
  readonly requests: ProxiedRequest[] = [];
  private faults: Fault[] = [];
  private constructor(private readonly server: http.Server, readonly port: number) {}

  static start(target: string): Promise<HttpFaultProxy> {
    const t = new URL(target);
    let proxy: HttpFaultProxy;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const rec: ProxiedRequest = { at: Date.now(), method: req.method ?? '', path: req.url ?? '', bodyBytes: body.length, outcome: 0 };
        proxy.requests.push(rec);
        const fault = proxy.faults.shift();
        if (fault?.kind === 'cut') {
          rec.outcome = 'cut';
          req.socket.destroy();
          return;
        }
        if (fault?.kind === 'status') {
          rec.outcome = fault.status;
          res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(fault.body ?? JSON.stringify({ error: `injected ${fault.status}` }));
          return;
        }
        const up = http.request({ hostname: t.hostname, port: t.port, path: req.url, method: req.method, headers: { ...req.headers, host: t.host } }, (ur) => {
          rec.outcome = ur.statusCode ?? 0;
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        });
        up.on('error', (e) => {
          rec.outcome = 502;
          res.writeHead(502).end(e.message);
        });
        up.end(body);
      });
    });
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        proxy = new HttpFaultProxy(server, (server.address() as AddressInfo).port);
        resolve(proxy);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next requests, in order, get these faults; later ones are forwarded. */
  inject(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
