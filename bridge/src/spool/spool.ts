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
import { SpoolDamage, SpoolDamageFound } from './spool-damage';
import { SpoolError, SpoolLock } from './spool-lock';
import { STALL_RETRY_MAX_MS, WriteStall } from './write-stall';

/** At most one cursor save a second (see wakeForCursors). */
const CURSOR_SAVE_MS = 1000;
/** How often kept history is checked for segments old enough to delete. */
const HISTORY_AGE_CHECK_MS = 60_000;
/** Default bound on records held in memory while the disk cannot be written. */
const DEFAULT_HOLD_BYTES = 4 * 1024 * 1024;

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
  /**
   * Hears every warning, from the first moment of open() on (a torn tail cut while
   * opening included); without it warnings are emitted as 'warning' events.
   */
  onWarning?: (message: string) => void;
  /** Bytes of records held in memory while the disk cannot be written (default 4 MiB); past it they are lost, counted. */
  holdBytes?: number;
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
  /** Records that could not be stored (disk full and the memory hold full, or held at close). */
  lostRecords: number;
  /** While writes fail: why, since when (ms since the epoch), records held in memory for a retry. */
  writeFailing: { reason: string; error: string; sinceMs: number; heldRecords: number; lostRecords: number } | null;
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
  private readonly reader = new SegmentReader(this.segments, (found) => this.damaged(found));
  private readonly damage: SpoolDamage;
  private stall: WriteStall | null = null;
  private readonly holdBytes: number;
  private readonly now: () => number;
  /** Consumed segments are kept until their newest record is this old (0: deleted at once). */
  private keepMs = 0;
  private stat = { appendedRecords: 0, droppedRecords: 0, tornRecords: 0, corruptBytes: 0, fsyncs: 0, lostRecords: 0 };
  /** The last cursor-save error logged, so a full disk does not log it every second. */
  private cursorSaveError = '';

  /** Opens (or creates) the spool, cutting a torn tail and loading the sink cursors. */
  static open(options: SpoolOptions): Spool {
    return new Spool(options);
  }

  private constructor(private readonly options: SpoolOptions) {
    super();
    if (options.segmentBytes < HEADER_BYTES + MAX_PAYLOAD) throw new SpoolError(`spool segment size ${options.segmentBytes} is too small`);
    if (options.maxBytes < 2 * options.segmentBytes) throw new SpoolError(`spool max bytes ${options.maxBytes} must be at least twice the segment size ${options.segmentBytes}`);
    this.now = options.now ?? Date.now;
    this.holdBytes = options.holdBytes ?? DEFAULT_HOLD_BYTES;
    this.damage = new SpoolDamage(options.dir, (m) => this.warn(m));
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
    recoverTail(last, (found) => this.damaged(found));
  }

  private warn(message: string): void {
    if (this.options.onWarning) this.options.onWarning(message);
    else this.emit('warning', message);
  }

  /** Damage met while opening or reading: logged, quarantined and counted once, ever. */
  private damaged(found: SpoolDamageFound): void {
    if (!this.damage.report(found)) return;
    if (found.action === 'cut') this.stat.tornRecords++;
    else this.stat.corruptBytes += found.bytes.length;
  }

  private loadCursors(): void {
    const start = this.startPosition();
    const end = this.endPosition();
    const found = loadCursorFiles(this.options.dir, (m) => this.warn(m));
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

  /**
   * Buffers one record; it reaches the file at the next flush(). False when it cannot be
   * kept: the disk cannot be written and the memory held for that is full. The caller
   * counts it lost; the spool counts it in stats().lostRecords.
   */
  append(payload: string): boolean {
    if (this.closed) throw new SpoolError('spool is closed');
    const size = recordSize(payload);
    // Keeps the buffer within a segment's worth while writes succeed.
    if (!this.stall && this.active.size + this.pendingBytes + size > this.options.segmentBytes && this.pendingBytes > 0) this.writePending();
    if (this.stall && !this.stall.mayHold(this.pendingBytes, size, this.holdBytes)) {
      this.stat.lostRecords++;
      return false;
    }
    if (this.pendingBytes + size > this.pending.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.pending.length * 2, this.pendingBytes + size));
      this.pending.copy(bigger, 0, 0, this.pendingBytes);
      this.pending = bigger;
    }
    this.pendingBytes = writeRecord(this.pending, this.pendingBytes, payload);
    this.pendingRecords++;
    this.wake(this.options.fsyncIntervalMs);
    return true;
  }

  /** Writes buffered records to the segment file and tells readers there is more. Never throws on I/O. */
  flush(): void {
    if (this.pendingBytes === 0) return;
    // While stalled, writes are tried on the retry's backoff, not on every chunk.
    if (this.stall && performance.now() < this.stall.retryAtMs) return;
    if (!this.writePending()) return;
    this.enforceBound();
    this.emit('appended');
  }

  /**
   * Writes the buffered records, rolling to a new segment where the next would not fit.
   * On a failed write (a full disk) what was not written stays buffered, the spool
   * stalls and retries on a backoff; false then.
   */
  private writePending(): boolean {
    let from = 0;
    try {
      while (from < this.pendingBytes) {
        const a = this.active;
        // The longest run of whole records that fits in the active segment.
        let end = from;
        let records = 0;
        while (end < this.pendingBytes) {
          const next = end + HEADER_BYTES + this.pending.readUInt32LE(end + 2);
          if (a.size + (next - from) > this.options.segmentBytes && (a.size > 0 || records > 0)) break;
          end = next;
          records++;
        }
        if (records === 0) {
          this.roll();
          continue;
        }
        this.writeAt(a, from, end);
        a.size += end - from;
        a.records += records;
        a.writtenAtMs = this.now();
        this.stat.appendedRecords += records;
        this.pendingRecords -= records;
        this.needsFsync = true;
        from = end;
      }
    } catch (e) {
      this.pending.copy(this.pending, 0, from, this.pendingBytes);
      this.pendingBytes -= from;
      this.writeFailed(e as Error);
      return false;
    }
    this.pendingBytes = 0;
    this.pendingRecords = 0;
    this.wake(this.options.fsyncIntervalMs);
    // The buffer grows for bursts (and a stall); shrink it back so that does not pin memory.
    if (this.pending.length > 4 * 1024 * 1024) this.pending = Buffer.allocUnsafe(256 * 1024);
    if (this.stall) this.writeResumed();
    return true;
  }

  /** Writes pending[from, end) at the end of `seg`, or leaves the file as it was and throws. */
  private writeAt(seg: Segment, from: number, end: number): void {
    let done = 0;
    try {
      while (done < end - from) done += fs.writeSync(seg.fd, this.pending, from + done, end - from - done, seg.size + done);
    } catch (e) {
      // A full disk takes part of a write and refuses the rest: cut that part off again,
      // so the file ends with a whole record (cutting needs no space).
      if (done > 0) {
        try { fs.ftruncateSync(seg.fd, seg.size); } catch { /* the next write overwrites it anyway */ }
      }
      throw e;
    }
  }

  private writeFailed(error: Error): void {
    const mono = performance.now();
    if (this.stall) {
      this.stall.failedAgain(mono);
    } else {
      this.stall = new WriteStall(this.now(), error, mono);
      this.warn(`${this.stall.reason}: cannot write to ${this.options.dir} (${error.message}); holding up to ${this.holdBytes} bytes of records in memory and retrying (every ${STALL_RETRY_MAX_MS / 1000} s at most)`);
      this.emit('stalled', this.stall.reason);
    }
    this.wake(Math.max(0, this.stall.retryAtMs - mono));
  }

  private writeResumed(): void {
    const s = this.stall!;
    this.stall = null;
    const secs = Math.round((this.now() - s.sinceMs) / 1000);
    this.warn(`spool: writing again after ${secs} s of "${s.error.message}"; the records held in memory are written, ${s.lost} could not be kept`);
    this.emit('resumed', s.lost);
  }

  /** Starts the next segment; the new file is created before the old one is let go, so a failure changes nothing. */
  private roll(): void {
    const old = this.active;
    const next = createSegment(this.options.dir, old.base + old.size, old.baseIndex + old.records, this.now());
    try {
      fs.fsyncSync(old.fd);
      this.stat.fsyncs++;
    } catch (e) {
      this.warn(`spool: fsync of ${old.file} failed: ${(e as Error).message}`);
    }
    fs.closeSync(old.fd);
    old.fd = -1;
    this.segments.push(next);
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
    try {
      fs.unlinkSync(seg.file);
    } catch (e) {
      this.warn(`spool: could not delete ${seg.file}: ${(e as Error).message}`);
    }
    if (this.stall) {
      // Space was freed: the held records may fit now.
      this.stall.spaceFreed(performance.now());
      this.wake(0);
    }
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

  /** Saves the moved cursors; one that cannot be saved (a full disk) stays dirty for the next try. */
  private saveCursors(): void {
    for (const sink of [...this.dirtyCursors]) {
      try {
        saveCursorFile(this.options.dir, sink, this.acked.get(sink)!);
        this.dirtyCursors.delete(sink);
        this.cursorSaveError = '';
      } catch (e) {
        const msg = (e as Error).message;
        // A stale cursor only means records delivered again after a crash: warn, retry.
        if (msg !== this.cursorSaveError) this.warn(`spool: cannot save the ${sink} cursor (${msg}); retrying, a crash meanwhile would deliver some records again`);
        this.cursorSaveError = msg;
      }
    }
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
    if (this.stall) this.wake(Math.max(0, this.stall.retryAtMs - performance.now()));
    if (this.needsFsync) {
      if (this.fsyncing) {
        this.wake(this.options.fsyncIntervalMs);
      } else {
        const fd = this.active.fd;
        this.needsFsync = false;
        this.fsyncing = true;
        fs.fsync(fd, (err) => {
          this.fsyncing = false;
          if (err && !this.closed) this.warn(`spool: fsync failed: ${err.message}`);
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
        if (this.dirtyCursors.size > 0) this.wakeForCursors();
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
    const st = this.stall;
    const writeFailing = st ? { reason: st.reason, error: st.error.message, sinceMs: st.sinceMs, heldRecords: this.pendingRecords, lostRecords: st.lost } : null;
    return { bytes: this.totalBytes(), segments: this.segments.length, ...this.stat, writeFailing, sinks };
  }

  /**
   * Writes and fsyncs everything, saves the cursors, releases the directory. On a disk
   * that is still full, the records held in memory are lost: counted and logged, never thrown.
   */
  close(): void {
    if (this.closed) return;
    if (!this.writePending()) {
      this.stat.lostRecords += this.pendingRecords;
      this.warn(`${this.stall!.reason}: ${this.pendingRecords} record(s) held in memory could not be written before closing and are lost`);
      this.emit('lostAtClose', this.pendingRecords);
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ageTimer) clearInterval(this.ageTimer);
    const a = this.active;
    try {
      fs.fsyncSync(a.fd);
      this.stat.fsyncs++;
    } catch (e) {
      this.warn(`spool: fsync failed: ${(e as Error).message}`);
    }
    this.saveCursors();
    for (const s of this.segments) if (s.fd >= 0) { fs.closeSync(s.fd); s.fd = -1; }
    this.lock.release();
  }
}
