/**
 * The web feature's pure parts: the record scanner against JSON.parse on real records,
 * min/max per column, events derived from readings, the token check, and the history
 * cursor against a real spool.
 */
import assert from 'node:assert/strict';
import { decodeLine, encodeReading, fastReading, Reading, ReadingFrame } from '../../protocol';
import {
  ChartBuilder, EventLog, KEY_INDEX, MAINS_SUSPECT_MS, SCANNED_KEYS, SUMMARY_MS, ScannedReading, SummaryStore, checkToken, chartWindow,
  decodeSpooledFrame, encodeSpooledFrame, faultWords, newScannedReading, parseThresholds, reasonWords, scanFrame,
} from '../../bridge/src';

function reading(i: number, over: Partial<Reading> = {}): Reading {
  return {
    seq: i + 1, boot: 3, up: i, bv: 12 + (i % 100) / 97, ba: ((i % 37) - 18) / 7.3, bw: 1.5, lv: 12.9, la: 1.234 + i / 1000, lw: 15.93,
    sv: i % 5 === 0 ? null : 18.25, chg: (i % 3 === 0 ? 1 : 0) as 0 | 1, why: i % 3 === 0 ? 'sun_down' : 'released', mode: 'auto', flt: i % 11,
    bahi: 1, baho: 2, bwhi: 3, bwho: 4, lahi: 0, laho: 5, lwhi: 0, lwho: 6, ...over,
  };
}

/** A reading as the bridge spools it: the firmware's line, decoded, stamped. */
function record(r: Reading, ts: number): string {
  const line = encodeReading(r);
  const f = (fastReading(line) ?? (decodeLine(line) as { frame: ReadingFrame }).frame) as ReadingFrame;
  return encodeSpooledFrame(ts, f);
}

/** What the page takes from a spooled record, as the live stream and the spool hand it over (decoded). */
function scan(payload: string, out: ScannedReading): ScannedReading {
  const rec = decodeSpooledFrame(payload);
  assert.ok(rec && rec.frame.type === 'R', payload);
  return scanFrame(rec.ts, rec.frame, out);
}

describe('web feature: pure parts', () => {
  it('the page takes every key it uses from a spooled reading, NaN for absent or null', () => {
    const out = newScannedReading();
    for (let i = 0; i < 500; i++) {
      const payload = record(reading(i, i % 7 === 0 ? { sa: -0.25, sw: null } : {}), 1_790_000_000_000 + i * 1000);
      const withExtra = i % 9 === 0 ? payload.replace(/}}$/, ',"extra":{"soc":87.5,"x":"y"}}}') : payload;
      scan(withExtra, out);
      const o = JSON.parse(withExtra) as { ts: number; frame: { [k: string]: unknown; extra?: { [k: string]: unknown } } };
      assert.equal(out.ts, o.ts);
      for (const k of SCANNED_KEYS) {
        const want = k === 'soc' ? o.frame.extra?.soc : o.frame[k];
        const got = out.v[KEY_INDEX[k]];
        if (typeof want === 'number') assert.equal(got, want, `${k} of ${withExtra}`);
        else assert.ok(Number.isNaN(got), `${k} absent or null in ${withExtra}, scanned ${got}`);
      }
      assert.equal(out.why, o.frame.why);
      assert.equal(out.mode, o.frame.mode);
    }
  });

  it('a chart keeps min and max per column and counts the columns that hold readings', () => {
    const w = chartWindow(24 * 3600 * 1000, 1000, 1_790_000_000_000);
    assert.equal(w.columnMs, 86400);
    assert.equal(w.toMs % w.columnMs, 0, 'columns aligned to multiples of their width');
    assert.ok(w.toMs > 1_790_000_000_000 && w.toMs - w.columns * w.columnMs === w.fromMs);
    const b = new ChartBuilder(w);
    const r = newScannedReading();
    const cols = new Set<number>();
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < 20000; i++) {
      // Readings every 2 s, with a six-hour hole in the middle.
      const ts = w.fromMs + 3 * 3600_000 + i * 2000 + (i > 10000 ? 6 * 3600_000 : 0);
      scan(record(reading(i), ts), r);
      b.add(r);
      cols.add(Math.floor((ts - w.fromMs) / w.columnMs));
      if (Math.floor((ts - w.fromMs) / w.columnMs) === 200) { lo = Math.min(lo, r.v[0]); hi = Math.max(hi, r.v[0]); }
    }
    const j = b.toJson();
    assert.equal(j.points, cols.size);
    assert.equal(j.t.length, cols.size);
    assert.equal(j.readings, 20000);
    const at = j.t.indexOf((w.fromMs + 200 * w.columnMs) / 1000);
    assert.ok(at >= 0);
    assert.equal(j.series.bv.min[at], Math.round(lo * 1000) / 1000);
    assert.equal(j.series.bv.max[at], Math.round(hi * 1000) / 1000);
    assert.equal(j.series.soc, undefined, 'no SoC series when no reading carries one');
    assert.ok(j.charger_on.every((x) => x >= 0 && x <= 1));
  });

  it('a chart from the 10 s summaries is the chart from the readings themselves', () => {
    const end = 1_790_000_123_456;
    for (const [span, width] of [[86400_000, 1000], [7 * 86400_000, 1000], [7 * 86400_000, 333]]) {
      const w = chartWindow(span, width, end, SUMMARY_MS);
      assert.equal(w.columnMs % SUMMARY_MS, 0);
      assert.ok(w.columns <= width && w.columns * w.columnMs >= span);
      const direct = new ChartBuilder(w);
      const store = new SummaryStore(8 * 86400_000);
      const r = newScannedReading();
      // Nine days every 7 s (the oldest falls out of the ring), with jitter.
      for (let ts = end - 9 * 86400_000, i = 0; ts <= end; ts += 7000 + (i % 3), i++) {
        scan(record(reading(i), ts), r);
        direct.add(r);
        store.add(r);
      }
      const viaStore = new ChartBuilder(w);
      store.fill(viaStore);
      const a = direct.toJson();
      const b = viaStore.toJson();
      assert.ok(a.points > 100);
      assert.deepEqual({ ...b, newest_ms: 0 }, { ...a, newest_ms: 0 }, `span ${span}, width ${width}`);
    }
  });

  it('events: faults raised and cleared, a mains outage inferred and its end, threshold changes', () => {
    const log = new EventLog();
    const r = newScannedReading();
    const feed = (ts: number, v: { flt?: number; chg?: number; ba?: number }): void => {
      r.ts = ts;
      r.v.fill(NaN);
      r.v[KEY_INDEX.flt] = v.flt ?? 0;
      r.v[KEY_INDEX.chg] = v.chg ?? 0;
      r.v[KEY_INDEX.ba] = v.ba ?? 1;
      log.reading(r);
    };
    log.mcuEvent(1000, 'boot', 'bon=12 boff=14 sdn=10 sup=12 dwell=0 period=1', '0.1.0');
    feed(2000, { flt: 0x0009 });
    feed(3000, { flt: 0x0001 });
    for (let t = 4000; t <= 4000 + MAINS_SUSPECT_MS + 1000; t += 1000) feed(t, { chg: 1, ba: -2, flt: 0x0001 });
    feed(70000, { chg: 1, ba: 20, flt: 0x0001 });
    log.settings(80000, parseThresholds({ bon: 11.5, boff: 14, ok: 1 })!, 'by a command');
    log.mcuEvent(90000, 'saved', 'energy', '0.1.0');
    const kinds = log.list().map((e) => e.kind).reverse();
    assert.deepEqual(kinds, ['boot', 'fault', 'fault_cleared', 'mains_out', 'mains_back', 'thresholds']);
    const texts = log.list().map((e) => e.text);
    assert.ok(texts.includes(`Fault: ${faultWords(0x0009).join(', ')}`), texts.join('\n'));
    assert.ok(texts.some((t) => t.includes('bon 12 → 11.5')), texts.join('\n'));
    assert.ok(!log.list().find((e) => e.kind === 'thresholds')!.text.includes('boff'), 'unchanged thresholds not listed');
    assert.equal(log.list().find((e) => e.kind === 'mains_out')!.ts, 4000 + MAINS_SUSPECT_MS, 'outage declared once the charger has been ON a minute');
    assert.equal(reasonWords('bat_low_sun_down'), 'battery low and sun down');
  });

  it('the token: off when none is configured, wrong and missing told apart, right accepted', () => {
    assert.deepEqual(checkToken('', 'Bearer x'), { ok: false, status: 403, error: checkToken('', undefined).ok ? '' : (checkToken('', undefined) as { error: string }).error });
    assert.equal((checkToken('s3cret-token', undefined) as { status: number }).status, 401);
    assert.equal((checkToken('s3cret-token', 'Bearer s3cret-tokem') as { error: string }).error, 'wrong token');
    assert.deepEqual(checkToken('s3cret-token', 'Bearer s3cret-token'), { ok: true });
  });

  it("the estimator's SoC joins the summary of its time, before or after that summary's readings", () => {
    const store = new SummaryStore(86400_000);
    const r = newScannedReading();
    const t0 = 1_790_000_000_000;
    // The estimator may run before the page sees a reading, or after: both orders.
    store.addValue(t0 + 1000, 'soc', 80);
    scan(record(reading(1), t0 + 1000), r);
    store.add(r);
    scan(record(reading(2), t0 + 2000), r);
    store.add(r);
    store.addValue(t0 + 2000, 'soc', 79.5);
    // A value alone (no reading in its 10 s) does not make a chart column.
    store.addValue(t0 + 60_000, 'soc', 70);
    const w = chartWindow(3600_000, 100, t0 + 100_000, SUMMARY_MS);
    const b = new ChartBuilder(w);
    store.fill(b);
    const j = b.toJson();
    assert.equal(j.points, 1);
    assert.equal(j.readings, 2);
    assert.deepEqual([j.series.soc.min[0], j.series.soc.max[0]], [79.5, 80]);
  });
});
