/**
 * Walks the spool's records from its oldest on, handing readings (scanned, see
 * record-scan.ts) and event frames (parsed: they are rare) to the caller. The spool has
 * no index by time, so a range read is a sequential pass over the page cache; records
 * older than `fromMs` cost only their timestamp.
 */
import type { EventFrame } from '../../../protocol';
import type { SpoolPosition, SpoolVisit } from '../spool/spool';
import { ScannedReading, newScannedReading, recordTs, recordType, scanReading } from './record-scan';

/** The part of the spool a reader needs (the Spool class, or the core's range reader). */
export interface SpoolReader {
  startPosition(): SpoolPosition;
  /** Where the newest records start (see Spool.tailPosition). */
  tailPosition(): SpoolPosition;
  readEach(from: SpoolPosition, maxRecords: number, maxBytes: number, visit: (buf: Buffer, start: number, end: number) => void): SpoolVisit;
}

export interface ScanVisitor {
  reading?(r: ScannedReading): void;
  event?(ts: number, e: EventFrame): void;
}

export interface ScanResult {
  records: number;
  bytes: number;
}

/** Bounded: stops after `maxRecords` records in all (a spool is at most a few GB). */
export function scanSpool(spool: SpoolReader, fromMs: number, visitor: ScanVisitor, maxRecords = 50_000_000): ScanResult {
  const r = newScannedReading();
  let pos = spool.startPosition();
  let records = 0;
  let bytes = 0;
  const wantEvents = visitor.event !== undefined;
  while (records < maxRecords) {
    const v = spool.readEach(pos, 20000, 8 * 1024 * 1024, (buf, start, end) => {
      bytes += end - start;
      const ts = recordTs(buf, start, end);
      if (ts < fromMs) return;
      const type = recordType(buf, start, end);
      if (type === 'R') {
        if (!visitor.reading) return;
        scanReading(buf, start, end, ts, r);
        visitor.reading(r);
      } else if (type === 'E' && wantEvents) {
        try {
          const o = JSON.parse(buf.toString('latin1', start, end)) as { frame: EventFrame };
          visitor.event!(ts, o.frame);
        } catch {
          // The record's CRC passed, so this is not damage; a record this bridge cannot read is skipped.
        }
      }
    });
    if (v.count === 0) break;
    records += v.count;
    pos = v.next;
  }
  return { records, bytes };
}
