/**
 * The durable spool: every accepted frame is appended here before any sink sees it, and
 * each sink drains it at its own pace, moving its cursor only when its server confirmed.
 *
 * On disk (one directory):
 *   seg-*.log            append-only segments of records (segment-files.ts)
 *   cursors.bin          where each sink is, two checksummed slots (cursor-store.ts)
 *   lock                 symlink to the pid of the bridge using the directory (spool-lock.ts)
 *   quarantine/          damaged bytes found in segments, with why (spool-damage.ts)
 *
 * Writes are batched in memory and written with one write() per batch (the caller calls
 * flush() after each chunk from the source); fdatasync runs on a short timer and on close.
 * A SIGKILL loses nothing that was written (the page cache survives the process); power
 * loss loses at most the last fsync interval, and the torn tail it leaves is cut (and
 * quarantined) on the next open. A cursor is saved only when the data it points past is
 * durable, so after power loss no sink skips a record that was lost (sync-schedule.ts).
 * Segments are deleted once every sink is past them (and, when a feature asked to keep
 * history, once older than that); when the spool exceeds its byte bound the oldest
 * segment is dropped and what each sink lost is counted (segment-retention.ts). A full
 * disk stalls writing, never the caller (segment-appender.ts).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { HEADER_BYTES, MAX_PAYLOAD } from './record-codec';
import { SinkCursors } from './cursor-files';
import { Segment, createSegment, listSegments, recoverTail } from './segment-files';
import { SegmentReader, SpoolVisit } from './segment-reader';
import { SpoolDamage, SpoolDamageFound } from './spool-damage';
import { SpoolError, SpoolLock } from './spool-lock';
import { AppenderEvents, SegmentAppender } from './segment-appender';
import { STALL_RETRY_MAX_MS } from './write-stall';
import { SyncSchedule } from './sync-schedule';
import { SegmentRetention } from './segment-retention';
import { RecentRecords } from './recent-records';
import type { SpoolBatch, SpoolOptions, SpoolPosition, SpoolStats } from './spool-types';

/** Default bound on records held in memory while the disk cannot be written. */
const DEFAULT_HOLD_BYTES = 4 * 1024 * 1024;
/**
 * The records last written, kept for the sinks that are caught up: at the line rate (50 a
 * second at most, about 330 bytes each) several seconds' worth, more than a sink gathers.
 */
const RECENT_BYTES = 64 * 1024;

export { SpoolError } from './spool-lock';
export type { SpoolPosition } from './spool-types';
export type { SpoolVisit } from './segment-reader';
export type { SpoolBatch, SpoolOptions, SpoolStats } from './spool-types';

export class Spool extends EventEmitter {
  private readonly segments: Segment[] = [];
  private cursors!: SinkCursors;
  /** The one pending tick; armed only while there is something to write, sync or save. */
  private timer: NodeJS.Timeout | undefined;
  private flushCheck: NodeJS.Immediate | undefined;
  private timerDueMs = Infinity;
  private closed = false;
  private readonly lock: SpoolLock;
  private readonly recent = new RecentRecords(RECENT_BYTES);
  private readonly reader = new SegmentReader(this.segments, this.recent, (found) => this.damaged(found));
  private readonly damage: SpoolDamage;
  private readonly holdBytes: number;
  private readonly appender: SegmentAppender;
  private readonly now: () => number;
  private readonly sync: SyncSchedule;
  private readonly retention: SegmentRetention;
  private stat = { appendedRecords: 0, droppedRecords: 0, tornRecords: 0, corruptBytes: 0, fsyncs: 0, lostRecords: 0, cursorsLost: 0 };

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
    this.sync = new SyncSchedule(options.fsyncIntervalMs, {
      active: () => this.active,
      endOffset: () => this.endPosition().offset,
      wake: (ms) => this.wake(ms),
      warn: (m) => this.warn(m),
      synced: () => { this.stat.fsyncs++; },
      isClosed: () => this.closed,
    });
    this.damage = new SpoolDamage(options.dir, (m) => this.warn(m));
    this.retention = new SegmentRetention({
      segments: this.segments,
      cursors: () => this.cursors,
      maxBytes: options.maxBytes,
      now: this.now,
      bufferedBytes: () => this.appender.bytes,
      freed: () => {
        if (!this.appender.stall) return;
        // Space was freed: the held records may fit now.
        this.appender.spaceFreed();
        this.wake(0);
      },
      cursorsMoved: () => this.sync.cursorsMoved(),
      dropped: (records) => {
        this.stat.droppedRecords += records;
        if (records > 0) this.emit('dropped', records);
      },
      warn: (m) => this.warn(m),
      isClosed: () => this.closed,
    });
    this.appender = new SegmentAppender(this.segments, { dir: options.dir, segmentBytes: options.segmentBytes, holdBytes: this.holdBytes, now: this.now }, this.appenderEvents());
    fs.mkdirSync(options.dir, { recursive: true });
    this.lock = new SpoolLock(options.dir);
    try {
      this.loadSegments();
      this.cursors = new SinkCursors(options.dir, options.sinks, this.startPosition(), this.endPosition(), this.sync.durable, (m) => this.warn(m));
      if (this.cursors.origin === 'lost') this.stat.cursorsLost++;
      this.sync.attach(this.cursors);
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
    this.sync.syncOnOpen(this.segments, this.startPosition().offset);
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

  /**
   * Keeps consumed segments until their newest record is `ms` old (the largest request
   * wins), for features that read history (readRange); the byte bound still rules.
   */
  keepHistory(ms: number): void {
    this.retention.keepHistory(ms);
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
    const p = this.cursors.get(sink);
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
    if (!this.appender.add(payload)) {
      this.stat.lostRecords++;
      return false;
    }
    if (!this.flushCheck) this.flushCheck = setImmediate(this.checkFlushed);
    return true;
  }

  /**
   * A record no flush() followed in its turn reaches the file within the fsync interval.
   * Checked at the end of the turn rather than by a tick armed per record: ingest flushes
   * after every chunk, and a timer armed and then cleared still wakes the process when it
   * would have been due (Node leaves its libuv timer set), a wake-up per chunk for nothing.
   */
  private readonly checkFlushed = (): void => {
    this.flushCheck = undefined;
    if (!this.closed && this.appender.bytes > 0) this.wake(this.options.fsyncIntervalMs);
  };

  /** Writes buffered records to the segment file and tells readers there is more. Never throws on I/O. */
  flush(): void {
    // While stalled, writes are tried on the retry's backoff, not on every chunk.
    if (this.appender.bytes === 0 || !this.appender.due()) return;
    const before = this.stat.appendedRecords;
    if (!this.appender.write()) this.retention.dropKeptHistory();
    // A write a full disk cut short still wrote whole records: readers may have them.
    if (this.stat.appendedRecords === before) return;
    if (this.appender.bytes === 0 && !this.appender.stall) this.disarmForWritten();
    this.retention.enforceBound();
    this.emit('appended');
  }

  private appenderEvents(): AppenderEvents {
    return {
      written: (records, seg, src, from, to) => {
        this.stat.appendedRecords += records;
        this.recent.written(seg.base, seg.base + seg.size - (to - from), src, from, to);
        this.sync.written();
      },
      rolled: (fsynced) => {
        if (fsynced) this.stat.fsyncs++;
        this.sync.rolled(fsynced, this.active.base);
        this.retention.rolled();
      },
      warn: (m) => this.warn(m),
      stalled: (stall) => {
        this.warn(`${stall.reason}: cannot write to ${this.options.dir} (${stall.error.message}); holding up to ${this.holdBytes} bytes of records in memory and retrying (every ${STALL_RETRY_MAX_MS / 1000} s at most)`);
        this.emit('stalled', stall.reason);
      },
      resumed: (stall) => {
        const secs = Math.round((this.now() - stall.sinceMs) / 1000);
        this.warn(`spool: writing again after ${secs} s of "${stall.error.message}"; the records held in memory are written, ${stall.lost} could not be kept`);
        this.emit('resumed', stall.lost);
      },
    };
  }

  // ---- reading ----

  /**
   * Up to `maxRecords` payloads (and roughly `maxBytes`) from `from` on. Synchronous: what
   * was just written is kept in memory (recent-records.ts), the rest sits in the page cache
   * or is read from the disk. An empty batch means caught up.
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
    const cur = this.cursors.get(sink);
    if (!cur) throw new SpoolError(`spool: unknown sink ${sink}`);
    if (pos.offset <= cur.offset) return; // stale: a drop already moved it past
    this.cursors.move(sink, pos);
    this.sync.cursorsMoved();
    this.retention.deleteConsumed();
  }

  /** All is written (at a trickle, synced too): the tick append() armed would wake for nothing. */
  private disarmForWritten(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = Infinity;
    this.sync.rearm();
  }

  private tick(): void {
    if (this.closed) return;
    this.flush();
    const stall = this.appender.stall;
    if (stall) this.wake(Math.max(0, stall.retryAtMs - performance.now()));
    this.sync.tick();
  }

  // ---- the rest ----

  stats(): SpoolStats {
    const end = this.endPosition();
    const sinks: SpoolStats['sinks'] = {};
    for (const [sink, pos] of this.cursors.entries()) {
      sinks[sink] = {
        pendingRecords: Math.max(0, end.index + this.appender.records - pos.index),
        pendingBytes: Math.max(0, end.offset + this.appender.bytes - pos.offset),
        droppedRecords: this.cursors.droppedOf(sink),
        acked: { offset: pos.offset, index: pos.index },
      };
    }
    const st = this.appender.stall;
    const writeFailing = st ? { reason: st.reason, error: st.error.message, sinceMs: st.sinceMs, heldRecords: this.appender.records, lostRecords: st.lost } : null;
    const reads = { fileReads: this.reader.fileReads, memoryReads: this.reader.memoryReads };
    return { bytes: this.retention.totalBytes(), segments: this.segments.length, ...this.stat, ...reads, writeFailing, sinks };
  }

  /**
   * Writes and fsyncs everything, saves the cursors, releases the directory. On a disk
   * that is still full, the records held in memory are lost: counted and logged, never thrown.
   */
  close(): void {
    if (this.closed) return;
    if (this.flushCheck) clearImmediate(this.flushCheck);
    let written = this.appender.write();
    if (!written) {
      this.retention.dropKeptHistory();
      written = this.appender.write();
    }
    if (!written) {
      const held = this.appender.records;
      this.stat.lostRecords += held;
      this.warn(`${this.appender.stall!.reason}: ${held} record(s) held in memory could not be written before closing and are lost`);
      this.emit('lostAtClose', held);
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.retention.close();
    this.sync.closeSync();
    for (const s of this.segments) if (s.fd >= 0) { fs.closeSync(s.fd); s.fd = -1; }
    this.lock.release();
  }
}
