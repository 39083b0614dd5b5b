/**
 * The spool's segment files: seg-<base offset, 16 digits>-<base index, 12 digits>.log,
 * append-only runs of records (record-codec.ts). Offsets are positions in one logical
 * byte stream that runs across segments; the index counts records, for "pending"
 * figures. This module names, lists, creates and checks them; spool.ts writes and reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkRecord, resync } from './record-codec';
import { fsyncDir } from './atomic-file';
import type { SpoolDamageFound } from './spool-damage';

export interface Segment {
  base: number;
  baseIndex: number;
  /** Valid bytes (the file is never longer once opened). */
  size: number;
  /** Records in it; for the segment being written, the records written so far. */
  records: number;
  file: string;
  fd: number;
  /** When it was last written (ms): how old its newest record is, for keeping history. */
  writtenAtMs: number;
}

const SEGMENT_RE = /^seg-(\d{16})-(\d{12})\.log$/;

function segmentName(base: number, baseIndex: number): string {
  return `seg-${String(base).padStart(16, '0')}-${String(baseIndex).padStart(12, '0')}.log`;
}

/** The segments in `dir`, oldest first, closed; record counts known for all but the last. */
export function listSegments(dir: string): Segment[] {
  const segments: Segment[] = [];
  const names = fs.readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).sort();
  for (const name of names) {
    const m = SEGMENT_RE.exec(name)!;
    const file = path.join(dir, name);
    const st = fs.statSync(file);
    segments.push({ base: Number(m[1]), baseIndex: Number(m[2]), size: st.size, records: 0, file, fd: -1, writtenAtMs: st.mtimeMs });
  }
  for (let i = 0; i + 1 < segments.length; i++) {
    segments[i].records = Math.max(0, segments[i + 1].baseIndex - segments[i].baseIndex);
  }
  return segments;
}

export function createSegment(dir: string, base: number, baseIndex: number, now: number): Segment {
  const file = path.join(dir, segmentName(base, baseIndex));
  const fd = fs.openSync(file, 'w+');
  fsyncDir(dir);
  return { base, baseIndex, size: 0, records: 0, file, fd, writtenAtMs: now };
}

/**
 * Scans the segment being written (open, fd set), counts its valid records and cuts a
 * torn record from its end. Each damaged run goes to `onDamage` (with its bytes, before
 * any cut): damage in the middle stays in the file and readers step over it.
 */
export function recoverTail(seg: Segment, onDamage: (found: SpoolDamageFound) => void): void {
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
    // A later valid record means damage in the middle; none means a torn tail, cut below.
    const next = resync(buf, at, n);
    if (next < 0) break;
    onDamage({ file: seg.file, offset: at, bytes: Buffer.from(buf.subarray(at, next)), why: c.kind === 'corrupt' ? c.why : 'record cut short', action: 'skipped' });
    at = next;
  }
  if (validEnd < n) {
    const c = checkRecord(buf, validEnd, n);
    const why = c.kind === 'corrupt' ? `${c.why}, no valid record after it` : 'record cut short at the end of the file, as power loss mid-write leaves it';
    onDamage({ file: seg.file, offset: validEnd, bytes: Buffer.from(buf.subarray(validEnd, n)), why, action: 'cut' });
    fs.ftruncateSync(seg.fd, validEnd);
    fs.fsyncSync(seg.fd);
    seg.size = validEnd;
  }
  seg.records = records;
}
