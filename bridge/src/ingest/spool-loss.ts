/**
 * Frames the spool could not keep (its disk full and the memory held for that full too),
 * told to a person in two log lines per run of loss: one when it starts, one summary when
 * it ends (the spool writes again, or the bridge stops) saying how many readings and
 * events, stamped from when to when, and which sequence numbers. A run of loss is one
 * unbroken stretch of frames (write-stall.ts), so "from .. to" covers exactly what was lost.
 */
import type { EventFrame, ReadingFrame } from '../../../protocol';
import type { Logger } from '../log/logger';

interface LossRun {
  readings: number;
  events: number;
  firstTs: number;
  lastTs: number;
  /** First and last reading lost, as boot/seq (none if only events were lost). */
  first: { boot: number; seq: number } | null;
  last: { boot: number; seq: number } | null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export class SpoolLoss {
  private run: LossRun | null = null;

  constructor(private readonly log: Logger) {}

  /** A frame stamped `ts` could not be spooled. */
  lost(ts: number, frame: ReadingFrame | EventFrame): void {
    let r = this.run;
    if (!r) {
      r = this.run = { readings: 0, events: 0, firstTs: ts, lastTs: ts, first: null, last: null };
      this.log.warn(`spool disk full and the memory held for it is full: readings are being lost from ${iso(ts)}${frame.type === 'R' ? ` (seq ${frame.seq} of boot ${frame.boot})` : ''} on, counted in solar_bridge_spool_lost_records_total`);
    }
    r.lastTs = ts;
    if (frame.type === 'R') {
      r.readings++;
      r.first ??= { boot: frame.boot, seq: frame.seq };
      r.last = { boot: frame.boot, seq: frame.seq };
    } else {
      r.events++;
    }
  }

  /** Whether frames are being lost right now. */
  losing(): boolean {
    return this.run !== null;
  }

  /** The run of loss is over (the spool writes again, or the bridge stops): one summary line. */
  end(why: string): void {
    const r = this.run;
    if (!r) return;
    this.run = null;
    let seqs = '';
    if (r.first && r.last) {
      seqs = r.first.boot === r.last.boot
        ? `, seq ${r.first.seq}..${r.last.seq} of boot ${r.first.boot}`
        : `, from seq ${r.first.seq} of boot ${r.first.boot} to seq ${r.last.seq} of boot ${r.last.boot}`;
    }
    this.log.warn(`spool disk full: lost ${r.readings} reading(s) and ${r.events} event(s) stamped ${iso(r.firstTs)} to ${iso(r.lastTs)}${seqs} (${why})`, { lost_readings: r.readings, lost_events: r.events });
  }
}
