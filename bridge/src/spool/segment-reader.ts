/**
 * Reads records out of the spool's segments, from any position on: the sinks' batches,
 * start-up replays and range reads. Damage met on the way (a record that fails its
 * checks, a record torn at the end of an older segment by power loss) is skipped to the
 * next valid record and reported through `onDamage`. What was just written is read from
 * the copy kept in memory (recent-records.ts) when the position asked for is in it.
 */
import fs from 'node:fs';
import { HEADER_BYTES, MAX_PAYLOAD, checkRecord, resync } from './record-codec';
import type { SpoolPosition } from './spool-types';
import type { Segment } from './segment-files';
import type { SpoolDamageFound } from './spool-damage';
import type { RecentRecords } from './recent-records';

export interface SpoolVisit {
  /** Records handed to the visitor. */
  count: number;
  next: SpoolPosition;
  /** Records that were dropped (byte bound) between the position asked for and the first read. */
  skippedDropped: number;
}

const READ_WINDOW = 256 * 1024;

export class SegmentReader {
  private readBuf: Buffer = Buffer.allocUnsafe(0);
  /** Windows read from segment files (a pread each), and served from the records just written instead. */
  fileReads = 0;
  memoryReads = 0;

  /** `segments` is the spool's own list, oldest first, read live (never copied). */
  constructor(private readonly segments: readonly Segment[], private readonly recent: RecentRecords, private readonly onDamage: (found: SpoolDamageFound) => void) {}

  private segmentAt(offset: number): number {
    for (let i = this.segments.length - 1; i >= 0; i--) if (offset >= this.segments[i].base) return i;
    return -1;
  }

  private readFd(seg: Segment): number {
    if (seg.fd < 0) seg.fd = fs.openSync(seg.file, 'r');
    return seg.fd;
  }

  /**
   * Hands up to `maxRecords` payloads (and roughly `maxBytes`) from `from` on to `visit`
   * as bytes buf[start, end). `buf` is reused: visit must not keep it.
   */
  readEach(from: SpoolPosition, maxRecords: number, maxBytes: number, visit: (buf: Buffer, start: number, end: number) => void): SpoolVisit {
    let count = 0;
    let offset = from.offset;
    let index = from.index;
    let bytes = 0;
    let skippedDropped = 0;
    const first = this.segments[0];
    if (offset < first.base) {
      skippedDropped = Math.max(0, first.baseIndex - index);
      offset = first.base;
      index = first.baseIndex;
    }
    while (count < maxRecords && bytes < maxBytes) {
      const i = this.segmentAt(offset);
      if (i < 0) break;
      const seg = this.segments[i];
      // At a segment's first byte its file name says the index: exact even when damage
      // before it was skipped (and its segment deleted) with the index counted short.
      if (offset === seg.base) index = seg.baseIndex;
      if (offset >= seg.base + seg.size) {
        if (i + 1 >= this.segments.length) break; // caught up
        offset = this.segments[i + 1].base;
        index = this.segments[i + 1].baseIndex;
        continue;
      }
      const rel = offset - seg.base;
      // Never a window smaller than the largest record, so every read makes progress, and
      // none larger than READ_WINDOW, so a big batch does not pin a big buffer.
      const want = Math.min(seg.size - rel, Math.max(Math.min(maxBytes - bytes, READ_WINDOW), HEADER_BYTES + MAX_PAYLOAD));
      // buf[first, first + got) holds the bytes from `offset` on.
      let buf: Buffer;
      let first: number;
      let got: number;
      const kept = i === this.segments.length - 1 ? this.recent.bytesFrom(seg.base, offset, want) : null;
      if (kept !== null) {
        buf = kept.records;
        first = kept.at;
        got = kept.end - kept.at;
        this.memoryReads++;
      } else {
        if (this.readBuf.length < want) this.readBuf = Buffer.allocUnsafe(Math.max(want, 64 * 1024));
        buf = this.readBuf;
        first = 0;
        got = fs.readSync(this.readFd(seg), buf, 0, want, rel);
        this.fileReads++;
      }
      let at = 0;
      while (at < got && count < maxRecords) {
        const c = checkRecord(buf, first + at, first + got);
        if (c.kind === 'record') {
          visit(buf, first + at + HEADER_BYTES, c.end);
          count++;
          bytes += c.end - first - at;
          index++;
          at = c.end - first;
          continue;
        }
        if (c.kind === 'incomplete' && rel + got < seg.size) break; // the record goes on past this window
        if (kept !== null) break; // the copy does not line up: below, the file says what is there
        // Damage, or a record torn at the end of an older segment (power loss before its
        // fsync): skip to the next valid record in this segment, or to its end.
        const damagedAt = rel + at;
        const skip = this.skipDamage(seg, damagedAt, c.kind === 'corrupt' ? c.why : 'record cut short at the end of the segment');
        this.onDamage(skip.found);
        // In an older segment the next file's name says how many records this one held
        // (the damaged ones included): count the valid ones left so pending stays exact.
        if (i + 1 < this.segments.length) index = this.segments[i + 1].baseIndex - skip.validAfter;
        at = skip.resume - rel;
        break;
      }
      if (at === 0) {
        if (kept === null) break;
        this.recent.forget();
        continue;
      }
      offset += at;
    }
    return { count, next: { offset, index }, skippedDropped };
  }

  /**
   * After damage at `at` in `seg`: where the next valid record starts (or the segment's
   * end), the damaged bytes, and how many valid records follow in the segment.
   */
  private skipDamage(seg: Segment, at: number, why: string): { resume: number; validAfter: number; found: SpoolDamageFound } {
    const len = seg.size - at;
    const buf = Buffer.allocUnsafe(len);
    const got = fs.readSync(this.readFd(seg), buf, 0, len, at);
    const next = resync(buf, 0, got);
    const resumeRel = next < 0 ? got : next;
    let validAfter = 0;
    for (let p = resumeRel; p < got;) {
      const c = checkRecord(buf, p, got);
      if (c.kind === 'record') {
        validAfter++;
        p = c.end;
      } else {
        const r = resync(buf, p, got);
        if (r < 0) break;
        p = r;
      }
    }
    return {
      resume: at + resumeRel,
      validAfter,
      found: { file: seg.file, offset: at, bytes: Buffer.from(buf.subarray(0, resumeRel)), why: next < 0 ? `${why}, no valid record after it` : why, action: 'skipped' },
    };
  }
}
