/**
 * The InfluxDB sink: spooled frames -> line protocol -> a LineWriter (v1 /write or the
 * v2 API), confirming a batch only when the server accepted it.
 *
 * Failures (see write-outcome.ts): server and network errors are retried forever with a
 * capped exponential backoff, or after Retry-After when the server sent one; a rejected
 * batch is halved until the bad point stands alone, and that point is parked (appended
 * to parked-influx.lp in the spool directory with the server's reason) so it neither
 * blocks nor is lost without a trace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Backoff } from '../../backoff';
import type { Logger } from '../../log/logger';
import { RateLimitedLog } from '../../log/rate-limited-log';
import type { BridgeMetrics } from '../../metrics/bridge-metrics';
import type { BatchBuilder, SinkDelivery } from '../drainer';
import { BuilderPool, ByteBuilder } from '../byte-builder';
import { appendRecordLines, derivedLine } from './line-protocol';
import { decodeSpooledFrame } from '../../spool/spooled-frame';
import { LineWriter, classifyFailure } from './write-outcome';

export const SINK_NAME = 'influx';
/** Longest single wait, whatever Retry-After says: a bad header must not park the sink for a day. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;
/** The parked-points file stops growing here (the counter keeps counting). */
const MAX_PARKED_FILE_BYTES = 16 * 1024 * 1024;
/** Derived points waiting for the next batch; beyond this the oldest go (counted). */
const MAX_DERIVED_LINES = 10000;

export interface InfluxSinkOptions {
  deviceId: string;
  /** Most lines in one request. */
  batchLines: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Where parked points go. */
  parkedFile: string;
}

export class InfluxSink implements SinkDelivery {
  readonly name = SINK_NAME;
  private stopped = false;
  private readonly backoff: Backoff;
  private readonly limited: RateLimitedLog;
  private readonly sleepers = new Set<() => void>();
  /** Request bodies, reused once answered: two batches in flight, each usually one body. */
  private readonly builders: BuilderPool;
  /** Points of values features computed, written with the next batch of readings. */
  private derived: string[] = [];

  constructor(
    private readonly writer: LineWriter,
    private readonly options: InfluxSinkOptions,
    log: Logger,
    private readonly metrics: BridgeMetrics,
  ) {
    this.backoff = new Backoff({ initialMs: options.retryInitialMs, maxMs: options.retryMaxMs });
    // About 150 bytes a line: sized so a full body rarely has to grow.
    this.builders = new BuilderPool(4, Math.min(options.batchLines * 160, 4 * 1024 * 1024));
    this.limited = new RateLimitedLog(log, 10000);
    // HTTP has no connection to watch: "connected" means the last write did not fail, and
    // before the first one nothing has failed.
    metrics.sinkConnected.set(1, { sink: SINK_NAME });
  }

  /**
   * Values a feature computed (core/derived-values.ts), as of the reading at `ts`: written
   * with the next batch. Not spooled: they follow from the spooled readings, and the
   * feature recomputes them after a restart; a point still waiting when the bridge dies
   * is lost.
   */
  queueDerived(ts: number, values: { readonly [key: string]: number | boolean | string | null }): void {
    const line = derivedLine(values, this.options.deviceId, ts);
    if (line === null) return;
    if (this.derived.length >= MAX_DERIVED_LINES) {
      this.derived.shift();
      this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'derived_dropped' });
    }
    this.derived.push(line);
  }

  /**
   * A batch's request bodies, built as its records are read: each record becomes its
   * lines, written at once into a body Buffer of at most `batchLines` lines. Only the
   * bodies (off the JS heap) stay alive while the requests are in flight; the records,
   * their parsed frames and the line strings die young.
   */
  batch(): BatchBuilder {
    const bodies: ByteBuilder[] = [];
    const n = this.options.batchLines;
    const lines: string[] = [];
    let body: ByteBuilder | null = null;
    let inBody = 0;
    let bad = 0;
    const addLine = (line: string): void => {
      if (body === null || inBody >= n) {
        if (body !== null) bodies.push(body);
        body = this.builders.take();
        inBody = 0;
      } else {
        body.byte(0x0a /* \n */);
      }
      body.utf8(line);
      inBody++;
    };
    return {
      add: (buf, start, end) => {
        const rec = decodeSpooledFrame(buf.toString('latin1', start, end));
        if (!rec) {
          bad++;
          return;
        }
        lines.length = 0;
        appendRecordLines(lines, rec, this.options.deviceId);
        for (let i = 0; i < lines.length; i++) addLine(lines[i]);
      },
      send: () => {
        const derived = this.derived;
        this.derived = [];
        for (const line of derived) addLine(line);
        if (body !== null) bodies.push(body);
        if (bad > 0) {
          this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'bad_record' }, bad);
          this.limited.warn('influx_bad_record', `skipped ${bad} unreadable spool record(s)`);
        }
        return this.writeAll(bodies);
      },
    };
  }

  private async writeAll(bodies: ByteBuilder[]): Promise<void> {
    for (let i = 0; i < bodies.length; i++) {
      // Reused only once the server answered 2xx for it: its bytes were all sent. After a
      // failure it is left to the GC, in case a dying request still refers to it.
      if (await this.write(bodies[i].result())) this.builders.release(bodies[i]);
    }
  }

  /** Writes one body of lines (no line contains a newline: the line builder escapes them). */
  /** Resolves true if it went through on the first attempt. */
  private async write(body: string | Buffer): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new Error('influx sink stopped');
      const r = await this.writer.write(body);
      if (r.ok) {
        this.backoff.reset();
        this.metrics.sinkConnected.set(1, { sink: SINK_NAME });
        return attempt === 0;
      }
      const kind = classifyFailure(r.status);
      if (kind === 'reject' || kind === 'split') {
        this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: kind === 'reject' ? 'rejected' : 'too_large' });
        const lines = body.toString().split('\n');
        if (lines.length === 1) {
          this.park(lines[0], r.message);
          return false;
        }
        const half = Math.ceil(lines.length / 2);
        const second = lines.slice(half).join('\n');
        await this.write(lines.slice(0, half).join('\n'));
        await this.write(second);
        return false;
      }
      this.metrics.sinkConnected.set(0, { sink: SINK_NAME });
      this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: kind === 'config' ? 'refused' : r.status === undefined ? 'network' : 'server' });
      const delay = r.retryAfterMs !== undefined ? Math.min(r.retryAfterMs, MAX_RETRY_AFTER_MS) : this.backoff.next();
      const msg = `${this.writer.description}: ${r.message}; retrying in ${delay} ms${r.retryAfterMs !== undefined ? ' (Retry-After)' : ''}`;
      if (kind === 'config') this.limited.emit('error', 'influx_config', `${msg} (check the URL, database/bucket and credentials)`);
      else this.limited.warn('influx_retry', msg);
      await this.sleep(delay);
    }
  }

  private park(line: string, reason: string): void {
    this.metrics.sinkParked.inc({ sink: SINK_NAME });
    this.limited.warn('influx_parked', `InfluxDB rejected a point; parked in ${path.basename(this.options.parkedFile)}: ${reason}`, { point: line.slice(0, 200) });
    try {
      let size = 0;
      try { size = fs.statSync(this.options.parkedFile).size; } catch { /* not there yet */ }
      if (size < MAX_PARKED_FILE_BYTES) {
        fs.appendFileSync(this.options.parkedFile, `# ${new Date().toISOString()} ${reason.replace(/\n/g, ' ')}\n${line}\n`);
      }
    } catch (e) {
      this.limited.warn('influx_park_file', `could not write ${this.options.parkedFile}: ${(e as Error).message}`);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const wake of [...this.sleepers]) wake();
  }
}
