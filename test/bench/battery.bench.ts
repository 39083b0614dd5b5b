/**
 * Battery estimator throughput: a year of 1 s readings (31,536,000) replayed through it,
 * as a spool replay after a parameter change would, beside the rate of the bridge's fast
 * decoder on reading frames in the same run (the estimator must never be the slower of
 * the two). The readings follow a day: mains charge at night, solar by day, the cluster's
 * load with bursts, and the MCU's counters counting up; one reading object is reused, as
 * the decoder's output would be consumed one at a time.
 */
import { BatteryReading, batteryStatus, batteryStep, defaultEstimatorParams, newBatteryState } from '../../bridge/src';
import { Reading, encodeReading, fastReading } from '../../protocol';
import type { BenchRow } from './bench-row';

const YEAR_S = 365 * 86400;
const GOAL = 1e6;

function replayYear(): { ms: number; soc: number; syncs: number } {
  const p = defaultEstimatorParams();
  const s = newBatteryState(p);
  const r: BatteryReading = {
    boot: 1, bv: 12.8, ba: -1.8, lv: 12.78, la: 1.8, flt: 0, why: 'released',
    bahi: 0, baho: 0, bwhi: 0, bwho: 0, lahi: 0, laho: 0, lwhi: 0, lwho: 0,
  };
  const t0 = 1735689600; // 2025-01-01T00:00Z
  let ahIn = 0;
  let ahOut = 0;
  const start = process.hrtime.bigint();
  for (let k = 0; k < YEAR_S; k++) {
    const hour = ((k + 10 * 3600) % 86400) / 3600; // Brisbane local time
    const night = hour < 6 || hour >= 18;
    const load = 1.7 + ((k % 900) < 240 ? 0.5 : 0);
    let ba: number;
    let bv: number;
    if (night) {
      // Mains charge: bulk after sun-down, then the taper at 14.4 V.
      const since = hour >= 18 ? hour - 18 : hour + 6;
      ba = since < 1 ? 20 : 1.5 + 10 * Math.exp(-(since - 1));
      bv = since < 1 ? 13.6 + since * 0.8 : 14.4;
      r.why = 'sun_down';
    } else {
      ba = hour < 9 ? -load : hour < 15 ? 6 - load : -load;
      bv = ba > 0 ? 13.9 : 12.7;
      r.why = 'released';
    }
    if (ba > 0) ahIn += ba / 3600; else ahOut -= ba / 3600;
    r.ba = ba;
    r.bv = bv;
    r.la = load;
    r.lv = bv - 0.03;
    r.bahi = ahIn;
    r.baho = ahOut;
    batteryStep(s, p, r, t0 + k);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, soc: batteryStatus(s, p).soc, syncs: s.history.fullSyncs };
}

function decodeRate(): number {
  const n = 200000;
  const lines: string[] = [];
  for (let i = 1; i <= 1000; i++) {
    lines.push(encodeReading({
      seq: i, boot: 3, up: i, bv: 12.5 + (i % 100) / 1000, ba: (i % 5000) / 100 - 25, bw: -15.5, lv: 12.4, la: 1.78, lw: 22.1,
      sv: 18.2, chg: 1, why: 'sun_down', mode: 'auto', flt: 0, bahi: 10.5, baho: 12.25, bwhi: 140, bwho: 155.5, lahi: 0, laho: 18, lwhi: 0, lwho: 230.25,
    } as Reading));
  }
  let ok = 0;
  for (let i = 0; i < 20000; i++) if (fastReading(lines[i % 1000])) ok++; // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (fastReading(lines[i % 1000])) ok++;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (ok !== n + 20000) throw new Error(`decoded ${ok} of ${n + 20000}`);
  return n / (ms / 1000);
}

export async function run(): Promise<BenchRow[]> {
  const decoder = decodeRate();
  const year = replayYear();
  const rate = YEAR_S / (year.ms / 1000);
  console.log('| what | readings/s | time |');
  console.log('|---|---:|---:|');
  console.log(`| battery estimator, a year of 1 s readings (${YEAR_S.toLocaleString('en')}) | ${Math.round(rate).toLocaleString('en')} | ${(year.ms / 1000).toFixed(1)} s |`);
  console.log(`| fast decoder (fastReading), same run | ${Math.round(decoder).toLocaleString('en')} | |`);
  console.log(`(end state: SoC ${(year.soc * 100).toFixed(1)} %, ${year.syncs} full syncs)`);
  return [
    { what: 'battery estimator, a year of 1 s readings', value: `${Math.round(rate).toLocaleString('en')} readings/s`, goal: '≥ 1,000,000 readings/s', met: rate >= GOAL },
    { what: 'fast decoder beside it (same run)', value: `${Math.round(decoder).toLocaleString('en')} frames/s`, goal: '', met: null },
  ];
}
