/**
 * What `ups.status` means for a battery bank with a solar controller and a switched mains
 * charger, derived from measurements. Pure: the caller passes the reading, the battery
 * state, the tier's limits and the time; nothing here reads a clock.
 *
 * - OB (on battery): the battery is carrying the load alone, i.e. it is discharging.
 *   OL otherwise: something (panels or charger) covers the load or charges the bank.
 * - CHRG / DISCHRG: the battery current's sign, beyond a small dead band.
 * - LB: charge at or below the tier's charge.low, runtime at or below its runtime.low, or
 *   the voltage at or below the firmware's floor. Latched until the battery charges
 *   again, so a voltage-derived charge hovering at the limit cannot flap it.
 * - RB: the battery state says the bank should be replaced.
 * - FSD: a primary set it (prefixed, as upsd does).
 */
import type { ReadingFrame } from '../../../protocol';
import { WHY_BAT_LOW_SUN_DOWN, WHY_SUN_DOWN } from '../../../protocol';
import { BatteryState, IDLE_A } from './battery-view';

export interface TierLimits {
  chargeLowPct: number;
  /** 0 = no runtime rule. */
  runtimeLowS: number;
  voltageLowV: number;
}

export interface StatusInput {
  reading: ReadingFrame;
  battery: BatteryState;
  limits: TierLimits;
  /** LB was latched by an earlier reading. */
  lowLatched: boolean;
  fsd: boolean;
}

export interface UpsStatus {
  onBattery: boolean;
  charging: boolean;
  discharging: boolean;
  lowBattery: boolean;
  /** Which limits are reached now: charge, runtime, voltage (empty while only latched). */
  lowBecause: string[];
  replace: boolean;
  fsd: boolean;
  /** The ups.status words. */
  text: string;
}

export function deriveStatus(s: StatusInput): UpsStatus {
  const r = s.reading;
  const ba = r.ba ?? 0;
  const charging = ba > IDLE_A;
  const discharging = ba < -IDLE_A;
  const lowBecause: string[] = [];
  const b = s.battery;
  if (b.chargePct !== null && b.chargePct <= s.limits.chargeLowPct) lowBecause.push('charge');
  if (s.limits.runtimeLowS > 0 && b.runtimeS !== null && b.runtimeS <= s.limits.runtimeLowS) lowBecause.push('runtime');
  if (r.bv !== null && r.bv <= s.limits.voltageLowV) lowBecause.push('voltage');
  const lowBattery = lowBecause.length > 0 || (s.lowLatched && !charging);
  const words: string[] = [];
  if (s.fsd) words.push('FSD');
  words.push(discharging ? 'OB' : 'OL');
  if (charging) words.push('CHRG');
  if (discharging) words.push('DISCHRG');
  if (lowBattery) words.push('LB');
  if (b.replace) words.push('RB');
  return { onBattery: discharging, charging, discharging, lowBattery, lowBecause, replace: b.replace, fsd: s.fsd, text: words.join(' ') };
}

/** Whether the readings can be trusted now: recent enough, and the battery channel measured. */
export function isStale(lastReadingAtMs: number | null, reading: ReadingFrame | null, nowMs: number, staleAfterMs: number): boolean {
  if (lastReadingAtMs === null || reading === null) return true;
  if (nowMs - lastReadingAtMs > staleAfterMs) return true;
  return reading.bv === null || reading.ba === null;
}

export type MainsEvent =
  | { kind: 'mains_outage'; battery_v: number | null; battery_a: number | null; why: string }
  | { kind: 'mains_restored'; battery_v: number | null; battery_a: number | null; why: string };

/** Readings in a row that must agree before the mains state changes (one poll can be a switching transient). */
const CONFIRM_READINGS = 3;

/**
 * The night mains outage, which nothing measures directly: the controller commands the
 * charger ON, the sun is down (so the charger is the only source), and yet the battery is
 * not being charged but discharging. Restored when the battery charges again or the
 * controller no longer asks for the charger.
 */
export class MainsWatch {
  private outage = false;
  private agreeing = 0;

  get inOutage(): boolean {
    return this.outage;
  }

  observe(r: ReadingFrame): MainsEvent | null {
    const sunDown = r.why === WHY_SUN_DOWN || r.why === WHY_BAT_LOW_SUN_DOWN;
    const noCharge = r.ba !== null && r.ba < -IDLE_A;
    const looksOut = r.chg === 1 && sunDown && noCharge;
    const looksBack = r.chg === 0 || (r.ba !== null && r.ba > IDLE_A);
    const changing = this.outage ? looksBack : looksOut;
    this.agreeing = changing ? this.agreeing + 1 : 0;
    if (this.agreeing < CONFIRM_READINGS) return null;
    this.agreeing = 0;
    this.outage = !this.outage;
    return { kind: this.outage ? 'mains_outage' : 'mains_restored', battery_v: r.bv, battery_a: r.ba, why: r.why };
  }
}
