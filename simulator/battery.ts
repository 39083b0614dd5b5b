/**
 * AGM bank as an equivalent circuit: resting voltage from the state of charge, an ohmic
 * resistance, and an overpotential that follows the current through two RC branches.
 * The charge overpotential grows as the bank fills (charge acceptance tapers), so the
 * terminal voltage climbs under charge until a 14.4 V source can push only a few amps;
 * under discharge it sags a little, more so when the bank is nearly empty.
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
  soc: number;
  /** Overpotential carried by each RC branch, volts. */
  vFast = 0;
  vSlow = 0;
  private readonly p: BatteryParams;
  private readonly logAcceptance: Array<[number, number]>;

  constructor(params: BatteryParams) {
    this.p = params;
    this.soc = params.initialSoc;
    // Acceptance spans two decades: interpolate its logarithm so the taper is smooth.
    this.logAcceptance = params.acceptanceTable.map(([s, a]) => [s, Math.log(a)]);
  }

  ocv(soc = this.soc): number {
    return interpolate(this.p.ocvTable, soc);
  }

  /** Steady-state overpotential at a constant current (what the RC branches settle to). */
  steadyOverpotential(currentA: number, soc = this.soc): number {
    const p = this.p;
    if (currentA >= 0) {
      const acceptance = Math.exp(interpolate(this.logAcceptance, soc));
      return p.chargeSlopeV * Math.log(1 + currentA / acceptance);
    }
    const knee = soc >= p.dischargeKneeSoc ? 1 : Math.max(soc, 0) / p.dischargeKneeSoc;
    const ref = p.dischargeRefA * knee + 0.01;
    return -p.dischargeSlopeV * Math.log(1 - currentA / ref);
  }

  /**
   * Terminal voltage if `currentA` flows for the next `dtS` seconds: backward Euler on
   * the RC branches, so a stiff source (a charger in constant voltage) cannot make the
   * step oscillate however long it is.
   */
  terminalVoltage(currentA: number, dtS: number, ocv = this.ocv()): number {
    const eta = this.steadyOverpotential(currentA);
    return ocv + this.p.r0Ohm * currentA + this.branchAfter(this.vFast, eta * this.p.fastShare, this.p.fastTauS, dtS) +
      this.branchAfter(this.vSlow, eta * (1 - this.p.fastShare), this.p.slowTauS, dtS);
  }

  /** Commits a step at `currentA` (the value the bus solution found). */
  step(currentA: number, dtS: number): void {
    const p = this.p;
    const eta = this.steadyOverpotential(currentA);
    this.vFast = this.branchAfter(this.vFast, eta * p.fastShare, p.fastTauS, dtS);
    this.vSlow = this.branchAfter(this.vSlow, eta * (1 - p.fastShare), p.slowTauS, dtS);
    let stored = currentA;
    if (currentA > 0) stored *= this.chargeEfficiency();
    this.soc += stored * dtS / 3600 / p.capacityAh;
    if (this.soc > 1) this.soc = 1;
    if (this.soc < 0) this.soc = 0;
  }

  /** Fraction of the charging current stored; the rest gasses (recombines in an AGM). */
  chargeEfficiency(soc = this.soc): number {
    const p = this.p;
    if (soc <= p.gassingStartSoc) return p.chargeEfficiency;
    return Math.max(0, p.chargeEfficiency * (1 - soc) / (1 - p.gassingStartSoc));
  }

  private branchAfter(v: number, target: number, tau: number, dt: number): number {
    const k = dt / tau;
    return (v + k * target) / (1 + k);
  }
}
