/**
 * The v2 write API (`/api/v2/write`: InfluxDB 2 and 3, 1.8+ with bucket "db/rp",
 * VictoriaMetrics) through @influxdata/influxdb-client. Its WriteApi keeps its own retry
 * buffer in memory, which would confirm nothing to the spool; the client's transport is
 * used instead, one request per batch, so the spool cursor moves only on a 204.
 */
import type * as InfluxClient from '@influxdata/influxdb-client';
import { LineWriter, WriteOutcome } from './write-outcome';

export interface V2Target {
  url: string;
  org: string;
  bucket: string;
  token: string;
  timeoutMs: number;
}

export function v2Writer(t: V2Target): LineWriter {
  // Loaded only for the v2 API, so a v1 bridge does not carry it in memory.
  const { HttpError, InfluxDB, setLogger } = require('@influxdata/influxdb-client') as typeof InfluxClient;
  // The client logs failures to the console on its own; the sink logs them once, its way.
  setLogger({ error: () => undefined, warn: () => undefined });
  const client = new InfluxDB({ url: t.url, token: t.token || undefined, timeout: t.timeoutMs });
  const q = new URLSearchParams({ org: t.org, bucket: t.bucket, precision: 'ms' });
  const path = `/api/v2/write?${q}`;
  return {
    description: `${t.url.replace(/\/$/, '')}/api/v2/write?bucket=${t.bucket}`,
    async write(body: string | Buffer): Promise<WriteOutcome> {
      try {
        await client.transport.request(path, typeof body === 'string' ? body : body.toString('utf8'), { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' } });
        return { ok: true };
      } catch (e) {
        if (e instanceof HttpError) {
          const ra = e.retryAfter();
          const headerPresent = e.headers !== undefined && e.headers['retry-after'] !== undefined;
          return { ok: false, status: e.statusCode, message: `HTTP ${e.statusCode}: ${e.message}`, ...(headerPresent ? { retryAfterMs: ra * 1000 } : {}) };
        }
        return { ok: false, message: (e as Error).message };
      }
    },
  };
}
