/**
 * The spool as features see it: replay and range reads of spooled frames, a request to
 * keep history, and the drainers that deliver it to sink features.
 */
import type { BridgeMetrics } from '../metrics/bridge-metrics';
import { DrainOptions, SinkDelivery, SinkDrainer } from '../sinks/drainer';
import type { Spool, SpoolPosition } from '../spool/spool';
import { SpooledFrame, decodeSpooledFrame } from '../spool/spooled-frame';
import type { SpoolPort } from './feature';

const BATCH_RECORDS = 5000;
const BATCH_BYTES = 4 * 1024 * 1024;

/** The `ts` of a payload written by encodeSpooledFrame (`{"ts":123,...`), without parsing it. */
function payloadTs(buf: Buffer, start: number, end: number): number {
  let at = start + 6; // after {"ts":
  let ts = 0;
  for (; at < end; at++) {
    const c = buf[at];
    if (c < 0x30 || c > 0x39) break;
    ts = ts * 10 + (c - 0x30);
  }
  return ts;
}

export class CoreSpool implements SpoolPort {
  readonly drainers: SinkDrainer[] = [];

  constructor(private readonly spool: Spool, private readonly cursors: readonly string[], private readonly metrics: BridgeMetrics) {}

  /** Visits the records from `from` on that `accept` wants, decoded, until it says stop; returns how many. */
  private visitFrom(from: SpoolPosition, accept: (ts: number) => boolean | 'stop', visit: (rec: SpooledFrame) => void): number {
    let pos = from;
    let visited = 0;
    let stop = false;
    while (!stop) {
      const b = this.spool.readEach(pos, BATCH_RECORDS, BATCH_BYTES, (buf, start, end) => {
        if (stop) return;
        const want = accept(payloadTs(buf, start, end));
        if (want === 'stop') { stop = true; return; }
        if (!want) return;
        const rec = decodeSpooledFrame(buf.toString('latin1', start, end));
        if (rec) {
          visit(rec);
          visited++;
        }
      });
      if (b.count === 0) break;
      pos = b.next;
    }
    return visited;
  }

  replay(visit: (rec: SpooledFrame) => void): number {
    return this.visitFrom(this.spool.startPosition(), () => true, visit);
  }

  /**
   * Segments are skipped by the time of their first record, and reading stops at the
   * first record at or after `toMs`: spooled time runs forward (the boot-anchored clock),
   * so only records stamped out of order could be missed.
   */
  readRange(fromMs: number, toMs: number, visit: (rec: SpooledFrame) => void): number {
    const starts = this.spool.segmentStarts();
    let from = starts[0];
    for (let i = 1; i < starts.length; i++) {
      let first = -1;
      this.spool.readEach(starts[i], 1, 1, (buf, start, end) => { first = payloadTs(buf, start, end); });
      if (first < 0 || first > fromMs) break;
      from = starts[i];
    }
    return this.visitFrom(from, (ts) => (ts >= toMs ? 'stop' : ts >= fromMs), visit);
  }

  keepHistory(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new Error(`keepHistory(${ms}): expected a finite number of milliseconds`);
    this.spool.keepHistory(ms);
  }

  drain(sink: SinkDelivery, options: DrainOptions): void {
    if (!this.cursors.includes(sink.name)) throw new Error(`spool: ${sink.name} has no cursor (declare drainsSpool in its feature definition)`);
    if (this.drainers.some((d) => d.sinkName === sink.name)) throw new Error(`spool: ${sink.name} is drained already`);
    const d = new SinkDrainer(this.spool, sink, options, (n) => this.metrics.sinkSent.inc({ sink: sink.name }, n));
    this.drainers.push(d);
    d.start();
  }
}
