/**
 * Checks the firmware's charger decisions against the comparator logic applied to the
 * plant's TRUE values: charger ON while the battery has been below batteryOnV (until it
 * rises above batteryOffV) or the panel has been below sunDownV (until it rises above
 * sunUpV); OFF when both are released.
 *
 * The firmware sees measurements, not the truth, so near a threshold either answer is
 * right: a true value within `margin` of the threshold that would flip a latch makes it
 * "unknown" until the value is clearly past one of the thresholds, and a decision that
 * depends on an unknown latch is not checked. A poll
 * may also act on the previous poll's state (one poll of latency). Polls in fail-safe or
 * boot must have the charger ON; forced and dwell states are the host's doing and are
 * counted, not checked. A reboot forgets the latches, so after one they start unknown
 * again. And the REMOTE pin must say what the frame says.
 */
import type { ChargerThresholds } from '../hardware';

export interface CheckedRow {
  t: number;
  boot: number;
  chg: 0 | 1;
  why: string;
  trueBatteryV: number;
  trueSolarV: number;
  trueChargerOn: boolean;
}

export interface ComparatorMargins {
  batteryV: number;
  solarV: number;
}

/** INA219B bus error ≤ 0.5 % + offset at 14 V ≈ 80 mV; divider resistors 1 % + ADC ≈ 0.3 V at 12 V. */
export const DEFAULT_MARGINS: ComparatorMargins = { batteryV: 0.1, solarV: 0.35 };

type Latch = 'set' | 'released' | 'unknown';

export interface ComparatorViolation {
  t: number;
  kind: 'decision' | 'failsafe' | 'remote';
  detail: string;
}

export interface ComparatorResult {
  checked: number;
  ambiguous: number;
  failsafe: number;
  hostControlled: number;
  violations: number;
  /** The first few violations, for the report. */
  examples: ComparatorViolation[];
}

/**
 * A Schmitt trigger seen through measurement error: within `margin` of the threshold that
 * would flip it, it may or may not have flipped. Near the other threshold nothing can
 * happen (a released latch passing batteryOffV on the way down stays released).
 */
function latch(state: Latch, v: number, on: number, off: number, margin: number): Latch {
  if (v < on - margin) return 'set';
  if (v > off + margin) return 'released';
  if (state === 'released' && v <= on + margin) return 'unknown';
  if (state === 'set' && v >= off - margin) return 'unknown';
  return state;
}

export class ComparatorCheck {
  private readonly thresholds: ChargerThresholds;
  private readonly margins: ComparatorMargins;
  private battery: Latch = 'unknown';
  private sun: Latch = 'unknown';
  private previous: 0 | 1 | null = null;
  private boot = -1;
  private readonly result: ComparatorResult = { checked: 0, ambiguous: 0, failsafe: 0, hostControlled: 0, violations: 0, examples: [] };

  constructor(thresholds: ChargerThresholds, margins: ComparatorMargins = DEFAULT_MARGINS) {
    this.thresholds = thresholds;
    this.margins = margins;
  }

  push(row: CheckedRow): void {
    const thresholds = this.thresholds;
    if (row.boot !== this.boot) {
      // A rebooted MCU has lost its latches and chooses afresh inside the hysteresis band.
      this.boot = row.boot;
      this.battery = 'unknown';
      this.sun = 'unknown';
      this.previous = null;
    }
    this.battery = latch(this.battery, row.trueBatteryV, thresholds.batteryOnV, thresholds.batteryOffV, this.margins.batteryV);
    this.sun = latch(this.sun, row.trueSolarV, thresholds.sunDownV, thresholds.sunUpV, this.margins.solarV);
    const expected: 0 | 1 | null = this.battery === 'set' || this.sun === 'set' ? 1
      : this.battery === 'released' && this.sun === 'released' ? 0 : null;
    const r = this.result;
    if (row.trueChargerOn !== (row.chg === 1)) {
      this.violation({ t: row.t, kind: 'remote', detail: `frame says chg=${row.chg} but REMOTE has the charger ${row.trueChargerOn ? 'ON' : 'OFF'}` });
    }
    if (row.why === 'failsafe' || row.why === 'boot') {
      r.failsafe++;
      if (row.chg !== 1) this.violation({ t: row.t, kind: 'failsafe', detail: `why=${row.why} with the charger OFF` });
    } else if (row.why === 'forced_on' || row.why === 'forced_off' || row.why === 'floor' || row.why === 'dwell') {
      r.hostControlled++;
    } else if (expected === null) {
      r.ambiguous++;
    } else {
      r.checked++;
      if (row.chg !== expected && row.chg !== this.previous) {
        this.violation({
          t: row.t, kind: 'decision',
          detail: `chg=${row.chg} why=${row.why}, but true battery ${row.trueBatteryV.toFixed(3)} V (${this.battery}) and ` +
            `panel ${row.trueSolarV.toFixed(3)} V (${this.sun}) call for ${expected ? 'ON' : 'OFF'}`,
        });
      }
    }
    this.previous = expected;
  }

  get summary(): ComparatorResult {
    return this.result;
  }

  private violation(v: ComparatorViolation): void {
    this.result.violations++;
    if (this.result.examples.length < 10) this.result.examples.push(v);
  }
}
