/**
 * The spool's write side: records buffered in memory, written to the newest segment with
 * one write() per batch, a new segment started where the next record would not fit.
 *
 * A write that fails (a full disk, a quota, an I/O error) never throws to the caller:
 * what was not written stays buffered, the appender is stalled (write-stall.ts) and the
 * write is retried on a bounded backoff, or at once when the spool frees space. While
 * stalled, records are held up to a byte bound; past it they are refused and counted.
 */
import fs from 'node:fs';
import { HEADER_BYTES, recordSize, writeRecord } from './record-codec';
import { Segment, createSegment } from './segment-files';
import { WriteStall } from './write-stall';

export interface AppenderOptions {
  dir: string;
  segmentBytes: number;
  holdBytes: number;
  now: () => number;
}

export interface AppenderEvents {
  /** `records`, the bytes src[from, to), now end `seg`, the newest segment's file (not yet fsynced). */
  written(records: number, seg: Segment, src: Buffer, from: number, to: number): void;
  /** A segment was finished (and fsynced, when `fsynced`) and a new one started. */
  rolled(fsynced: boolean): void;
  warn(message: string): void;
  /** Writes started failing. */
  stalled(stall: WriteStall): void;
  /** Writes succeed again; everything held was written. */
  resumed(stall: WriteStall): void;
}

export class SegmentAppender {
  private pending: Buffer = Buffer.allocUnsafe(256 * 1024);
  /** Bytes and records buffered, not yet in a file. */
  bytes = 0;
  records = 0;
  stall: WriteStall | null = null;
  /** Why the last writeAt() came back short. */
  private writeError: Error | null = null;

  /** `segments` is the spool's own list, oldest first; the last one is written. */
  constructor(private readonly segments: Segment[], private readonly o: AppenderOptions, private readonly on: AppenderEvents) {}

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /** Buffers one record; false when it cannot be kept (stalled, and the hold is full). */
  add(payload: string): boolean {
    const size = recordSize(payload);
    // Keeps the buffer within a segment's worth while writes succeed.
    if (!this.stall && this.bytes > 0 && this.active.size + this.bytes + size > this.o.segmentBytes) this.write();
    if (this.stall && !this.stall.mayHold(this.bytes, size, this.o.holdBytes)) return false;
    if (this.bytes + size > this.pending.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.pending.length * 2, this.bytes + size));
      this.pending.copy(bigger, 0, 0, this.bytes);
      this.pending = bigger;
    }
    this.bytes = writeRecord(this.pending, this.bytes, payload);
    this.records++;
    return true;
  }

  /** Whether a write may be tried now: not stalled, or the stall's retry is due. */
  due(): boolean {
    return this.stall === null || performance.now() >= this.stall.retryAtMs;
  }

  /** Space was freed: a stalled write is worth trying at once. */
  spaceFreed(): void {
    this.stall?.spaceFreed(performance.now());
  }

  /** Writes everything buffered, rolling segments as needed; false if a write failed (stalled). */
  write(): boolean {
    let from = 0;
    try {
      while (from < this.bytes) {
        const a = this.active;
        // The longest run of whole records that fits in the active segment.
        let end = from;
        let records = 0;
        while (end < this.bytes) {
          const next = end + HEADER_BYTES + this.pending.readUInt32LE(end + 2);
          if (a.size + (next - from) > this.o.segmentBytes && (a.size > 0 || records > 0)) break;
          end = next;
          records++;
        }
        if (records === 0) {
          this.roll();
          continue;
        }
        const wrote = this.writeAt(a, from, end);
        const written = wrote === end - from ? records : this.wholeRecords(from, wrote).records;
        if (written > 0) {
          a.size += wrote;
          a.records += written;
          a.writtenAtMs = this.o.now();
          this.records -= written;
          this.on.written(written, a, this.pending, from, from + wrote);
          from += wrote;
        }
        if (this.writeError) throw this.writeError;
      }
    } catch (e) {
      this.pending.copy(this.pending, 0, from, this.bytes);
      this.bytes -= from;
      this.failed(e as Error);
      return false;
    }
    this.bytes = 0;
    this.records = 0;
    // The buffer grows for bursts (and a stall); shrink it back so that does not pin memory.
    if (this.pending.length > 4 * 1024 * 1024) this.pending = Buffer.allocUnsafe(256 * 1024);
    if (this.stall) {
      const s = this.stall;
      this.stall = null;
      this.on.resumed(s);
    }
    return true;
  }

  /**
   * Writes pending[from, end) at the end of `seg`; returns the bytes of whole records
   * written, short when a write failed (the error in writeError). A full disk takes part of a write and
   * refuses the rest: the whole records in that part are kept, a record cut in two is
   * cut off the file again (cutting needs no space), so the file ends with a whole record.
   */
  private writeAt(seg: Segment, from: number, end: number): number {
    let done = 0;
    this.writeError = null;
    try {
      while (done < end - from) done += fs.writeSync(seg.fd, this.pending, from + done, end - from - done, seg.size + done);
      return done;
    } catch (e) {
      this.writeError = e as Error;
    }
    const whole = this.wholeRecords(from, done).bytes;
    if (whole < done) {
      try { fs.ftruncateSync(seg.fd, seg.size + whole); } catch { /* the next write overwrites it anyway */ }
    }
    return whole;
  }

  /** The whole records in the first `bytes` bytes buffered from `from` on. */
  private wholeRecords(from: number, bytes: number): { bytes: number; records: number } {
    let at = from;
    let records = 0;
    for (;;) {
      const next = at + HEADER_BYTES + this.pending.readUInt32LE(at + 2);
      if (next - from > bytes) break;
      at = next;
      records++;
    }
    return { bytes: at - from, records };
  }

  private failed(error: Error): void {
    const mono = performance.now();
    if (this.stall) {
      this.stall.failedAgain(mono);
      return;
    }
    this.stall = new WriteStall(this.o.now(), error, mono);
    this.on.stalled(this.stall);
  }

  /** Starts the next segment; the new file is created before the old one is let go, so a failure changes nothing. */
  private roll(): void {
    const old = this.active;
    const next = createSegment(this.o.dir, old.base + old.size, old.baseIndex + old.records, this.o.now());
    let fsynced = true;
    try {
      fs.fdatasyncSync(old.fd);
    } catch (e) {
      fsynced = false;
      this.on.warn(`spool: fsync of ${old.file} failed: ${(e as Error).message}`);
    }
    fs.closeSync(old.fd);
    old.fd = -1;
    this.segments.push(next);
    this.on.rolled(fsynced);
  }
}
