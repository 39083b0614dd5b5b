/**
 * The published view of the battery state: what a person or Home Assistant reads.
 * Plain numbers (null where there is nothing honest to say), built on demand, so the
 * estimator's per-reading work allocates nothing.
 */
import { capacityConfidence, learnedCapacityAh } from './capacity';
import { COUNTER_KEYS, CounterKey, publishedCounter } from './counters';
import { BatteryState, SyncKind, capacityInUse } from './estimator';
import type { NightForecast } from './night';
import type { EstimatorParams } from './params';

export type TimeToGoState = 'discharging' | 'charging' | 'idle' | 'at_floor' | 'unknown';

export interface BatteryStatus {
  /** 0..1, with the interval the truth lies in; `uncertainty` is its larger half-width. */
  soc: number;
  socLow: number;
  socHigh: number;
  uncertainty: number;
  /** Has the estimate been anchored (full sync, rested resync or set by hand) since it started? */
  anchored: boolean;
  lastSync: SyncKind;
  lastSyncT: number | null;
  capacityAh: number;
  remainingAh: number;
  /** Smoothed battery current, A (+ = charging). */
  currentA: number | null;
  /** Seconds to the floor at the smoothed discharge current; null unless discharging. */
  timeToGoS: number | null;
  timeToGoState: TimeToGoState;
  /** Seconds the battery alone would last at the recent load if every charger stopped now. */
  runtimeAloneS: number | null;
  health: { learnedAh: number | null; soh: number | null; confidence: number; cycles: number; lastCycleAh: number | null };
  night: NightForecast | null;
  sundownForecast: NightForecast | null;
  history: {
    deepestAh: number; averageDischargeAh: number | null; chargeCycles: number; fullSyncs: number;
    sinceFullS: number | null; minV: number | null; maxV: number | null; ahDrawn: number; ahCharged: number; onBatteryH: number;
  };
  counters: { [K in CounterKey]: number | null } & { restarts: number; bridged: { [K in CounterKey]: number } };
  flags: { sensorFault: boolean; implausibleReadings: number; faultedReadings: number; gaps: number; unmeasuredS: number };
}

/** A finite number, or null (nothing honest to say). */
export function num(x: number): number | null {
  return x === x && isFinite(x) ? x : null;
}

/** Seconds from `soc` down to the floor at `amps` of discharge (Peukert above the rated current). */
function secondsToFloor(p: EstimatorParams, soc: number, cap: number, amps: number): number {
  const ratedA = p.capacityAh / p.ratedHours;
  const effective = amps > ratedA ? amps * Math.pow(amps / ratedA, p.peukertExponent - 1) : amps;
  return Math.max(0, soc - p.floorSoc) * cap / effective * 3600;
}

/**
 * The figures every view of the state starts from (the full status below, the published
 * values): computed in one place so the two cannot disagree. Filled into `out`, which the
 * caller reuses, so a reading's publishing allocates nothing here.
 */
export interface StatusCore {
  capacityAh: number;
  soc: number;
  socLow: number;
  socHigh: number;
  timeToGoS: number | null;
  timeToGoState: TimeToGoState;
  runtimeAloneS: number | null;
  /** Learned capacity, NaN until a cycle taught one. */
  learnedAh: number;
}

export function newStatusCore(): StatusCore {
  return { capacityAh: 0, soc: 0, socLow: 0, socHigh: 0, timeToGoS: null, timeToGoState: 'unknown', runtimeAloneS: null, learnedAh: NaN };
}

export function statusCore(s: BatteryState, p: EstimatorParams, out: StatusCore): StatusCore {
  const cap = capacityInUse(s, p);
  const soc = Math.max(0, 1 - s.deficitAh / cap);
  const avg = s.batteryAvgA;
  let ttg: number | null = null;
  let ttgState: TimeToGoState = 'unknown';
  if (avg === avg && !s.sensorFault) {
    if (avg > p.zeroCurrentA) ttgState = 'charging';
    else if (avg > -p.zeroCurrentA) ttgState = 'idle';
    else if (soc <= p.floorSoc) { ttgState = 'at_floor'; ttg = 0; }
    else { ttgState = 'discharging'; ttg = secondsToFloor(p, soc, cap, -avg); }
  }
  const alone = s.loadAvgA === s.loadAvgA ? s.loadAvgA : avg === avg ? -avg : NaN;
  out.capacityAh = cap;
  out.soc = soc;
  out.socLow = Math.max(0, 1 - s.highAh / cap);
  out.socHigh = Math.max(0, 1 - s.lowAh / cap);
  out.timeToGoS = ttg;
  out.timeToGoState = ttgState;
  out.runtimeAloneS = alone > p.zeroCurrentA && !s.sensorFault ? secondsToFloor(p, soc, cap, alone) : null;
  out.learnedAh = learnedCapacityAh(s.capacity);
  return out;
}

export function batteryStatus(s: BatteryState, p: EstimatorParams): BatteryStatus {
  const c = statusCore(s, p, newStatusCore());
  const cap = c.capacityAh;
  const soc = c.soc;
  const socLow = c.socLow;
  const socHigh = c.socHigh;
  const learned = c.learnedAh;
  const h = s.history;
  const counters = { restarts: s.counters.restarts, bridged: {} } as BatteryStatus['counters'];
  for (let i = 0; i < COUNTER_KEYS.length; i++) {
    counters[COUNTER_KEYS[i]] = num(publishedCounter(s.counters, i));
    counters.bridged[COUNTER_KEYS[i]] = s.counters.bridged[i];
  }
  return {
    soc, socLow, socHigh, uncertainty: Math.max(soc - socLow, socHigh - soc),
    anchored: s.lastSync !== 'none', lastSync: s.lastSync, lastSyncT: num(s.lastSyncT),
    capacityAh: cap, remainingAh: soc * cap, currentA: num(s.batteryAvgA),
    timeToGoS: c.timeToGoS, timeToGoState: c.timeToGoState, runtimeAloneS: c.runtimeAloneS,
    health: {
      learnedAh: num(learned), soh: num(learned / p.capacityAh), confidence: capacityConfidence(s.capacity),
      cycles: s.capacity.cycles, lastCycleAh: num(s.capacity.lastCycleAh),
    },
    night: s.night.forecast, sundownForecast: s.night.sundownForecast,
    history: {
      deepestAh: h.deepestAh, averageDischargeAh: h.cyclesCompleted > 0 ? h.cycleDepthSumAh / h.cyclesCompleted : null,
      chargeCycles: h.chargeCycles, fullSyncs: h.fullSyncs, sinceFullS: num(s.t - h.lastFullT),
      minV: num(h.minV), maxV: num(h.maxV), ahDrawn: h.ahOut, ahCharged: h.ahIn, onBatteryH: h.onBatteryS / 3600,
    },
    counters,
    flags: {
      sensorFault: s.sensorFault, implausibleReadings: s.implausibleReadings, faultedReadings: s.faultedReadings,
      gaps: s.gaps, unmeasuredS: s.unmeasuredS,
    },
  };
}
