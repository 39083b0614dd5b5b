/**
 * The durable spool: every accepted frame is appended here before any sink sees it, and
 * each sink drains it at its own pace, moving its cursor only when its server confirmed.
 *
 * On disk (one directory):
 *   seg-*.log            append-only segments of records (segment-files.ts)
 *   cursor-<sink>.json   where each sink is (cursor-files.ts)
 *   lock                 pid of the bridge using the directory (spool-lock.ts)
 *
 * Writes are batched in memory and written with one write() per batch (the caller calls
 * flush() after each chunk from the source); fsync runs on a short timer and on close.
 * A SIGKILL loses nothing that was written (the page cache survives the process); power
 * loss loses at most the last fsync interval, and the torn tail it leaves is detected and
 * cut on the next open. Segments are deleted once every sink is past them (and, when a
 * feature asked to keep history, once older than that); when the spool exceeds its byte
 * bound the oldest segment is dropped and what each sink lost is counted.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { HEADER_BYTES, MAX_PAYLOAD, recordSize, writeRecord } from './record-codec';
import { SpoolPosition, loadCursorFiles, saveCursorFile } from './cursor-files';
import { Segment, createSegment, listSegments, recoverTail } from './segment-files';
import { SegmentReader, SpoolVisit } from './segment-reader';
import { SpoolError, SpoolLock } from './spool-lock';

/**
 * At most one cursor save every 5 s (see wakeForCursors): each is a write, two fsyncs and a
 * rename per sink, which at one reading a second cost more than the reading itself. A crash
 * delivers up to 5 s of records again (at least once; InfluxDB points overwrite themselves).
 */
const CURSOR_SAVE_MS = 5000;
/** How often kept history is checked for segments old enough to delete. */
const HISTORY_AGE_CHECK_MS = 60_000;

export { SpoolError } from './spool-lock';
export type { SpoolPosition } from './cursor-files';
export type { SpoolVisit } from './segment-reader';

export interface SpoolOptions {
  dir: string;
  /** Bound on the bytes of all segments; the oldest segment goes when it is exceeded. */
  maxBytes: number;
  /** A segment is closed and a new one started when it would grow past this. */
  segmentBytes: number;
  /** How often written data is fsynced (and cursors saved). */
  fsyncIntervalMs: number;
  /** Every sink that drains the spool. */
  sinks: readonly string[];
  /** The clock that dates segments, for keepHistory (default Date.now). */
  now?: () => number;
}

export interface SpoolBatch {
  payloads: string[];
  /** Where the next read continues; ack() this once the payloads are confirmed. */
  next: SpoolPosition;
  /** Records that were dropped (byte bound) between the position asked for and the batch. */
  skippedDropped: number;
}

export interface SpoolStats {
  bytes: number;
  segments: number;
  appendedRecords: number;
  droppedRecords: number;
  tornRecords: number;
  corruptBytes: number;
  fsyncs: number;
  sinks: { [sink: string]: { pendingRecords: number; pendingBytes: number; droppedRecords: number; acked: SpoolPosition } };
}

export class Spool extends EventEmitter {
  private readonly segments: Segment[] = [];
  private readonly acked = new Map<string, SpoolPosition>();
  private readonly droppedPerSink = new Map<string, number>();
  private readonly dirtyCursors = new Set<string>();
  private pending: Buffer = Buffer.allocUnsafe(256 * 1024);
  private pendingBytes = 0;
  private pendingRecords = 0;
  private needsFsync = false;
  private fsyncing = false;
  /** The one pending tick; armed only while there is something to write, sync or save. */
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  private cursorsSavedMs = -Infinity;
  /** While history is kept: ages consumed segments out even when no sink confirms anything. */
  private ageTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lock: SpoolLock;
  private readonly reader = new SegmentReader(this.segments, (bytes, message) => {
    this.stat.corruptBytes += bytes;
    this.emit('warning', message);
  });
  private readonly now: () => number;
  /** Consumed segments are kept until their newest record is this old (0: deleted at once). */
  private keepMs = 0;
  private stat = { appendedRecords: 0, droppedRecords: 0, tornRecords: 0, corruptBytes: 0, fsyncs: 0 };

  /** Opens (or creates) the spool, cutting a torn tail and loading the sink cursors. */
  static open(options: SpoolOptions): Spool {
    return new Spool(options);
  }

  private constructor(private readonly options: SpoolOptions) {
    super();
    if (options.segmentBytes < HEADER_BYTES + MAX_PAYLOAD) throw new SpoolError(`spool segment size ${options.segmentBytes} is too small`);
    if (options.maxBytes < 2 * options.segmentBytes) throw new SpoolError(`spool max bytes ${options.maxBytes} must be at least twice the segment size ${options.segmentBytes}`);
    this.now = options.now ?? Date.now;
    fs.mkdirSync(options.dir, { recursive: true });
    this.lock = new SpoolLock(options.dir);
    try {
      this.loadSegments();
      this.loadCursors();
    } catch (e) {
      this.lock.release();
      throw e;
    }
  }

  /**
   * Arms the tick to run within `delayMs` (an earlier request wins). A timer that fires
   * with nothing to do is a wake-up paid for nothing, ten a second at the default
   * interval on an idle host: so the tick is armed by the work itself (a buffered
   * record, an unsynced write, a moved cursor) and is not re-armed once all is durable.
   */
  private wake(delayMs: number): void {
    if (this.closed) return;
    const due = performance.now() + delayMs;
    if (this.timer) {
      if (due >= this.timerDueMs) return;
      clearTimeout(this.timer);
    }
    this.timerDueMs = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueMs = Infinity;
      this.tick();
    }, delayMs);
    this.timer.unref();
  }

  // ---- opening ----

  private loadSegments(): void {
    this.segments.push(...listSegments(this.options.dir));
    if (this.segments.length === 0) {
      this.segments.push(createSegment(this.options.dir, 0, 0, this.now()));
      return;
    }
    const last = this.active;
    last.fd = fs.openSync(last.file, 'r+');
    const check = recoverTail(last, (m) => this.emit('warning', m));
    this.stat.corruptBytes += check.corruptBytes;
    if (check.torn) this.stat.tornRecords++;
  }

  private loadCursors(): void {
    const start = this.startPosition();
    const end = this.endPosition();
    const found = loadCursorFiles(this.options.dir, (m) => this.emit('warning', m));
    for (const sink of this.options.sinks) {
      let pos = found.get(sink) ?? start;
      // A cursor before the oldest segment: that data was dropped while the sink was away
      // (or its segment deleted); one past the end: the tail it pointed into was torn.
      if (pos.offset < start.offset) pos = start;
      if (pos.offset > end.offset) pos = end;
      this.acked.set(sink, pos);
      this.droppedPerSink.set(sink, 0);
    }
  }

  /**
   * Keeps consumed segments until their newest record is `ms` old (the largest request
   * wins), for features that read history (readRange); the byte bound still rules.
   */
  keepHistory(ms: number): void {
    if (ms > this.keepMs) this.keepMs = ms;
    if (!this.ageTimer && this.keepMs > 0 && !this.closed) {
      // Kept history ages out here too, not only when a sink confirms something; a
      // minute's lateness in freeing a segment costs nothing.
      this.ageTimer = setInterval(() => this.deleteConsumed(), HISTORY_AGE_CHECK_MS);
      this.ageTimer.unref();
    }
  }

  // ---- positions ----

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  startPosition(): SpoolPosition {
    const s = this.segments[0];
    return { offset: s.base, index: s.baseIndex };
  }

  /** After the last record written to the file (not counting records still buffered). */
  endPosition(): SpoolPosition {
    const a = this.active;
    return { offset: a.base + a.size, index: a.baseIndex + a.records };
  }

  /**
   * Where the spool's recent tail starts: the newest segment, or the one before it while
   * the newest is still empty. Reading from here finds the last records written.
   */
  tailPosition(): SpoolPosition {
    const n = this.segments.length;
    const s = n > 1 && this.segments[n - 1].size === 0 ? this.segments[n - 2] : this.segments[n - 1];
    return { offset: s.base, index: s.baseIndex };
  }

  ackedPosition(sink: string): SpoolPosition {
    const p = this.acked.get(sink);
    if (!p) throw new SpoolError(`spool: unknown sink ${sink}`);
    return { offset: p.offset, index: p.index };
  }

  // ---- writing ----

  /** Buffers one record; it reaches the file at the next flush(). */
  append(payload: string): void {
    if (this.closed) throw new SpoolError('spool is closed');
    const size = recordSize(payload);
    const a = this.active;
    if (a.size + this.pendingBytes + size > this.options.segmentBytes && a.size + this.pendingBytes > 0) {
      this.writePending();
      this.roll();
    }
    if (this.pendingBytes + size > this.pending.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.pending.length * 2, this.pendingBytes + size));
      this.pending.copy(bigger, 0, 0, this.pendingBytes);
      this.pending = bigger;
    }
    this.pendingBytes = writeRecord(this.pending, this.pendingBytes, payload);
    this.pendingRecords++;
    this.wake(this.options.fsyncIntervalMs);
  }

  /** Writes buffered records to the segment file and tells readers there is more. */
  flush(): void {
    if (this.pendingBytes === 0) return;
    this.writePending();
    this.enforceBound();
    this.emit('appended');
  }

  private writePending(): void {
    if (this.pendingBytes === 0) return;
    const a = this.active;
    let done = 0;
    while (done < this.pendingBytes) done += fs.writeSync(a.fd, this.pending, done, this.pendingBytes - done, a.size + done);
    a.size += this.pendingBytes;
    a.records += this.pendingRecords;
    a.writtenAtMs = this.now();
    this.stat.appendedRecords += this.pendingRecords;
    this.pendingBytes = 0;
    this.pendingRecords = 0;
    this.needsFsync = true;
    this.wake(this.options.fsyncIntervalMs);
    // The buffer grows for bursts; shrink it back so a burst does not pin memory.
    if (this.pending.length > 4 * 1024 * 1024) this.pending = Buffer.allocUnsafe(256 * 1024);
  }

  private roll(): void {
    const old = this.active;
    fs.fsyncSync(old.fd);
    this.stat.fsyncs++;
    fs.closeSync(old.fd);
    old.fd = -1;
    this.segments.push(createSegment(this.options.dir, old.base + old.size, old.baseIndex + old.records, this.now()));
    this.needsFsync = false;
  }

  private totalBytes(): number {
    let b = this.pendingBytes;
    for (const s of this.segments) b += s.size;
    return b;
  }

  /** Drops whole segments, oldest first, until the spool fits its bound again. */
  private enforceBound(): void {
    while (this.segments.length > 1 && this.totalBytes() > this.options.maxBytes) {
      const seg = this.segments[0];
      const end = { offset: seg.base + seg.size, index: seg.baseIndex + seg.records };
      let lost = 0;
      for (const [sink, pos] of this.acked) {
        if (pos.offset >= end.offset) continue;
        const n = Math.max(0, end.index - Math.max(pos.index, seg.baseIndex));
        lost = Math.max(lost, n);
        this.droppedPerSink.set(sink, (this.droppedPerSink.get(sink) ?? 0) + n);
        this.acked.set(sink, { offset: this.segments[1].base, index: this.segments[1].baseIndex });
        this.dirtyCursors.add(sink);
        this.wakeForCursors();
      }
      this.stat.droppedRecords += lost;
      this.removeOldest();
      if (lost > 0) this.emit('dropped', lost);
    }
  }

  private removeOldest(): void {
    const seg = this.segments.shift()!;
    if (seg.fd >= 0) fs.closeSync(seg.fd);
    fs.unlinkSync(seg.file);
  }

  // ---- reading ----

  /**
   * Up to `maxRecords` payloads (and roughly `maxBytes`) from `from` on. Synchronous: the
   * data was just written and sits in the page cache. An empty batch means caught up.
   */
  read(from: SpoolPosition, maxRecords: number, maxBytes: number): SpoolBatch {
    const payloads: string[] = [];
    const r = this.reader.readEach(from, maxRecords, maxBytes, (buf, start, end) => { payloads.push(buf.toString('latin1', start, end)); });
    return { payloads, next: r.next, skippedDropped: r.skippedDropped };
  }

  /**
   * As read(), but hands each payload to `visit` as bytes buf[start, end) instead of
   * making a string of it: sinks copy what they send straight from the read window, so
   * a batch costs no per-record objects. `buf` is reused: visit must not keep it.
   */
  readEach(from: SpoolPosition, maxRecords: number, maxBytes: number, visit: (buf: Buffer, start: number, end: number) => void): SpoolVisit {
    return this.reader.readEach(from, maxRecords, maxBytes, visit);
  }

  /** Where each segment starts, oldest first (for range reads that skip whole segments). */
  segmentStarts(): SpoolPosition[] {
    return this.segments.map((s) => ({ offset: s.base, index: s.baseIndex }));
  }

  // ---- acknowledging ----

  /** The sink's server confirmed everything before `pos`. */
  ack(sink: string, pos: SpoolPosition): void {
    const cur = this.acked.get(sink);
    if (!cur) throw new SpoolError(`spool: unknown sink ${sink}`);
    if (pos.offset <= cur.offset) return; // stale: a drop already moved it past
    this.acked.set(sink, { offset: pos.offset, index: pos.index });
    this.dirtyCursors.add(sink);
    this.wakeForCursors();
    this.deleteConsumed();
  }

  private deleteConsumed(): void {
    let min = Infinity;
    for (const pos of this.acked.values()) min = Math.min(min, pos.offset);
    const keepAfter = this.keepMs > 0 ? this.now() - this.keepMs : Infinity;
    while (this.segments.length > 1 && this.segments[0].base + this.segments[0].size <= min && this.segments[0].writtenAtMs < keepAfter) this.removeOldest();
  }

  private saveCursors(): void {
    for (const sink of this.dirtyCursors) saveCursorFile(this.options.dir, sink, this.acked.get(sink)!);
    this.dirtyCursors.clear();
  }

  /**
   * Cursors are saved at most once a second: each save is two fsyncs on the event loop,
   * and a stale cursor after a crash only means some records are delivered twice.
   */
  private wakeForCursors(): void {
    const since = performance.now() - this.cursorsSavedMs;
    this.wake(Math.max(this.options.fsyncIntervalMs, CURSOR_SAVE_MS - since));
  }

  private tick(): void {
    if (this.closed) return;
    this.flush();
    if (this.needsFsync) {
      if (this.fsyncing) {
        this.wake(this.options.fsyncIntervalMs);
      } else {
        const fd = this.active.fd;
        this.needsFsync = false;
        this.fsyncing = true;
        fs.fsync(fd, (err) => {
          this.fsyncing = false;
          if (err && !this.closed) this.emit('warning', `spool: fsync failed: ${err.message}`);
          else this.stat.fsyncs++;
        });
      }
    }
    // Cursors after data: a cursor must never be durable ahead of what it points past,
    // so they wait while data written before them is still unsynced.
    if (this.dirtyCursors.size > 0) {
      if (this.needsFsync || this.fsyncing || performance.now() - this.cursorsSavedMs < CURSOR_SAVE_MS) {
        this.wakeForCursors();
      } else {
        this.cursorsSavedMs = performance.now();
        this.saveCursors();
      }
    }
  }

  // ---- the rest ----

  stats(): SpoolStats {
    const end = this.endPosition();
    const sinks: SpoolStats['sinks'] = {};
    for (const [sink, pos] of this.acked) {
      sinks[sink] = {
        pendingRecords: Math.max(0, end.index + this.pendingRecords - pos.index),
        pendingBytes: Math.max(0, end.offset + this.pendingBytes - pos.offset),
        droppedRecords: this.droppedPerSink.get(sink) ?? 0,
        acked: { offset: pos.offset, index: pos.index },
      };
    }
    return { bytes: this.totalBytes(), segments: this.segments.length, ...this.stat, sinks };
  }

  /** Writes and fsyncs everything, saves the cursors, releases the directory. */
  close(): void {
    if (this.closed) return;
    this.writePending();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ageTimer) clearInterval(this.ageTimer);
    const a = this.active;
    fs.fsyncSync(a.fd);
    this.stat.fsyncs++;
    this.saveCursors();
    for (const s of this.segments) if (s.fd >= 0) { fs.closeSync(s.fd); s.fd = -1; }
    this.lock.release();
  }
}
