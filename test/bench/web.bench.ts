/**
 * The page's 7-day chart over a full week in the spool: 604,800 readings (one a second),
 * written as the bridge writes them (firmware line → decoder → spool record), then a real
 * bridge started on that spool with the web feature and a probe feature. In the same run:
 *   readRange  core.spool.readRange over the week (every record decoded): what each chart
 *              request would cost if it read the spool instead of the page's 10 s summaries;
 *   chart      GET /api/chart?range=7d&width=1000 over HTTP from the bridge: time to the
 *              last byte and the bytes sent (min/max per column of every series);
 *   start      the bridge's start with the web page (the week read once into summaries and
 *              events) against the same bridge without it.
 * The goal (issue 19): a week loads in well under a second.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeLine, encodeReading, fastReading, ReadingFrame } from '../../protocol';
import { Bridge, BridgeCore, FeatureDefinition, SUMMARY_MS, Spool, WEB_RANGES, chartWindow, encodeSpooledFrame, silentLogger, webFeature } from '../../bridge/src';
import { configFrom } from '../bridge/helpers/bridge-harness';
import { LineServer, makeTempDir, removeDir } from '../helpers/services';
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

/** A feature that only hands its core to the bench. */
function probe(got: (core: BridgeCore) => void): FeatureDefinition {
  return { name: 'probe', enabled: () => true, create: (core) => { got(core); return { start() {}, stop() {} }; } };
}

export async function run(): Promise<BenchRow[]> {
  const dir = makeTempDir('web-bench');
  const mcu = await LineServer.start();
  const rows: BenchRow[] = [];
  try {
    const spoolDir = path.join(dir, 'spool');
    const spool = Spool.open({ dir: spoolDir, maxBytes: 1024 * 1024 * 1024, segmentBytes: 8 * 1024 * 1024, fsyncIntervalMs: 1000, sinks: [] });
    // The newest reading just before a column boundary, so a 7-day window ending there holds the whole week.
    const column = chartWindow(WEB_RANGES['7d'], 1000, 0, SUMMARY_MS).columnMs;
    const end = Math.floor(Date.now() / column) * column - 1;
    let t = performance.now();
    const bytes = fillSpool(spool, end);
    console.log(`spool: ${READINGS} readings, ${(bytes / 1e6).toFixed(1)} MB of records, ${spool.stats().segments} segments, written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    spool.close();

    const config = configFrom({ 'source.url': mcu.url, 'spool.dir': spoolDir, 'spool.max_bytes': 1024 * 1024 * 1024, 'spool.segment_bytes': 8 * 1024 * 1024, 'http.listen': '127.0.0.1:0' });
    const startBridge = async (features: FeatureDefinition[]): Promise<{ bridge: Bridge; ms: number }> => {
      const bridge = new Bridge({ config, log: silentLogger, version: 'bench', features });
      const t0 = performance.now();
      await bridge.start();
      return { bridge, ms: performance.now() - t0 };
    };

    // Without the web page nothing asks the spool to keep history, but no sink confirms
    // anything here either, so the bare bridge first deletes nothing.
    let core: BridgeCore | null = null;
    const bare = await startBridge([probe((c) => { core = c; })]);
    await bare.bridge.stop();
    const withWeb = await startBridge([webFeature, probe((c) => { core = c; })]);
    const c = core as BridgeCore | null;
    if (!c) throw new Error('probe feature never created');

    const range: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      let n = 0;
      let sum = 0;
      c.spool.readRange(end - WEB_RANGES['7d'], end + 1, (rec) => { n++; if (rec.frame.type === 'R') sum += rec.frame.bv ?? 0; });
      range.push(performance.now() - t);
      if (n !== READINGS || !(sum > 0)) throw new Error(`readRange saw ${n} records`);
    }

    const url = `http://127.0.0.1:${withWeb.bridge.healthPort()}/api/chart?range=7d&width=1000`;
    const chart: number[] = [];
    let size = 0;
    let points = 0;
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      const res = await fetch(url);
      const body = await res.text();
      chart.push(performance.now() - t);
      size = Buffer.byteLength(body);
      const j = JSON.parse(body) as { points: number; readings: number; from_ms: number };
      // The window ends with the bridge's clock, which may have moved a column on since the
      // fill: then the oldest few minutes of the week fall before it.
      const inWindow = Math.min(READINGS, Math.floor((end - j.from_ms) / 1000) + 1);
      if (j.readings !== inWindow) throw new Error(`chart binned ${j.readings} readings, ${inWindow} in its window`);
      points = j.points;
    }
    await withWeb.bridge.stop();

    const ms = (x: number): string => `${x.toFixed(0)} ms`;
    console.log('| what (same spool, same run) | median of 5 | per reading |');
    console.log('|---|---|---|');
    console.log(`| core.spool.readRange over the week (decoded) | ${ms(median(range))} | ${(median(range) * 1e6 / READINGS).toFixed(0)} ns |`);
    console.log(`| GET /api/chart?range=7d&width=1000 (to the last byte) | ${ms(median(chart))} | ${(median(chart) * 1e6 / READINGS).toFixed(0)} ns |`);
    console.log(`| bridge start with the web page (week read once) | ${ms(withWeb.ms)} (without: ${ms(bare.ms)}) | |`);
    console.log(`chart response: ${size} bytes, ${points} points (columns), ${(bytes / size).toFixed(0)}× smaller than the records`);
    rows.push({ what: `web: 7-day chart over ${READINGS.toLocaleString('en')} readings`, value: `${ms(median(chart))}, ${(size / 1024).toFixed(0)} KB (readRange of the week ${ms(median(range))})`, goal: '< 1 s', met: median(chart) < 1000 });
  } finally {
    await mcu.close();
    removeDir(dir);
  }
  return rows;
}
