/**
 * The bridge's monotonic energy counters across MCU restarts, judged against the plant's
 * true energy (summed over its own steps, not over the readings). The MCU restarts from
 * its last 15-minute save after a watchdog reset or a power cut; the bridge carries the
 * published counters on and bridges the reboot from the last power reading.
 */
import assert from 'node:assert/strict';
import { batteryStatus, defaultEstimatorParams } from '../../bridge/src';
import type { ReadingRow } from '../../simulator/reading-row';
import { H, RunSpec, epochOf, replay, simulate } from './harness';

type Key = 'bahi' | 'baho' | 'bwhi' | 'bwho' | 'laho' | 'lwho';
const KEYS: Key[] = ['bahi', 'baho', 'bwhi', 'bwho', 'laho', 'lwho'];

/** The plant's true total behind each counter at a reading. */
function trueTotal(r: ReadingRow, k: Key): number {
  switch (k) {
    case 'bahi': return r.trueBatteryInAh;
    case 'baho': return r.trueBatteryOutAh;
    case 'bwhi': return r.trueBatteryInWh;
    case 'bwho': return r.trueBatteryOutWh;
    case 'laho': return r.trueLoadAh;
    case 'lwho': return r.trueLoadWh;
  }
}

/** Positive and negative areas of the line from y0 to y1 over h, cut at the zero crossing. */
function areas(y0: number, y1: number, h: number): [number, number] {
  if (y0 >= 0 && y1 >= 0) return [(y0 + y1) / 2 * h, 0];
  if (y0 <= 0 && y1 <= 0) return [0, -(y0 + y1) / 2 * h];
  const h0 = h * Math.abs(y0) / (Math.abs(y0) + Math.abs(y1));
  const a = Math.abs(y0) * h0 / 2;
  const b = Math.abs(y1) * (h - h0) / 2;
  return y0 > 0 ? [a, b] : [b, a];
}

/** What the sensors' readings integrate to (trapezoids within each boot): what the MCU could count. */
function sensorTotals(rows: ReadingRow[]): Record<Key, number> {
  const m: Record<Key, number> = { bahi: 0, baho: 0, bwhi: 0, bwho: 0, laho: 0, lwho: 0 };
  for (let i = 1; i < rows.length; i++) {
    const r0 = rows[i - 1];
    const r1 = rows[i];
    if (r0.boot !== r1.boot || r0.ba === null || r1.ba === null || r0.la === null || r1.la === null) continue;
    const h = (r1.t - r0.t) / H;
    const [ai, ao] = areas(r0.ba, r1.ba, h);
    const [wi, wo] = areas(r0.ba * (r0.bv as number), r1.ba * (r1.bv as number), h);
    m.bahi += ai; m.baho += ao; m.bwhi += wi; m.bwho += wo;
    m.laho += (r0.la + r1.la) / 2 * h;
    m.lwho += (r0.la * (r0.lv as number) + r1.la * (r1.lv as number)) / 2 * h;
  }
  return m;
}

describe('battery estimator against the simulator: energy counters across MCU restarts', function () {
  this.timeout(600000);

  it('across 3 watchdog resets and a power cut between saves the counters never decrease, each bridged reboot matches the energy truly moved in it, and the totals match the plant\'s true energy within 1 %', () => {
    const spec: RunSpec = {
      date: '2025-03-21', startHour: 0, hours: 48, seed: 6,
      // Chips at the INA219B's typical accuracy (±10 µV, ±0.2 %). At the datasheet's limits
      // (±50 µV on a 1.5 mΩ shunt is ±33 mA, 2 % of the cluster's ≈ 1.7 A) the sensor
      // alone can be further than 1 % from the truth before anything is counted; that
      // case is the one below.
      sensorGrade: 'typical',
      events: [
        // A night on the battery (the mains out from 17:00 to 06:00), so that the discharge
        // counters carry ≈ 20 Ah, not just the minutes between charger cycles.
        { atHour: 17, action: { kind: 'mains-outage', durationS: 13 * H } },
        { atHour: 5.2, action: { kind: 'mcu-hang', durationS: 60 } },
        { atHour: 13.6, action: { kind: 'mcu-hang', durationS: 60 } },
        { atHour: 30.1, action: { kind: 'mcu-hang', durationS: 60 } },
      ],
      onHour: (sim, hour) => { if (hour === 21) sim.mcu.reset('power cut'); },
    };
    const sim = simulate(spec);
    assert.equal(sim.mcu.resets.length, 4, JSON.stringify(sim.mcu.resets));
    const params = defaultEstimatorParams();
    const first = {} as Record<Key, number>;
    const last = {} as Record<Key, number>;
    const bridgedBefore = {} as Record<Key, number>;
    const bridgedErr: string[] = [];
    const gaps: string[] = [];
    let mcuWentBack = 0;
    let prevRow: ReadingRow | null = null;
    const { state } = replay(sim.rows, epochOf(spec), params, (s, row) => {
      const c = batteryStatus(s, params).counters;
      for (const k of KEYS) {
        const v = c[k] as number;
        if (first[k] === undefined) first[k] = v;
        assert.ok(last[k] === undefined || v >= last[k], `${k} went back at ${row.t}: ${last[k]} → ${v}`);
        if (prevRow && (row[k] as number) < (prevRow[k] as number)) mcuWentBack++;
        // Across a reboot: what the bridge added against what truly flowed since the last reading.
        const bridged = c.bridged[k];
        if (prevRow && row.boot !== prevRow.boot) {
          const truly = trueTotal(row, k) - trueTotal(prevRow, k);
          const added = bridged - bridgedBefore[k];
          // Two readings stand for a reboot of ≈ 20–80 s: the last one for the hang, the
          // first one after it for the reboot itself (the charger floats on). A charger
          // that just came on tapers through those seconds, so the first reading, taken at
          // the end, is some 15 % under the average; 20 % (and 1 mAh / 13 mWh) is the bar.
          const line = `${k} at ${(row.t / H).toFixed(2)} h: bridged ${added.toFixed(4)}, truly ${truly.toFixed(4)}`;
          gaps.push(line);
          if (Math.abs(added - truly) > 0.2 * truly + 0.001 * (k.includes('w') ? 13 : 1)) bridgedErr.push(line);
        }
        bridgedBefore[k] = bridged;
        last[k] = v;
      }
      prevRow = row;
    });
    assert.ok(mcuWentBack >= 4, `the MCU's own counters stepped back ${mcuWentBack} times`);
    assert.equal(state.counters.restarts, 4);
    console.log(`      bridged reboots: ${gaps.filter((g) => !/ 0\.0000, truly 0\.0000/.test(g)).join('; ')}`);
    assert.deepEqual(bridgedErr, []);
    const rows = sim.rows;
    const measured = sensorTotals(rows);
    const report = KEYS.map((k) => {
      const truly = trueTotal(rows[rows.length - 1], k) - trueTotal(rows[0], k);
      return `${k} ${(last[k] - first[k]).toFixed(3)} (true ${truly.toFixed(3)}, ${((last[k] - first[k]) / truly * 100 - 100).toFixed(2)} %; ` +
        `the readings' own integral ${measured[k].toFixed(3)})`;
    }).join(', ');
    console.log(`      counters over 48 h with 4 restarts, typical-accuracy INA219Bs: ${report}`);
    for (const k of KEYS) {
      const truly = trueTotal(rows[rows.length - 1], k) - trueTotal(rows[0], k);
      assert.ok(Math.abs((last[k] - first[k]) - truly) <= 0.01 * truly, `${k}: ${report}`);
    }
  });
});
