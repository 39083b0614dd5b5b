/**
 * Battery state from readings: state of charge by coulomb counting (Peukert on
 * discharge, a charge efficiency on charge, a zero-current threshold), synchronised to
 * 100 % at the charged voltage and tail current, resynchronised from the resting voltage
 * after a long rest; an interval that says how far off it may be; time to go; capacity
 * and health; the night ahead; BMV-style history; energy counters that never go back.
 *
 * Pure: a reading and its time (Unix seconds, from the caller) in, the state updated in
 * place; no I/O, no clock. The state is plain JSON-able data, so it can be written to an
 * atomic state file and the same readings replayed always give the same state.
 */
import { FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_STALE, WHY_BAT_LOW_SUN_DOWN, WHY_SUN_DOWN } from '../../../protocol';
import {
  CapacityState, capacityConfidence, capacityOnSync, capacitySpoilt, capacityStep, learnedCapacityAh, newCapacityState,
} from './capacity';
import { COUNTER_KEYS, CounterReading, CounterState, newCounterState, updateCounters } from './counters';
import { HistoryState, historyOnSync, historyStep, newHistoryState } from './history';
import { AvailableAh, NightState, newNightState, nightStep } from './night';
import { EstimatorParams, checkParams, lookup } from './params';

/** What the estimator reads from a reading frame (a protocol ReadingFrame has all of it). */
export interface BatteryReading extends CounterReading {
  boot: number;
  /** Seconds since the MCU booted (bridges a reboot's gap in the counters); absent: unknown. */
  up?: number;
  bv: number | null;
  /** + = charging. */
  ba: number | null;
  lv: number | null;
  la: number | null;
  flt: number;
  why: string;
}

export type SyncKind = 'none' | 'full' | 'rest' | 'set';

export interface BatteryState {
  version: 1;
  /** Time of the last reading taken (Unix s), NaN before the first. */
  t: number;
  /** Last good battery sample. */
  prevValid: boolean;
  prevT: number; prevBoot: number; prevBv: number; prevBa: number; prevBahi: number; prevBaho: number;
  prevLa: number; prevLv: number; prevLoadT: number;
  /** Ah below full: the point estimate and the interval it lies in. */
  deficitAh: number; lowAh: number; highAh: number;
  lastSync: SyncKind; lastSyncT: number;
  chargedSince: number; fullLatched: boolean;
  restSince: number; restUsed: boolean;
  /** Smoothed battery and load currents (A), NaN until seen; the load also over hours (night forecast). */
  batteryAvgA: number; loadAvgA: number; loadSlowA: number;
  /** The battery reading is missing, faulted or implausible now; since when. */
  sensorFault: boolean; faultSinceT: number;
  implausibleReadings: number; faultedReadings: number; gaps: number; unmeasuredS: number; outOfOrder: number;
  counters: CounterState;
  capacity: CapacityState;
  night: NightState;
  history: HistoryState;
}

const BATTERY_FAULTS = FLT_BAT_COMM | FLT_BAT_OVF | FLT_BAT_STALE;
/** Deficit (fraction of capacity) below which only a sync, not counting, takes the estimate. */
const FULL_BY_COUNT = 0.01;
/** The learned capacity replaces the nameplate once this sure (two or more deep cycles). */
const USE_LEARNED_CONFIDENCE = 0.7;
/** Time constant of the load average the night forecast starts from. */
const LOAD_SLOW_S = 3 * 3600;

export function newBatteryState(p: EstimatorParams): BatteryState {
  checkParams(p);
  const deficit = (1 - p.startSoc) * p.capacityAh;
  return {
    version: 1, t: NaN,
    prevValid: false, prevT: NaN, prevBoot: -1, prevBv: NaN, prevBa: NaN, prevBahi: NaN, prevBaho: NaN,
    prevLa: NaN, prevLv: NaN, prevLoadT: NaN,
    deficitAh: deficit, lowAh: 0, highAh: p.capacityAh,
    lastSync: 'none', lastSyncT: NaN, chargedSince: NaN, fullLatched: false, restSince: NaN, restUsed: false,
    batteryAvgA: NaN, loadAvgA: NaN, loadSlowA: NaN,
    sensorFault: false, faultSinceT: NaN, implausibleReadings: 0, faultedReadings: 0, gaps: 0, unmeasuredS: 0, outOfOrder: 0,
    counters: newCounterState(), capacity: newCapacityState(p), night: newNightState(), history: newHistoryState(),
  };
}

/** Capacity the state of charge is taken over: learned once confident, else the nameplate. */
export function capacityInUse(s: BatteryState, p: EstimatorParams): number {
  if (s.capacity.weight === 0) return p.capacityAh;
  const learned = learnedCapacityAh(s.capacity);
  return learned === learned && capacityConfidence(s.capacity) >= USE_LEARNED_CONFIDENCE ? learned : p.capacityAh;
}

export function stateOfCharge(s: BatteryState, p: EstimatorParams): number {
  const soc = 1 - s.deficitAh / capacityInUse(s, p);
  return soc < 0 ? 0 : soc;
}

/** Sets the state of charge by hand (new batteries, a known state): it counts as a sync. */
export function setStateOfCharge(s: BatteryState, p: EstimatorParams, soc: number, t: number): void {
  if (!(soc >= 0 && soc <= 1)) throw new RangeError(`state of charge must be 0..1, got ${soc}`);
  const cap = capacityInUse(s, p);
  s.deficitAh = s.lowAh = s.highAh = (1 - soc) * cap;
  s.lastSync = 'set';
  s.lastSyncT = t;
  capacitySpoilt(s.capacity);
}

const available: AvailableAh = { pointAh: 0, lowAh: 0, highAh: 0, anchored: false };
const gapEstimate = new Array<number>(COUNTER_KEYS.length).fill(0);
const split = [0, 0];

/** Positive and negative parts (units × hours) of the straight line from y0 to y1 over dtH. */
function splitArea(y0: number, y1: number, dtH: number, out: number[]): void {
  if (y0 >= 0 && y1 >= 0) { out[0] = (y0 + y1) / 2 * dtH; out[1] = 0; return; }
  if (y0 <= 0 && y1 <= 0) { out[0] = 0; out[1] = -(y0 + y1) / 2 * dtH; return; }
  const t0 = dtH * Math.abs(y0) / (Math.abs(y0) + Math.abs(y1));
  const first = Math.abs(y0) * t0 / 2;
  const second = Math.abs(y1) * (dtH - t0) / 2;
  out[0] = y0 > 0 ? first : second;
  out[1] = y0 > 0 ? second : first;
}

/** Takes one reading at time `t` (Unix seconds). Readings not after the last one are counted and skipped. */
export function batteryStep(s: BatteryState, p: EstimatorParams, r: BatteryReading, t: number): void {
  if (s.t === s.t && !(t > s.t)) {
    s.outOfOrder++;
    return;
  }
  const span = s.t === s.t ? t - s.t : 0;
  s.t = t;
  bridgeCounters(s, p, r);
  const bv = r.bv;
  const ba = r.ba;
  if (bv === null || ba === null || (r.flt & BATTERY_FAULTS) !== 0 || !(Math.abs(ba) <= p.maxPlausibleA) || !(bv > 0 && bv < 100)) {
    if (ba !== null && !(Math.abs(ba) <= p.maxPlausibleA)) s.implausibleReadings++;
    s.faultedReadings++;
    if (!s.sensorFault) s.faultSinceT = t;
    s.sensorFault = true;
    s.chargedSince = NaN;
    s.restSince = NaN;
    return;
  }
  const cap = capacityInUse(s, p);
  if (s.prevValid) count(s, p, r, bv, ba, t, cap);
  s.sensorFault = false;
  const step = s.prevValid ? t - s.prevT : 0;
  const a = step > 0 ? smoothing(step, p.timeToGoAveragingS, 0) : 1;
  s.batteryAvgA = s.batteryAvgA === s.batteryAvgA ? s.batteryAvgA + a * (ba - s.batteryAvgA) : ba;
  let loadSpanA = NaN;
  if (r.la !== null) {
    if (s.prevLa === s.prevLa && t - s.prevLoadT <= p.maxGapS) loadSpanA = (s.prevLa + r.la) / 2;
    const la = smoothing(t - s.prevLoadT, p.timeToGoAveragingS, 1);
    s.loadAvgA = s.loadAvgA === s.loadAvgA && la === la ? s.loadAvgA + la * (r.la - s.loadAvgA) : r.la;
    const slow = smoothing(t - s.prevLoadT, LOAD_SLOW_S, 2);
    s.loadSlowA = s.loadSlowA === s.loadSlowA && slow === slow ? s.loadSlowA + slow * (r.la - s.loadSlowA) : r.la;
    s.prevLa = r.la;
    s.prevLv = r.lv === null ? NaN : r.lv;
    s.prevLoadT = t;
  }
  detectFull(s, p, bv, ba, t);
  detectRest(s, p, bv, ba, t, cap);
  capacityStep(s.capacity, p, t, step, bv, ba, s.deficitAh, cap);
  const soc = 1 - s.deficitAh / cap;
  historyStep(s.history, p, t, step, bv, ba, soc, s.deficitAh, s.lastSync !== 'none');
  const sunDown = r.why === WHY_SUN_DOWN || r.why === WHY_BAT_LOW_SUN_DOWN;
  const recentA = s.loadSlowA === s.loadSlowA ? s.loadSlowA : -s.batteryAvgA;
  available.pointAh = (soc - p.floorSoc) * cap;
  available.lowAh = (1 - s.highAh / cap - p.floorSoc) * cap;
  available.highAh = (1 - s.lowAh / cap - p.floorSoc) * cap;
  available.anchored = s.lastSync !== 'none';
  nightStep(s.night, p, t, span, sunDown, loadSpanA, available, recentA);
  s.prevValid = true;
  s.prevT = t;
  s.prevBoot = r.boot;
  s.prevBv = bv;
  s.prevBa = ba;
  s.prevBahi = r.bahi === null ? NaN : r.bahi;
  s.prevBaho = r.baho === null ? NaN : r.baho;
}

/**
 * Charge moved since the last good sample: the MCU's own counters within one boot (they
 * also cover bridge downtime), else the trapezoid of the two currents if they are close
 * enough in time, else nothing is known and the interval widens.
 */
function count(s: BatteryState, p: EstimatorParams, r: BatteryReading, bv: number, ba: number, t: number, cap: number): void {
  const span = t - s.prevT;
  if (!(span > 0)) return;
  const hours = span / 3600;
  let dIn = NaN;
  let dOut = NaN;
  if (r.boot === s.prevBoot && r.bahi !== null && r.baho !== null && s.prevBahi === s.prevBahi) {
    const i = r.bahi - s.prevBahi;
    const o = r.baho - s.prevBaho;
    if (i >= 0 && o >= 0 && (i + o) / hours <= p.maxPlausibleA) { dIn = i; dOut = o; }
  }
  if (dIn !== dIn && span <= p.maxGapS) {
    splitArea(s.prevBa, ba, hours, split);
    dIn = split[0];
    dOut = split[1];
  }
  let widen = 0;
  // A faulted stretch in between: the MCU counted nothing for it; assume the current held.
  const faulted = s.faultSinceT === s.faultSinceT && s.faultSinceT > s.prevT ? t - s.faultSinceT : 0;
  s.faultSinceT = NaN;
  if (dIn !== dIn) {
    s.gaps++;
    s.unmeasuredS += span;
    capacitySpoilt(s.capacity);
    dIn = 0;
    dOut = 0;
    const held = s.batteryAvgA === s.batteryAvgA ? s.batteryAvgA : 0;
    if (held > 0) dIn = held * hours; else dOut = -held * hours;
    widen = hours * (Math.abs(held) + 1);
  } else if (faulted > 0) {
    s.unmeasuredS += faulted;
    capacitySpoilt(s.capacity);
    const held = s.batteryAvgA === s.batteryAvgA ? s.batteryAvgA : 0;
    if (held > 0) dIn += held * faulted / 3600; else dOut -= held * faulted / 3600;
    widen = faulted / 3600 * (Math.abs(held) + 1);
  } else if (span <= p.maxGapS && Math.abs(ba) < p.zeroCurrentA && Math.abs(s.prevBa) < p.zeroCurrentA) {
    dIn = 0;
    dOut = 0;
  }
  const ratedA = p.capacityAh / p.ratedHours;
  const iOut = dOut / hours;
  const peukert = iOut > ratedA ? Math.pow(iOut / ratedA, p.peukertExponent - 1) : 1;
  const gassing = bv >= p.gassingV && s.prevBv >= p.gassingV && dIn / hours < p.gassingCurrentFraction * p.capacityAh;
  // Near full a lead-acid bank stores less of what goes in, whatever the voltage: part of
  // each charge burst gasses at the plates' surface while the bulk is still a few % short.
  const soc = 1 - s.deficitAh / cap;
  const taper = soc <= p.chargeTaperSoc ? p.chargeEfficiency
    : p.chargeEfficiency + (p.gassingChargeEfficiency - p.chargeEfficiency) * (soc - p.chargeTaperSoc) / (1 - p.chargeTaperSoc);
  const efficiency = gassing ? p.gassingChargeEfficiency : taper;
  const selfDischarge = (cap - s.deficitAh) * p.selfDischargePerMonth * span / (30 * 86400);
  const delta = dOut * peukert - dIn * efficiency + selfDischarge;
  widen += (dIn + dOut) * p.countErrorFraction;
  // Counting alone never claims the last 1 %: only a sync says full (the count may be
  // ahead of a bank that still takes current at the end of its charge).
  const ceiling = s.deficitAh < FULL_BY_COUNT * cap ? s.deficitAh : FULL_BY_COUNT * cap;
  s.deficitAh = clamp(s.deficitAh + delta, delta < 0 ? ceiling : 0, cap);
  s.lowAh = clamp(s.lowAh + delta - widen, 0, cap);
  s.highAh = clamp(s.highAh + delta + widen, 0, cap);
  if (s.deficitAh < s.lowAh) s.deficitAh = s.lowAh;
  if (s.deficitAh > s.highAh) s.deficitAh = s.highAh;
  s.history.ahOut += dOut;
  s.history.ahIn += dIn;
}

const memoSpan = [NaN, NaN, NaN];
const memoTau = [NaN, NaN, NaN];
const memoAlpha = [0, 0, 0];

/** 1 − exp(−span / tau): the weight of a new sample in an exponential average. Readings come at a fixed period, so slot `slot` remembers its last answer. */
function smoothing(span: number, tau: number, slot: number): number {
  if (span !== memoSpan[slot] || tau !== memoTau[slot]) {
    memoSpan[slot] = span;
    memoTau[slot] = tau;
    memoAlpha[slot] = 1 - Math.exp(-span / tau);
  }
  return memoAlpha[slot];
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Full: at or above the charged voltage with the charge current under the tail current (at that voltage) for the detection time. */
function detectFull(s: BatteryState, p: EstimatorParams, bv: number, ba: number, t: number): void {
  // The tail current is what a full bank takes at the absorption voltage; held lower (a
  // source that cannot push harder), a full bank takes less, so the bar is lower too.
  if (bv >= p.chargedV && ba > -p.zeroCurrentA &&
    ba < p.tailCurrentFraction * p.capacityAh * (bv < p.absorptionV ? Math.pow(10, (bv - p.absorptionV) / p.tailSlopeVPerDecade) : 1)) {
    if (s.chargedSince !== s.chargedSince) s.chargedSince = t;
    if (!s.fullLatched && t - s.chargedSince >= p.chargedDetectionS) {
      s.fullLatched = true;
      s.deficitAh = s.lowAh = s.highAh = 0;
      s.lastSync = 'full';
      s.lastSyncT = t;
      historyOnSync(s.history, t);
      capacityOnSync(s.capacity);
    }
    return;
  }
  s.chargedSince = NaN;
  if (bv < p.chargedV) s.fullLatched = false;
}

/** Rested: |current| under restCurrentA for restS; the voltage is then read as open-circuit, once per rest. */
function detectRest(s: BatteryState, p: EstimatorParams, bv: number, ba: number, t: number, cap: number): void {
  if (!(Math.abs(ba) < p.restCurrentA)) {
    s.restSince = NaN;
    s.restUsed = false;
    return;
  }
  if (s.restSince !== s.restSince) s.restSince = t;
  const table = p.ocvTable;
  if (s.restUsed || t - s.restSince < p.restS || bv > table[table.length - 1][1] + p.ocvToleranceV) return;
  s.restUsed = true;
  // The table's own spread and the voltage monitor's accuracy both widen the reading.
  const tolerance = p.ocvToleranceV + p.voltageErrorFraction * bv;
  const lo = (1 - lookup(table, bv + tolerance, true)) * cap;
  const hi = (1 - lookup(table, bv - tolerance, true)) * cap;
  const point = (1 - lookup(table, bv, true)) * cap;
  // Keep what counting already knew if the two agree; the voltage wins if they do not.
  const nlo = Math.max(lo, s.lowAh);
  const nhi = Math.min(hi, s.highAh);
  if (nlo <= nhi) { s.lowAh = nlo; s.highAh = nhi; } else { s.lowAh = lo; s.highAh = hi; }
  s.deficitAh = clamp(point, s.lowAh, s.highAh);
  s.lastSync = 'rest';
  s.lastSyncT = t;
  capacitySpoilt(s.capacity);
}

/**
 * Estimates what flowed through each counter while the MCU was not counting (between the
 * previous reading and this first one of a new boot), and hands the reading's counters
 * to the monotonic counters. The MCU's uptime splits the gap: until the reset the plant
 * ran as the last reading showed (a hang holds the pins); from the reset on, the pins
 * floated (the REMOTE driver turns the charger on) and the plant ran as this first
 * reading shows, taken before the firmware acts. Held over the whole gap, the last
 * reading would miss the charger's ≈ 35 A through every reboot that began with it off.
 */
function bridgeCounters(s: BatteryState, p: EstimatorParams, r: BatteryReading): void {
  if (r.boot !== s.counters.boot) for (let i = 0; i < gapEstimate.length; i++) gapEstimate[i] = 0;
  if (r.boot !== s.counters.boot && s.prevValid) {
    // A first reading comes one poll after the boot and the MCU counted nothing before it;
    // a reading long after the boot (the bridge was away) comes with the MCU's own count
    // since then, so only the time before the boot is unknown.
    const up = r.up !== undefined && r.up >= 0 ? r.up : 0;
    const bootT = s.t - up > s.prevT ? s.t - up : s.prevT;
    const before = (bootT - s.prevT) / 3600;
    const since = up <= p.maxGapS ? (s.t - bootT) / 3600 : 0;
    const nowOk = r.ba !== null && r.bv !== null && Math.abs(r.ba) <= p.maxPlausibleA;
    const a0 = s.prevBa;
    const w0 = s.prevBa * s.prevBv;
    const a1 = nowOk ? r.ba as number : a0;
    const w1 = nowOk ? (r.ba as number) * (r.bv as number) : w0;
    gapEstimate[0] = (a0 > 0 ? a0 * before : 0) + (a1 > 0 ? a1 * since : 0);
    gapEstimate[1] = (a0 < 0 ? -a0 * before : 0) + (a1 < 0 ? -a1 * since : 0);
    gapEstimate[2] = (w0 > 0 ? w0 * before : 0) + (w1 > 0 ? w1 * since : 0);
    gapEstimate[3] = (w0 < 0 ? -w0 * before : 0) + (w1 < 0 ? -w1 * since : 0);
    if (s.prevLa === s.prevLa) {
      const loadBefore = Math.max(0, bootT - s.prevLoadT) / 3600;
      const la0 = s.prevLa;
      const lw0 = s.prevLv === s.prevLv ? la0 * s.prevLv : 0;
      const la1 = r.la !== null ? r.la : la0;
      const lw1 = r.la !== null && r.lv !== null ? r.la * r.lv : lw0;
      gapEstimate[4] = (la0 < 0 ? -la0 * loadBefore : 0) + (la1 < 0 ? -la1 * since : 0);
      gapEstimate[5] = (la0 > 0 ? la0 * loadBefore : 0) + (la1 > 0 ? la1 * since : 0);
      gapEstimate[6] = (lw0 < 0 ? -lw0 * loadBefore : 0) + (lw1 < 0 ? -lw1 * since : 0);
      gapEstimate[7] = (lw0 > 0 ? lw0 * loadBefore : 0) + (lw1 > 0 ? lw1 * since : 0);
    }
  }
  updateCounters(s.counters, r.boot, r, gapEstimate);
}
