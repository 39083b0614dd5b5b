/**
 * The records last written to the newest segment, kept in memory as the very bytes handed
 * to write(): a sink that is caught up reads what was just appended from here, instead of
 * reading the file back (a pread and a copy out of the page cache for every reading, the
 * largest part of draining one reading a second). A read from here gives exactly what a read
 * of the file gives; anything older than what is kept, in an older segment, or after a
 * restart is read from the file, and so is anything when these bytes do not line up.
 */
import { HEADER_BYTES, MAX_PAYLOAD } from './record-codec';

/** Bytes a reader may use: records[at, end) start at the offset asked for. */
export interface KeptBytes {
  readonly records: Buffer;
  readonly at: number;
  readonly end: number;
}

export class RecentRecords {
  private buf: Buffer | null = null;
  /** The segment the kept bytes are in (its base offset); -1: none kept. */
  private segmentBase = -1;
  /** Offset in the spool's byte stream of buf[0]. */
  private start = 0;
  private len = 0;
  /** One object, refilled by each bytesFrom(): a read per reading should not allocate. */
  private readonly kept: { records: Buffer; at: number; end: number } = { records: Buffer.alloc(0), at: 0, end: 0 };

  /** `capacity`: the most bytes kept (allocated at the first write, off the JS heap). */
  constructor(private readonly capacity: number) {}

  /**
   * src[from, to), whole records, now ends the segment that starts at `segmentBase`. A write
   * that does not continue the bytes kept (another segment, a gap) starts them anew; when
   * full, the oldest whole records make room.
   */
  written(segmentBase: number, offset: number, src: Buffer, from: number, to: number): void {
    const n = to - from;
    if (segmentBase !== this.segmentBase || offset !== this.start + this.len) {
      this.segmentBase = segmentBase;
      this.start = offset;
      this.len = 0;
    }
    if (n > this.capacity) {
      this.start = offset + n;
      this.len = 0;
      return;
    }
    if (this.len + n > this.capacity && !this.dropOldest(this.len + n - this.capacity)) {
      this.start = offset;
      this.len = 0;
    }
    if (this.buf === null) this.buf = Buffer.allocUnsafeSlow(this.capacity);
    src.copy(this.buf, this.len, from, to);
    this.len += n;
  }

  /** Forgets whole records from the front until at least `bytes` are free; false if the lengths do not add up. */
  private dropOldest(bytes: number): boolean {
    const b = this.buf!;
    let at = 0;
    while (at < bytes) {
      if (at + HEADER_BYTES > this.len) return false;
      const size = b.readUInt32LE(at + 2);
      if (size === 0 || size > MAX_PAYLOAD) return false;
      at += HEADER_BYTES + size;
    }
    if (at > this.len) return false;
    b.copyWithin(0, at, this.len);
    this.start += at;
    this.len -= at;
    return true;
  }

  /**
   * The kept bytes from `offset` on, at most `maxBytes` of them, when `offset` is inside what
   * is kept of the segment at `segmentBase`; else null. Valid until the next write.
   */
  bytesFrom(segmentBase: number, offset: number, maxBytes: number): KeptBytes | null {
    if (segmentBase !== this.segmentBase || offset < this.start || offset >= this.start + this.len) return null;
    const k = this.kept;
    k.records = this.buf!;
    k.at = offset - this.start;
    k.end = Math.min(this.len, k.at + maxBytes);
    return k;
  }

  /** Keeps nothing any more (what was kept did not line up with what a reader expected). */
  forget(): void {
    this.segmentBase = -1;
    this.len = 0;
  }
}
