/**
 * The durable spool: every accepted frame is appended here before any sink sees it, and
 * each sink drains it at its own pace, moving its cursor only when its server confirmed.
 *
 * On disk (one directory):
 *   seg-<base offset, 16 digits>-<base index, 12 digits>.log   append-only segments of
 *       records (record-codec.ts). Offsets are positions in one logical byte stream that
 *       runs across segments; the index counts records, for "pending" figures.
 *   cursor-<sink>.json   { offset, index } of the first record the sink has NOT had
 *       confirmed; replaced atomically.
 *   lock                 pid of the bridge using the directory.
 *
 * Writes are batched in memory and written with one write() per batch (the caller calls
 * flush() after each chunk from the source); fsync runs on a short timer and on close.
 * A SIGKILL loses nothing that was written (the page cache survives the process); power
 * loss loses at most the last fsync interval, and the torn tail it leaves is detected and
 * cut on the next open. Segments are deleted once every sink is past them; when the spool
 * exceeds its byte bound the oldest segment is dropped and what each sink lost is counted.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { HEADER_BYTES, MAX_PAYLOAD, checkRecord, recordSize, resync, writeRecord } from './record-codec';
import { fsyncDir, writeFileAtomicSync } from './atomic-file';

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
}

/** A place in the spool: byte offset in the logical stream, and records before it. */
export interface SpoolPosition {
  offset: number;
  index: number;
}

export interface SpoolBatch {
  payloads: string[];
  /** Where the next read continues; ack() this once the payloads are confirmed. */
  next: SpoolPosition;
  /** Records that were dropped (byte bound) between the position asked for and the batch. */
  skippedDropped: number;
}

export interface SpoolVisit {
  /** Records handed to the visitor. */
  count: number;
  next: SpoolPosition;
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

interface Segment {
  base: number;
  baseIndex: number;
  /** Valid bytes (the file is never longer once opened). */
  size: number;
  /** Records in it; for the segment being written, the records written so far. */
  records: number;
  file: string;
  fd: number;
}

const READ_WINDOW = 256 * 1024;
const SEGMENT_RE = /^seg-(\d{16})-(\d{12})\.log$/;
const CURSOR_RE = /^cursor-([A-Za-z0-9_.-]+)\.json$/;

function segmentName(base: number, baseIndex: number): string {
  return `seg-${String(base).padStart(16, '0')}-${String(baseIndex).padStart(12, '0')}.log`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SpoolError extends Error {}

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
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readBuf: Buffer = Buffer.allocUnsafe(0);
  private readonly lockFile: string;
  private stat = { appendedRecords: 0, droppedRecords: 0, tornRecords: 0, corruptBytes: 0, fsyncs: 0 };

  /** Opens (or creates) the spool, cutting a torn tail and loading the sink cursors. */
  static open(options: SpoolOptions): Spool {
    return new Spool(options);
  }

  private constructor(private readonly options: SpoolOptions) {
    super();
    if (options.segmentBytes < HEADER_BYTES + MAX_PAYLOAD) throw new SpoolError(`spool segment size ${options.segmentBytes} is too small`);
    if (options.maxBytes < 2 * options.segmentBytes) throw new SpoolError(`spool max bytes ${options.maxBytes} must be at least twice the segment size ${options.segmentBytes}`);
    fs.mkdirSync(options.dir, { recursive: true });
    this.lockFile = path.join(options.dir, 'lock');
    this.takeLock();
    try {
      this.loadSegments();
      this.loadCursors();
    } catch (e) {
      this.releaseLock();
      throw e;
    }
    this.timer = setInterval(() => this.tick(), options.fsyncIntervalMs);
    this.timer.unref();
  }

  // ---- opening ----

  private takeLock(): void {
    try {
      const held = Number(fs.readFileSync(this.lockFile, 'utf8').trim());
      if (Number.isInteger(held) && held > 0 && held !== process.pid && pidAlive(held)) {
        throw new SpoolError(`spool directory ${this.options.dir} is in use by process ${held}`);
      }
    } catch (e) {
      if (e instanceof SpoolError) throw e;
      // No lock file, or an unreadable one left by a crash: ours to take.
    }
    writeFileAtomicSync(this.lockFile, String(process.pid) + '\n');
  }

  private releaseLock(): void {
    try {
      if (fs.readFileSync(this.lockFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(this.lockFile);
    } catch {
      // Already gone.
    }
  }

  private loadSegments(): void {
    const names = fs.readdirSync(this.options.dir).filter((n) => SEGMENT_RE.test(n)).sort();
    for (const name of names) {
      const m = SEGMENT_RE.exec(name)!;
      const file = path.join(this.options.dir, name);
      const size = fs.statSync(file).size;
      this.segments.push({ base: Number(m[1]), baseIndex: Number(m[2]), size, records: 0, file, fd: -1 });
    }
    for (let i = 0; i + 1 < this.segments.length; i++) {
      this.segments[i].records = Math.max(0, this.segments[i + 1].baseIndex - this.segments[i].baseIndex);
    }
    if (this.segments.length === 0) {
      this.createSegment(0, 0);
      return;
    }
    const last = this.segments[this.segments.length - 1];
    last.fd = fs.openSync(last.file, 'r+');
    this.recoverTail(last);
  }

  /** Scans the segment being written, counts its records and cuts anything invalid at its end. */
  private recoverTail(seg: Segment): void {
    const buf = Buffer.allocUnsafe(seg.size);
    const n = seg.size > 0 ? fs.readSync(seg.fd, buf, 0, seg.size, 0) : 0;
    let at = 0;
    let validEnd = 0;
    let records = 0;
    while (at < n) {
      const c = checkRecord(buf, at, n);
      if (c.kind === 'record') {
        records++;
        at = c.end;
        validEnd = at;
        continue;
      }
      // Torn or damaged: a later valid record means damage in the middle (kept and
      // skipped by readers); none means a torn tail, which is cut.
      const next = resync(buf, at, n);
      if (next < 0) break;
      this.stat.corruptBytes += next - at;
      this.emit('warning', `spool: ${next - at} damaged bytes in ${path.basename(seg.file)} at ${at}, skipped`);
      at = next;
    }
    if (validEnd < seg.size) {
      this.stat.tornRecords++;
      this.emit('warning', `spool: torn record at the end of ${path.basename(seg.file)} (${seg.size - validEnd} bytes after offset ${validEnd}), cut`);
      fs.ftruncateSync(seg.fd, validEnd);
      fs.fsyncSync(seg.fd);
      seg.size = validEnd;
    }
    seg.records = records;
  }

  private loadCursors(): void {
    const start = this.startPosition();
    const end = this.endPosition();
    const found = new Map<string, SpoolPosition>();
    for (const name of fs.readdirSync(this.options.dir)) {
      const m = CURSOR_RE.exec(name);
      if (!m) continue;
      try {
        const c = JSON.parse(fs.readFileSync(path.join(this.options.dir, name), 'utf8')) as SpoolPosition;
        if (Number.isSafeInteger(c.offset) && Number.isSafeInteger(c.index)) found.set(m[1], { offset: c.offset, index: c.index });
      } catch {
        this.emit('warning', `spool: unreadable cursor file ${name}, that sink starts from the oldest record`);
      }
    }
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

  private createSegment(base: number, baseIndex: number): Segment {
    const file = path.join(this.options.dir, segmentName(base, baseIndex));
    const fd = fs.openSync(file, 'w+');
    fsyncDir(this.options.dir);
    const seg: Segment = { base, baseIndex, size: 0, records: 0, file, fd };
    this.segments.push(seg);
    return seg;
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
    this.stat.appendedRecords += this.pendingRecords;
    this.pendingBytes = 0;
    this.pendingRecords = 0;
    this.needsFsync = true;
    // The buffer grows for bursts; shrink it back so a burst does not pin memory.
    if (this.pending.length > 4 * 1024 * 1024) this.pending = Buffer.allocUnsafe(256 * 1024);
  }

  private roll(): void {
    const old = this.active;
    fs.fsyncSync(old.fd);
    this.stat.fsyncs++;
    fs.closeSync(old.fd);
    old.fd = -1;
    this.createSegment(old.base + old.size, old.baseIndex + old.records);
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

  private segmentAt(offset: number): number {
    for (let i = this.segments.length - 1; i >= 0; i--) if (offset >= this.segments[i].base) return i;
    return -1;
  }

  private readFd(seg: Segment): number {
    if (seg.fd < 0) seg.fd = fs.openSync(seg.file, 'r');
    return seg.fd;
  }

  /**
   * Up to `maxRecords` payloads (and roughly `maxBytes`) from `from` on. Synchronous: the
   * data was just written and sits in the page cache. An empty batch means caught up.
   */
  read(from: SpoolPosition, maxRecords: number, maxBytes: number): SpoolBatch {
    const payloads: string[] = [];
    const r = this.readEach(from, maxRecords, maxBytes, (buf, start, end) => { payloads.push(buf.toString('latin1', start, end)); });
    return { payloads, next: r.next, skippedDropped: r.skippedDropped };
  }

  /**
   * As read(), but hands each payload to `visit` as bytes buf[start, end) instead of
   * making a string of it: sinks copy what they send straight from the read window, so
   * a batch costs no per-record objects. `buf` is reused: visit must not keep it.
   */
  readEach(from: SpoolPosition, maxRecords: number, maxBytes: number, visit: (buf: Buffer, start: number, end: number) => void): SpoolVisit {
    let count = 0;
    let offset = from.offset;
    let index = from.index;
    let bytes = 0;
    let skippedDropped = 0;
    const start = this.startPosition();
    if (offset < start.offset) {
      skippedDropped = Math.max(0, start.index - index);
      offset = start.offset;
      index = start.index;
    }
    while (count < maxRecords && bytes < maxBytes) {
      const i = this.segmentAt(offset);
      if (i < 0) break;
      const seg = this.segments[i];
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
      if (this.readBuf.length < want) this.readBuf = Buffer.allocUnsafe(Math.max(want, 64 * 1024));
      const buf = this.readBuf;
      const got = fs.readSync(this.readFd(seg), buf, 0, want, rel);
      let at = 0;
      while (at < got && count < maxRecords) {
        const c = checkRecord(buf, at, got);
        if (c.kind === 'record') {
          visit(buf, at + HEADER_BYTES, c.end);
          count++;
          bytes += c.end - at;
          index++;
          at = c.end;
          continue;
        }
        if (c.kind === 'incomplete' && rel + got < seg.size) break; // the record goes on past this window
        // Damage, or a record torn at the end of an older segment (power loss before its
        // fsync): skip to the next valid record in this segment, or to its end.
        const damagedAt = rel + at;
        const resume = this.skipDamage(seg, damagedAt);
        this.stat.corruptBytes += resume - damagedAt;
        this.emit('warning', `spool: ${resume - damagedAt} damaged bytes in ${path.basename(seg.file)} at ${damagedAt}, skipped`);
        at = resume - rel;
        break;
      }
      if (at === 0) break;
      offset += at;
    }
    return { count, next: { offset, index }, skippedDropped };
  }

  /** Offset within `seg` of the next valid record after damage at `at`, or the segment's end. */
  private skipDamage(seg: Segment, at: number): number {
    const len = seg.size - at;
    const buf = Buffer.allocUnsafe(len);
    const got = fs.readSync(this.readFd(seg), buf, 0, len, at);
    const next = resync(buf, 0, got);
    return next < 0 ? seg.size : at + next;
  }

  // ---- acknowledging ----

  /** The sink's server confirmed everything before `pos`. */
  ack(sink: string, pos: SpoolPosition): void {
    const cur = this.acked.get(sink);
    if (!cur) throw new SpoolError(`spool: unknown sink ${sink}`);
    if (pos.offset <= cur.offset) return; // stale: a drop already moved it past
    this.acked.set(sink, { offset: pos.offset, index: pos.index });
    this.dirtyCursors.add(sink);
    this.deleteConsumed();
  }

  private deleteConsumed(): void {
    let min = Infinity;
    for (const pos of this.acked.values()) min = Math.min(min, pos.offset);
    while (this.segments.length > 1 && this.segments[0].base + this.segments[0].size <= min) this.removeOldest();
  }

  private saveCursors(): void {
    for (const sink of this.dirtyCursors) {
      const pos = this.acked.get(sink)!;
      writeFileAtomicSync(path.join(this.options.dir, `cursor-${sink}.json`), JSON.stringify(pos) + '\n');
    }
    this.dirtyCursors.clear();
  }

  private tick(): void {
    if (this.closed) return;
    this.ticks++;
    this.flush();
    if (this.needsFsync && !this.fsyncing) {
      const fd = this.active.fd;
      this.needsFsync = false;
      this.fsyncing = true;
      fs.fsync(fd, (err) => {
        this.fsyncing = false;
        if (err && !this.closed) this.emit('warning', `spool: fsync failed: ${err.message}`);
        else this.stat.fsyncs++;
      });
    }
    // Cursors after data: a cursor must never be durable ahead of what it points past.
    // At most once a second: each save is two fsyncs on the event loop, and a stale
    // cursor after a crash only means some records are delivered twice.
    if (this.ticks * this.options.fsyncIntervalMs >= 1000) {
      this.ticks = 0;
      this.saveCursors();
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
    if (this.timer) clearInterval(this.timer);
    const a = this.active;
    fs.fsyncSync(a.fd);
    this.stat.fsyncs++;
    this.saveCursors();
    for (const s of this.segments) if (s.fd >= 0) { fs.closeSync(s.fd); s.fd = -1; }
    this.releaseLock();
  }
}
