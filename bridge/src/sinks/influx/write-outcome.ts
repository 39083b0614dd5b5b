/**
 * What a failed write means for the points in it. Pure.
 *
 *   retry   the server or the network failed (5xx, 429, 408, timeouts, refused): the same
 *           points go again after a backoff, or after Retry-After when the server gave one
 *   split   the request was too large (413): halve it
 *   reject  the server refused the points (400, 422 and other 4xx): some point is invalid
 *           (e.g. a field type conflict); halve the batch until the bad point is alone,
 *           then park it, so one bad point never blocks the rest
 *   config  the server refused us, not the points (401, 403 auth; 404 no such database or
 *           bucket): nothing is parked; retried with backoff until someone fixes it
 */

export type WriteOutcome =
  | { ok: true }
  | { ok: false; status?: number; retryAfterMs?: number; message: string };

export type FailureKind = 'retry' | 'split' | 'reject' | 'config';

export function classifyFailure(status: number | undefined): FailureKind {
  if (status === undefined) return 'retry';
  if (status === 413) return 'split';
  if (status === 401 || status === 403 || status === 404) return 'config';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  if (status >= 400) return 'reject';
  return 'retry';
}

/** Retry-After as seconds or an HTTP date, in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | undefined | null, nowMs: number): number | undefined {
  if (header === undefined || header === null) return undefined;
  const t = header.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

export interface LineWriter {
  /** What the writer talks to, for logs: `http://host:8086/write?db=solar`. */
  readonly description: string;
  /** Lines separated by '\n'; a Buffer holds them as UTF-8. */
  write(body: string | Buffer): Promise<WriteOutcome>;
}
