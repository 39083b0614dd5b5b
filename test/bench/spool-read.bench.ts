/**
 * What the sinks' reads of each record just appended cost, per reading, with two sinks (the
 * bridge's MQTT and InfluxDB) each reading it: from the copy of the written bytes the spool keeps in memory (a sink that is caught up)
 * beside the same reads from the segment file (a sink behind, after a restart; before the
 * copy was kept, every read). Time of this process per reading, CPU-bound (no waits). The
 * file is in the page cache here, as it is right after the write; the first touch of a
 * cold process costs more (the figure is a floor for the file's way).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spool, SpoolPosition, encodeSpooledFrame } from '../../bridge/src';
import { decodeLine } from '../../protocol';
import { readingLine } from '../bridge/helpers/frames';
import type { BenchRow } from './bench-row';

const READINGS = 20000;
const SINKS = ['mqtt', 'influx'];

function payload(seq: number): string {
  const d = decodeLine(readingLine(seq));
  if (!d.ok || d.frame.type !== 'R') throw new Error('bench reading does not decode');
  return encodeSpooledFrame(1795572126289 + seq * 1000, d.frame);
}

/** µs per reading for every sink's read of it; `append` runs untimed before them. */
function drainEach(spool: Spool, append: (seq: number) => void): number {
  const pos = new Map<string, SpoolPosition>(SINKS.map((s) => [s, spool.ackedPosition(s)]));
  let bytes = 0;
  const visit = (buf: Buffer, start: number, end: number): void => { bytes += end - start + buf[start]; };
  let ns = 0n;
  for (let seq = 1; seq <= READINGS; seq++) {
    append(seq);
    const t0 = process.hrtime.bigint();
    for (const sink of SINKS) {
      const b = spool.readEach(pos.get(sink)!, 1, 1 << 20, visit);
      if (b.count !== 1) throw new Error(`${sink} read ${b.count} records of reading ${seq}`);
      pos.set(sink, b.next);
    }
    ns += process.hrtime.bigint() - t0;
  }
  if (bytes === 0) throw new Error('nothing read');
  return Number(ns) / 1000 / READINGS;
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-read-bench-'));
  try {
    const options = { dir, maxBytes: 1 << 30, segmentBytes: 64 << 20, fsyncIntervalMs: 3_600_000, sinks: SINKS };
    const payloads = Array.from({ length: READINGS }, (_, i) => payload(i + 1));
    let spool = Spool.open(options);
    const memoryUs = drainEach(spool, (seq) => {
      spool.append(payloads[seq - 1]);
      spool.flush();
    });
    const live = spool.stats();
    spool.close();
    // Reopened, nothing is kept in memory: the same records, read the same way, from the file.
    spool = Spool.open(options);
    const fileUs = drainEach(spool, () => undefined);
    const after = spool.stats();
    spool.close();
    if (live.fileReads !== 0 || after.memoryReads !== 0) throw new Error(`reads not where expected: ${live.fileReads} from the file live, ${after.memoryReads} from memory after reopening`);
    console.log(`| ${READINGS} readings of ${payloads[0].length} bytes, ${SINKS.length} sinks | µs per reading (all sinks) | reads from memory | reads of the file |`);
    console.log('|---|---:|---:|---:|');
    console.log(`| caught up: the copy kept in memory | ${memoryUs.toFixed(2)} | ${live.memoryReads} | ${live.fileReads} |`);
    console.log(`| the segment file (page cache) | ${fileUs.toFixed(2)} | ${after.memoryReads} | ${after.fileReads} |`);
    return [
      { what: `spool read of each new reading, ${SINKS.length} sinks`, value: `${memoryUs.toFixed(1)} µs from memory (from the file: ${fileUs.toFixed(1)} µs)`, goal: '', met: null },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
