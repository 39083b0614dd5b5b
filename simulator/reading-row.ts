/**
 * One firmware reading beside the plant's truth at that instant: the row that
 * readings.csv, the chart and the comparator check are made from.
 */
import type { ReadingFrame } from '../protocol';
import type { PlantTruth } from './plant';

export interface ReadingRow {
  t: number;
  seq: number;
  boot: number;
  up: number;
  bv: number | null; ba: number | null; bw: number | null;
  lv: number | null; la: number | null; lw: number | null;
  sv: number | null;
  chg: 0 | 1;
  why: string;
  mode: string;
  flt: number;
  /** Energy counters as reported: battery and load, Ah and Wh, in and out. */
  bahi: number | null; baho: number | null; bwhi: number | null; bwho: number | null;
  lahi: number | null; laho: number | null; lwhi: number | null; lwho: number | null;
  trueBatteryV: number;
  trueBatteryA: number;
  trueLoadV: number;
  trueLoadA: number;
  trueSolarV: number;
  trueChargerOn: boolean;
  trueChargerA: number;
  trueSolarA: number;
  trueSoc: number;
  trueIrradiance: number;
  trueCloudCover: number;
  trueLoadConnected: boolean;
  trueMains: boolean;
  trueStage: string;
  /** The plant's true totals since t = 0 (PlantTruth): battery in/out Ah and Wh, load Ah and Wh. */
  trueBatteryInAh: number; trueBatteryOutAh: number; trueBatteryInWh: number; trueBatteryOutWh: number;
  trueLoadAh: number; trueLoadWh: number;
  /** State of charge (0..1) from an estimator the caller attached (SocEstimator), null without one. */
  estSoc: number | null;
}

/**
 * A host-side battery estimator attached to a run (the bridge's, wired in by
 * scripts/sim.ts): it reads each row as a host would read the frame, at its Unix time,
 * and says the state of charge (0..1) it believes, for readings.csv and the chart. The
 * simulator never imports one: it stays the judge, not a party.
 */
export interface SocEstimator {
  step(row: ReadingRow, unixS: number): number | null;
}

/** The row for a reading decoded at virtual time `t`, with the plant's state then. */
export function readingRow(f: ReadingFrame, truth: PlantTruth, t: number): ReadingRow {
  return {
    t, seq: f.seq, boot: f.boot, up: f.up,
    bv: f.bv, ba: f.ba, bw: f.bw, lv: f.lv, la: f.la, lw: f.lw, sv: f.sv,
    chg: f.chg, why: f.why, mode: f.mode, flt: f.flt,
    bahi: f.bahi, baho: f.baho, bwhi: f.bwhi, bwho: f.bwho, lahi: f.lahi, laho: f.laho, lwhi: f.lwhi, lwho: f.lwho,
    trueBatteryV: truth.batteryV, trueBatteryA: truth.batteryA, trueLoadV: truth.loadV, trueLoadA: truth.loadA,
    trueSolarV: truth.panelV, trueChargerOn: truth.chargerRemoteOn, trueChargerA: truth.chargerA,
    trueSolarA: truth.solarA, trueSoc: truth.soc, trueIrradiance: truth.irradiance, trueCloudCover: truth.cloudCover,
    trueLoadConnected: truth.loadConnected, trueMains: truth.mains, trueStage: truth.stage,
    trueBatteryInAh: truth.batteryInAh, trueBatteryOutAh: truth.batteryOutAh, trueBatteryInWh: truth.batteryInWh,
    trueBatteryOutWh: truth.batteryOutWh, trueLoadAh: truth.loadAh, trueLoadWh: truth.loadWh,
    estSoc: null,
  };
}
