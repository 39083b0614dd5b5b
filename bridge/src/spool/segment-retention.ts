/**
 * Which segments the spool lets go, and when: a segment every sink is past is deleted
 * (once its newest record is old enough, while a feature asked to keep history); when the
 * spool outgrows its byte bound the oldest segment goes, delivered or not, and what each
 * sink lost is counted; on a full disk kept history goes first.
 */
import fs from 'node:fs';
import type { SinkCursors } from './cursor-files';
import type { Segment } from './segment-files';

/** The soonest kept history is checked again for segments old enough to delete. */
const HISTORY_AGE_CHECK_MS = 60_000;

export interface RetentionDeps {
  /** The spool's own list, oldest first; the last one is being written and never deleted. */
  segments: Segment[];
  cursors(): SinkCursors;
  maxBytes: number;
  now(): number;
  /** Bytes of records buffered, not yet in a segment (they count towards the bound). */
  bufferedBytes(): number;
  /** A segment file was deleted: space was freed. */
  freed(): void;
  /** The byte bound moved cursors past a dropped segment. */
  cursorsMoved(): void;
  /** The byte bound dropped `records` some sink had not had confirmed. */
  dropped(records: number): void;
  warn(message: string): void;
  isClosed(): boolean;
}

export class SegmentRetention {
  /** Consumed segments are kept until their newest record is this old (0: deleted at once). */
  private keepMs = 0;
  /** While history is kept: ages consumed segments out even when no sink confirms anything. */
  private ageTimer: NodeJS.Timeout | undefined;

  constructor(private readonly d: RetentionDeps) {}

  /** Bytes in every segment and the write buffer: what the byte bound is about. */
  totalBytes(): number {
    let b = this.d.bufferedBytes();
    for (const s of this.d.segments) b += s.size;
    return b;
  }

  /**
   * Keeps consumed segments until their newest record is `ms` old (the largest request
   * wins), for features that read history (readRange); the byte bound still rules.
   */
  keepHistory(ms: number): void {
    if (ms > this.keepMs) this.keepMs = ms;
    this.armAgeOut();
  }

  /** A segment was finished: it may need aging out. */
  rolled(): void {
    this.armAgeOut();
  }

  /**
   * Kept history ages out on a timer too, not only when a sink confirms something: one
   * armed for when the oldest segment is due (a minute at the soonest; lateness in freeing
   * a segment costs nothing), so an idle bridge is not woken to find nothing old enough.
   */
  private armAgeOut(): void {
    const segments = this.d.segments;
    if (this.ageTimer || this.keepMs === 0 || this.d.isClosed() || segments.length < 2) return;
    const dueMs = Math.max(HISTORY_AGE_CHECK_MS, segments[0].writtenAtMs + this.keepMs - this.d.now());
    this.ageTimer = setTimeout(() => {
      this.ageTimer = undefined;
      this.deleteConsumed();
      this.armAgeOut();
    }, Math.min(dueMs, 0x7fffffff));
    this.ageTimer.unref();
  }

  /** Deletes the segments every sink is past (kept history too, with `evenKept`); returns how many. */
  deleteConsumed(evenKept = false): number {
    const segments = this.d.segments;
    const min = this.d.cursors().minOffset();
    const keepAfter = this.keepMs > 0 && !evenKept ? this.d.now() - this.keepMs : Infinity;
    let n = 0;
    for (; segments.length > 1 && segments[0].base + segments[0].size <= min && segments[0].writtenAtMs < keepAfter; n++) this.removeOldest();
    return n;
  }

  /**
   * On a full disk, history kept for features (already delivered) makes room for new
   * records: a reading not stored is worse than an old one no longer charted.
   */
  dropKeptHistory(): void {
    if (this.keepMs === 0) return;
    const n = this.deleteConsumed(true);
    if (n > 0) this.d.warn(`spool disk full: deleted ${n} delivered segment(s) kept as history, to make room for new records`);
  }

  /** Drops whole segments, oldest first, until the spool fits its bound again. */
  enforceBound(): void {
    const segments = this.d.segments;
    const cursors = this.d.cursors();
    while (segments.length > 1 && this.totalBytes() > this.d.maxBytes) {
      const seg = segments[0];
      const end = { offset: seg.base + seg.size, index: seg.baseIndex + seg.records };
      let lost = 0;
      for (const [sink, pos] of [...cursors.entries()]) {
        if (pos.offset >= end.offset) continue;
        const n = Math.max(0, end.index - Math.max(pos.index, seg.baseIndex));
        lost = Math.max(lost, n);
        cursors.drop(sink, n, { offset: segments[1].base, index: segments[1].baseIndex });
        this.d.cursorsMoved();
      }
      this.removeOldest();
      this.d.dropped(lost);
    }
  }

  private removeOldest(): void {
    const seg = this.d.segments.shift()!;
    if (seg.fd >= 0) fs.closeSync(seg.fd);
    try {
      fs.unlinkSync(seg.file);
    } catch (e) {
      this.d.warn(`spool: could not delete ${seg.file}: ${(e as Error).message}`);
    }
    this.d.freed();
  }

  close(): void {
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
  }
}
