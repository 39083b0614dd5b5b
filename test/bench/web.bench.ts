/**
 * The page's 7-day chart over a full week in the spool: 604,800 readings (one a second),
 * written as the bridge writes them (firmware line → decoder → spool record). In the same
 * run, on the same spool:
 *   raw      every record of the range read from the spool, untouched (the floor: I/O and
 *            record checks);
 *   parse    the same, each record JSON.parse'd (what a naive endpoint would do);
 *   chart    GET /api/chart?range=7d&width=1000 over HTTP from the web feature: time to
 *            the last byte and the bytes sent (min/max per column of every series).
 * Plus the feature's start (the week scanned for events and the newest reading).
 * The goal (issue 19): a week loads in well under a second.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeLine, encodeReading, fastReading, ReadingFrame } from '../../protocol';
import { Spool } from '../../bridge/src/spool/spool';
import { encodeSpooledFrame } from '../../bridge/src/spool/spooled-frame';
import { HISTORY_SINK } from '../../bridge/src/web/history-retention';
import { chartWindow } from '../../bridge/src/web/chart-data';
import { SUMMARY_MS } from '../../bridge/src/web/summary-store';
import { RANGES, WebFeature } from '../../bridge/src/web/web-feature';
import { makeTempDir, removeDir } from '../helpers/services';
import type { BenchRow } from './bench-row';

const READINGS = Number(process.env.WEB_BENCH_READINGS ?? 604800);
const RUNS = 5;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function fillSpool(spool: Spool, endMs: number): number {
  let bytes = 0;
  for (let i = 0; i < READINGS; i++) {
    const day = Math.sin((i % 86400) / 86400 * 2 * Math.PI);
    const line = encodeReading({
      seq: i + 1, boot: 1, up: i, bv: Math.round((12.8 + day * 0.9 + (i % 7) * 0.001) * 1000) / 1000, ba: Math.round(day * 12000) / 1000, bw: Math.round(day * 150 * 100) / 100,
      lv: 12.7, la: Math.round((1.5 + (i % 13) / 100) * 1000) / 1000, lw: 19.1, sv: day > 0 ? Math.round((14 + day * 5) * 1000) / 1000 : 0.2, chg: day < 0 ? 1 : 0,
      why: day < 0 ? 'sun_down' : 'released', mode: 'auto', flt: 0, bahi: i / 1000, baho: i / 2000, bwhi: i / 80, bwho: i / 160, lahi: 0, laho: i / 2400, lwhi: 0, lwho: i / 190,
    });
    const f = (fastReading(line) ?? (decodeLine(line) as { frame: ReadingFrame }).frame) as ReadingFrame;
    const p = encodeSpooledFrame(endMs - (READINGS - 1 - i) * 1000, f);
    bytes += p.length;
    spool.append(p);
    if (i % 5000 === 4999) spool.flush();
  }
  spool.flush();
  return bytes;
}

export async function run(): Promise<BenchRow[]> {
  const dir = makeTempDir('web-bench');
  const rows: BenchRow[] = [];
  try {
    const spool = Spool.open({ dir: path.join(dir, 'spool'), maxBytes: 1024 * 1024 * 1024, segmentBytes: 8 * 1024 * 1024, fsyncIntervalMs: 1000, sinks: [HISTORY_SINK] });
    // The newest reading just before a column boundary, so the 7-day window holds the whole week.
    const column = chartWindow(RANGES['7d'], 1000, 0, SUMMARY_MS).columnMs;
    const end = Math.floor(Date.now() / column) * column - 1;
    let t = performance.now();
    const bytes = fillSpool(spool, end);
    console.log(`spool: ${READINGS} readings, ${(bytes / 1e6).toFixed(1)} MB of records, ${spool.stats().segments} segments, written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const raw: number[] = [];
    const parse: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      let n = 0;
      let pos = spool.startPosition();
      for (;;) {
        const v = spool.readEach(pos, 20000, 8 * 1024 * 1024, () => { n++; });
        if (v.count === 0) break;
        pos = v.next;
      }
      raw.push(performance.now() - t);
      if (n !== READINGS) throw new Error(`raw read saw ${n} records`);
      t = performance.now();
      let sum = 0;
      pos = spool.startPosition();
      for (;;) {
        const v = spool.readEach(pos, 20000, 8 * 1024 * 1024, (buf, s, e) => { sum += (JSON.parse(buf.toString('latin1', s, e)) as { frame: { bv: number } }).frame.bv; });
        if (v.count === 0) break;
        pos = v.next;
      }
      parse.push(performance.now() - t);
      if (!(sum > 0)) throw new Error('parse pass read nothing');
    }

    const web = new WebFeature({
      spool, historyBudgetBytes: 1024 * 1024 * 1024, health: () => ({ healthy: true }), linkUp: () => false, token: '', version: 'bench', now: () => end,
    });
    t = performance.now();
    await web.start();
    const startMs = performance.now() - t;
    const server = http.createServer((q, s) => { if (!web.handle(q, s)) s.writeHead(404).end(); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/chart?range=7d&width=1000`;
    const chart: number[] = [];
    let size = 0;
    let points = 0;
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      const res = await fetch(url);
      const body = await res.text();
      chart.push(performance.now() - t);
      size = Buffer.byteLength(body);
      const j = JSON.parse(body) as { points: number; readings: number };
      if (j.readings !== READINGS) throw new Error(`chart binned ${j.readings} readings`);
      points = j.points;
    }
    server.close();
    web.close();
    spool.close();

    const ms = (x: number): string => `${x.toFixed(0)} ms`;
    console.log('| what (same spool, same run) | median of 5 | per reading |');
    console.log('|---|---|---|');
    console.log(`| raw: read every record of the week | ${ms(median(raw))} | ${(median(raw) * 1e6 / READINGS).toFixed(0)} ns |`);
    console.log(`| JSON.parse every record | ${ms(median(parse))} | ${(median(parse) * 1e6 / READINGS).toFixed(0)} ns |`);
    console.log(`| GET /api/chart?range=7d&width=1000 (to the last byte) | ${ms(median(chart))} | ${(median(chart) * 1e6 / READINGS).toFixed(0)} ns |`);
    console.log(`| web feature start (week scanned for events) | ${ms(startMs)} | |`);
    console.log(`chart response: ${size} bytes, ${points} points (columns), ${(bytes / size).toFixed(0)}× smaller than the records`);
    rows.push({ what: `web: 7-day chart over ${READINGS.toLocaleString('en')} readings`, value: `${ms(median(chart))}, ${(size / 1024).toFixed(0)} KB (raw read ${ms(median(raw))})`, goal: '< 1 s', met: median(chart) < 1000 });
  } finally {
    removeDir(dir);
  }
  return rows;
}
