/**
 * Keeps the last days of records in the spool for the charts. The spool deletes a segment
 * once every sink has confirmed it, so the page registers a sink of its own, `history`,
 * whose cursor trails the newest record by `keepMs`: the spool then keeps a week of
 * readings as it keeps an offline sink's backlog, and a restarted bridge draws its charts
 * at once. The cursor also stays `budgetBytes` behind the end, under the spool's byte
 * bound, so history never makes the spool drop (and count as lost) anything.
 */
import { HEADER_BYTES } from '../spool/record-codec';
import type { SpoolPosition, SpoolStats } from '../spool/spool';
import { recordTs } from './record-scan';
import type { SpoolReader } from './spool-scan';

export const HISTORY_SINK = 'history';

export interface RetainingSpool extends SpoolReader {
  ackedPosition(sink: string): SpoolPosition;
  ack(sink: string, pos: SpoolPosition): void;
  stats(): SpoolStats;
}

export class HistoryRetention {
  constructor(private readonly spool: RetainingSpool, private readonly keepMs: number, private readonly budgetBytes: number) {}

  /** Moves the history cursor past what is older than `nowMs - keepMs` or beyond the byte budget. */
  trim(nowMs: number): void {
    const cutoff = nowMs - this.keepMs;
    let excess = (this.spool.stats().sinks[HISTORY_SINK]?.pendingBytes ?? 0) - this.budgetBytes;
    let pos = this.spool.ackedPosition(HISTORY_SINK);
    const oldest = this.spool.startPosition();
    // Records dropped by the byte bound are gone: count from the oldest there is.
    if (pos.offset < oldest.offset) pos = oldest;
    const start = this.spool.ackedPosition(HISTORY_SINK);
    for (let batches = 0; batches < 100000; batches++) {
      let offset = pos.offset;
      let index = pos.index;
      let target: SpoolPosition | null = null;
      const v = this.spool.readEach(pos, 2000, 1024 * 1024, (buf, s, e) => {
        if (target === null && excess <= 0 && recordTs(buf, s, e) >= cutoff) target = { offset, index };
        const size = HEADER_BYTES + (e - s);
        offset += size;
        index++;
        excess -= size;
      });
      if (v.count === 0) break;
      // Record sizes add up to the batch's end unless damage was skipped inside it; then
      // the cursor moves by whole batches only, and never past a record to keep.
      const exact = offset === v.next.offset;
      if (target !== null) {
        if (exact) pos = target;
        break;
      }
      pos = v.next;
    }
    if (pos.offset > start.offset) this.spool.ack(HISTORY_SINK, pos);
  }
}
