/**
 * InfluxDB 1.x `/write` (Debian ships 1.6, which has no /api/v2/write): database,
 * retention policy, user and password, precision=ms. Plain node:http(s) with keep-alive.
 */
import http from 'node:http';
import type * as Https from 'node:https';
import { LineWriter, WriteOutcome, parseRetryAfter } from './write-outcome';

export interface V1Target {
  url: string;
  db: string;
  rp: string;
  username: string;
  password: string;
  timeoutMs: number;
}

export function v1Writer(t: V1Target): LineWriter {
  const base = new URL(t.url);
  const path = (base.pathname.replace(/\/$/, '') || '') + '/write';
  const q = new URLSearchParams({ db: t.db, precision: 'ms' });
  if (t.rp) q.set('rp', t.rp);
  // https (and with it TLS and OpenSSL's code) is loaded only for an https URL: on a
  // small host the pages of native code a module touches count in the resident memory.
  const mod = base.protocol === 'https:' ? (require('node:https') as typeof Https) : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: 4 });
  // Built once: at a write every few seconds the per-request work is most of the sink's cost.
  const target = `${path}?${q}`;
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': 0 };
  // Basic auth rather than u/p query parameters: those end up in server and proxy logs.
  if (t.username) headers.authorization = 'Basic ' + Buffer.from(`${t.username}:${t.password}`).toString('base64');
  const options: Https.RequestOptions = {
    protocol: base.protocol, hostname: base.hostname, port: base.port, path: target, method: 'POST', agent, headers, timeout: t.timeoutMs,
  };
  const description = `${base.origin}${path}?db=${t.db}${t.rp ? '&rp=' + t.rp : ''}`;
  // A retry goes on a connection of its own, never another idle one the server may have closed too.
  const fresh: Https.RequestOptions = { ...options, agent: false };
  const send = (data: Buffer, opts: Https.RequestOptions, resolve: (o: WriteOutcome) => void): void => {
    // The request copies its headers when it is made, so one object serves every write.
    headers['content-length'] = data.length;
    let answered = false;
    const req = mod.request(opts, (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        // Accepted (InfluxDB answers 204, no body): drained so the socket goes back to the agent.
        res.resume();
        resolve({ ok: true });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => { if (size < 4096) { chunks.push(c); size += c.length; } });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, 1000).trim();
        let message = text;
        try { message = (JSON.parse(text) as { error?: string }).error ?? text; } catch { /* plain text body */ }
        const ra = parseRetryAfter(res.headers['retry-after'] as string | undefined, Date.now());
        resolve({ ok: false, status, message: `HTTP ${status}: ${message || res.statusMessage || ''}`, ...(ra !== undefined ? { retryAfterMs: ra } : {}) });
      });
      res.on('error', (e) => resolve({ ok: false, message: `response: ${e.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${t.timeoutMs} ms`)));
    req.on('error', (e) => {
      // An idle keep-alive connection the server (or a proxy, a NAT) closed meanwhile is
      // found closed only when the next request is written on it, which the server never
      // read: it goes again at once on a new connection, once (were it read after all, a
      // point written twice overwrites itself). Anything else, and the same failure on the
      // new connection, is the sink's to count and back off.
      if (!answered && opts !== fresh && req.reusedSocket && isStaleConnection(e)) send(data, fresh, resolve);
      else resolve({ ok: false, message: e.message });
    });
    req.end(data);
  };
  return {
    description,
    write(body: string | Buffer): Promise<WriteOutcome> {
      return new Promise((resolve) => send(typeof body === 'string' ? Buffer.from(body, 'utf8') : body, options, resolve));
    },
  };
}

/** How a request written on a connection the other end had already closed fails. */
function isStaleConnection(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || e.message === 'socket hang up';
}
