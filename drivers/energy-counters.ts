/**
 * Coulomb and energy counters per channel, in and out, by trapezoidal integration of
 * successive valid readings: the arithmetic the firmware runs on the MCU and the bridge
 * runs in host-direct mode, so both report the same counters for the same readings.
 * Pure: readings and times come in as arguments. ES5-safe (it is in the MCU's bundle).
 * A gap longer than `maxGapS` (a dead sensor, a stall) is not bridged by guessing:
 * integration restarts at the next valid reading.
 */

export interface EnergyCounters {
  /** Battery Ah and Wh into the battery (charge) and out of it (discharge). */
  bahi: number; baho: number; bwhi: number; bwho: number;
  /** Load Ah and Wh back-fed (in) and delivered (out). */
  lahi: number; laho: number; lwhi: number; lwho: number;
}

/** The counters' wire names: channel (b/l), unit (ah/wh), direction (i/o). */
export const ENERGY_KEYS = ['bahi', 'baho', 'bwhi', 'bwho', 'lahi', 'laho', 'lwhi', 'lwho'];

export function zeroEnergy(): EnergyCounters {
  const c: { [k: string]: number } = {};
  for (let i = 0; i < ENERGY_KEYS.length; i++) c[ENERGY_KEYS[i]] = 0;
  return c as unknown as EnergyCounters;
}

/** The previous valid sample of one channel. */
export interface EnergySample { at: number; a: number; w: number; valid: boolean }

export function emptySample(): EnergySample {
  return { at: 0, a: 0, w: 0, valid: false };
}

/**
 * Splits the area under the straight line from y0 to y1 over dt into its positive and
 * negative parts (a sign change is cut at the zero crossing), in units·seconds.
 */
export function splitArea(y0: number, y1: number, dt: number, out: number[]): void {
  if (y0 >= 0 && y1 >= 0) { out[0] = (y0 + y1) / 2 * dt; out[1] = 0; return; }
  if (y0 <= 0 && y1 <= 0) { out[0] = 0; out[1] = -(y0 + y1) / 2 * dt; return; }
  // Opposite signs: each part is the triangle on its side of the zero crossing.
  const t0 = dt * Math.abs(y0) / (Math.abs(y0) + Math.abs(y1));
  const first = Math.abs(y0) * t0 / 2;
  const second = Math.abs(y1) * (dt - t0) / 2;
  out[0] = y0 > 0 ? first : second;
  out[1] = y0 > 0 ? second : first;
}

const area = [0, 0];

/**
 * Adds one reading of a channel ('b' battery, 'l' load). Positive current/power is "in"
 * for the battery (charging) and "out" for the load (delivered), per the shunt wiring.
 */
export function accumulate(
  c: EnergyCounters, channel: 'b' | 'l', prev: EnergySample,
  a: number | null, w: number | null, now: number, maxGapS: number,
): void {
  if (a === null || w === null) return;
  if (prev.valid && now > prev.at && now - prev.at <= maxGapS) {
    const dt = now - prev.at;
    const m = c as unknown as { [k: string]: number };
    const positive = channel === 'b' ? 'i' : 'o';
    const negative = channel === 'b' ? 'o' : 'i';
    splitArea(prev.a, a, dt, area);
    m[channel + 'ah' + positive] += area[0] / 3600;
    m[channel + 'ah' + negative] += area[1] / 3600;
    splitArea(prev.w, w, dt, area);
    m[channel + 'wh' + positive] += area[0] / 3600;
    m[channel + 'wh' + negative] += area[1] / 3600;
  }
  prev.at = now;
  prev.a = a;
  prev.w = w;
  prev.valid = true;
}

/**
 * The longest gap between readings that integration bridges: a few missed polls, no
 * more. firmware/src/app.ts writes the same `period * 5 + 1` inline, because calling
 * this costs the MCU's bundle bytes it does not have (test/bridge/i2c-source.test.ts
 * checks the two agree).
 */
export function maxEnergyGapS(pollPeriodS: number): number {
  return pollPeriodS * 5 + 1;
}
