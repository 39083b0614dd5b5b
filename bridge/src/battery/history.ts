/**
 * History in the manner of a BMV's H1–H18: deepest and average discharge, charge
 * cycles, full syncs, time since the last full charge, lowest and highest voltage, Ah
 * drawn and returned, hours on battery alone.
 */
import type { EstimatorParams } from './params';

export interface HistoryState {
  /** Deepest discharge (Ah below full) ever and in the cycle since the last full sync. */
  deepestAh: number;
  cycleDeepestAh: number;
  /** Sum and count of the deepest discharge of each completed cycle (full sync to full sync). */
  cycleDepthSumAh: number;
  cyclesCompleted: number;
  /** Charge cycles the BMV way: the SoC fell below 65 % and later rose above 90 %. */
  chargeCycles: number;
  cycleArmed: boolean;
  fullSyncs: number;
  lastFullT: number;
  minV: number;
  maxV: number;
  ahOut: number;
  ahIn: number;
  /** Seconds the battery was discharging (supplying the cluster alone). */
  onBatteryS: number;
}

export function newHistoryState(): HistoryState {
  return {
    deepestAh: 0, cycleDeepestAh: 0, cycleDepthSumAh: 0, cyclesCompleted: 0, chargeCycles: 0, cycleArmed: false,
    fullSyncs: 0, lastFullT: NaN, minV: NaN, maxV: NaN, ahOut: 0, ahIn: 0, onBatteryS: 0,
  };
}

export function historyOnSync(h: HistoryState, t: number): void {
  if (h.fullSyncs > 0 || h.cycleDeepestAh > 0) {
    h.cycleDepthSumAh += h.cycleDeepestAh;
    h.cyclesCompleted++;
  }
  h.cycleDeepestAh = 0;
  h.fullSyncs++;
  h.lastFullT = t;
}

export function historyStep(
  h: HistoryState, p: EstimatorParams, t: number, span: number, bv: number, ba: number, soc: number, deficitAh: number, known: boolean,
): void {
  if (!(bv >= h.minV)) h.minV = bv;
  if (!(bv <= h.maxV)) h.maxV = bv;
  if (ba < -p.zeroCurrentA && span > 0 && span <= p.maxGapS) h.onBatteryS += span;
  // Depths mean something only once the state of charge has been anchored.
  if (!known) return;
  if (deficitAh > h.deepestAh) h.deepestAh = deficitAh;
  if (deficitAh > h.cycleDeepestAh) h.cycleDeepestAh = deficitAh;
  if (soc < 0.65) h.cycleArmed = true;
  else if (soc > 0.9 && h.cycleArmed) {
    h.cycleArmed = false;
    h.chargeCycles++;
  }
  void t;
}
