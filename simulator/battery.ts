/**
 * AGM bank as a kinetic battery model (KiBaM, Manwell & McGowan) under an equivalent
 * circuit. The charge sits in two wells: an available well that the terminals reach
 * directly and a bound well that feeds it through a rate constant. A heavy current
 * empties (or fills) the available well before the bound one can follow, which gives
 * rate-dependent capacity and recovery after rest without any Peukert formula; the
 * resting voltage follows the available well's level, so a just-charged bank reads high
 * (surface charge) and a hard-discharged one low, relaxing as the wells even out.
 *
 * On top: an ohmic resistance, a charge overpotential whose acceptance shrinks as the
 * available well fills (the taper at constant voltage), a discharge overpotential that
 * grows when the available well runs dry, two RC branches for how it builds and
 * relaxes, a resting-voltage hysteresis that follows the direction of the last Ah moved,
 * coulombic efficiency that falls as the surface nears full (gassing, recombined in an
 * AGM), self-discharge, and ageing as a fraction of the nameplate capacity.
 *
 * This is the simulator's truth, and it must stay independent of the bridge's estimator
 * (bridge/src/battery: coulomb counting, Peukert, one efficiency, a resting-voltage
 * table): nothing here imports from there or from hardware/battery.ts.
 *
 * Current is positive into the battery (charging), like the battery INA219.
 */
import type { BatteryParams } from './plant-params';

/** Piecewise-linear interpolation in a table sorted by x, clamped at its ends. */
export function interpolate(table: ReadonlyArray<readonly [number, number]>, x: number): number {
  if (x <= table[0][0]) return table[0][1];
  const last = table.length - 1;
  if (x >= table[last][0]) return table[last][1];
  let i = 1;
  while (table[i][0] < x) i++;
  const [x0, y0] = table[i - 1];
  const [x1, y1] = table[i];
  return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

export class AgmBattery {
  /** Charge in the available and bound wells, Ah. */
  available: number;
  bound: number;
  /** Resting-voltage hysteresis state, −1 (after discharge) … +1 (after charge). */
  hysteresis = 0;
  /** Overpotential carried by each RC branch, volts. */
  vFast = 0;
  vSlow = 0;
  /** Usable capacity now: nameplate × usableFraction (ageing). */
  readonly capacityAh: number;
  private readonly p: BatteryParams;
  private readonly logAcceptance: Array<[number, number]>;
  private readonly r0: number;

  constructor(params: BatteryParams) {
    this.p = params;
    if (!(params.usableFraction > 0 && params.usableFraction <= 1.2)) {
      throw new RangeError(`battery.usableFraction must be in (0, 1.2], got ${params.usableFraction}`);
    }
    this.capacityAh = params.capacityAh * params.usableFraction;
    const q = Math.min(1, Math.max(0, params.initialSoc)) * this.capacityAh;
    this.available = q * params.kibamC;
    this.bound = q * (1 - params.kibamC);
    // Acceptance spans two decades: interpolate its logarithm so the taper is smooth.
    this.logAcceptance = params.acceptanceTable.map(([s, a]) => [s, Math.log(a)]);
    // A worn AGM loses plate area and gains resistance together (assumed proportional).
    this.r0 = params.r0Ohm / params.usableFraction;
  }

  /** True state of charge: all the charge in both wells over the usable capacity. */
  get soc(): number {
    return (this.available + this.bound) / this.capacityAh;
  }

  /** Fill level of the available well, 0..1: what the electrode surface sees. */
  get surface(): number {
    return this.available / (this.p.kibamC * this.capacityAh);
  }

  /** Resting voltage at a surface level (default: now), with the hysteresis offset. */
  ocv(level = this.surface): number {
    return interpolate(this.p.ocvTable, level) + this.p.hysteresisV * this.hysteresis;
  }

  /** Steady-state overpotential at a constant current and surface level. */
  steadyOverpotential(currentA: number, level = this.surface): number {
    const p = this.p;
    if (currentA >= 0) {
      const acceptance = Math.exp(interpolate(this.logAcceptance, level)) * p.usableFraction;
      return p.chargeSlopeV * Math.log(1 + currentA / acceptance);
    }
    const knee = level >= p.dischargeKneeSoc ? 1 : Math.max(level, 0) / p.dischargeKneeSoc;
    const ref = p.dischargeRefA * p.usableFraction * knee + 0.01;
    return -p.dischargeSlopeV * Math.log(1 - currentA / ref);
  }

  /**
   * Terminal voltage if `currentA` flows for the next `dtS` seconds: backward Euler on
   * the RC branches, so a stiff source (a charger in constant voltage) cannot make the
   * step oscillate however long it is.
   */
  terminalVoltage(currentA: number, dtS: number, ocv = this.ocv()): number {
    const eta = this.steadyOverpotential(currentA);
    return ocv + this.r0 * currentA + this.branchAfter(this.vFast, eta * this.p.fastShare, this.p.fastTauS, dtS) +
      this.branchAfter(this.vSlow, eta * (1 - this.p.fastShare), this.p.slowTauS, dtS);
  }

  /** Commits a step at `currentA` (the value the bus solution found). */
  step(currentA: number, dtS: number): void {
    const p = this.p;
    const eta = this.steadyOverpotential(currentA);
    this.vFast = this.branchAfter(this.vFast, eta * p.fastShare, p.fastTauS, dtS);
    this.vSlow = this.branchAfter(this.vSlow, eta * (1 - p.fastShare), p.slowTauS, dtS);
    const ah = currentA * dtS / 3600;
    // The hysteresis swings toward the direction of the charge moved, fully over hysteresisAh.
    const target = currentA > 0 ? 1 : -1;
    const swing = Math.min(1, Math.abs(ah) / p.hysteresisAh);
    this.hysteresis += (target - this.hysteresis) * swing;
    const stored = currentA > 0 ? ah * this.chargeEfficiency() : ah;
    this.available += stored;
    // Diffusion between the wells, exact for the step (a linear two-state exchange).
    const c = p.kibamC;
    const cap = this.capacityAh;
    const h1 = this.available / (c * cap);
    const h2 = this.bound / ((1 - c) * cap);
    const settled = (h1 - h2) * (1 - Math.exp(-p.kibamK * dtS / (c * (1 - c))));
    const moved = settled * c * (1 - c) * cap;
    this.available -= moved;
    this.bound += moved;
    // Self-discharge drains both wells in proportion to their charge.
    const keep = Math.exp(-p.selfDischargePerMonth * dtS / (30 * 86400));
    this.available *= keep;
    this.bound *= keep;
    // A well cannot hold less than nothing nor more than its share; what a full bank
    // refuses is gassed (an AGM recombines it), what an empty one cannot give the
    // terminal voltage has already refused by collapsing.
    if (this.available < 0) this.available = 0;
    if (this.available > c * cap) this.available = c * cap;
    if (this.bound > (1 - c) * cap) this.bound = (1 - c) * cap;
  }

  /** Fraction of the charging current stored; the rest gasses (recombines in an AGM). */
  chargeEfficiency(level = this.surface): number {
    const p = this.p;
    if (level <= p.gassingStartSoc) return p.chargeEfficiency;
    return Math.max(0, p.chargeEfficiency * (1 - level) / (1 - p.gassingStartSoc));
  }

  private branchAfter(v: number, target: number, tau: number, dt: number): number {
    const k = dt / tau;
    return (v + k * target) / (1 + k);
  }
}
