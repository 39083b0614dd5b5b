/**
 * The battery bank as the bridge's state-of-charge estimator sees it: the bank's ratings
 * and the monitor's parameters, each with where its number comes from. The simulator's
 * battery (simulator/battery.ts) is a separate physical model with its own sourced
 * numbers, so the estimator is never judged against these same equations.
 *
 * Sources:
 * - [seed] the blog in shared/seed: "two 105Ah 12V AGM batteries", charger at 14.4 V.
 * - [BMV] Victron Energy, BMV-700 series manual, battery settings (charged detection
 *   time 3 min, Peukert 1.25 for lead acid, charge efficiency factor 95 %, current
 *   threshold 0.1 A, time-to-go averaging 3 min, discharge floor 50 %, charged voltage
 *   13.2 V and tail current 4 % as its factory defaults), and the SmartShunt manual §7.1.
 * - [AGM] typical 12 V 100–105 Ah AGM deep-cycle datasheets (resting voltage table at
 *   25 °C, self-discharge ≈ 3 %/month at 25 °C, end of charge at absorption voltage when
 *   the current falls to ≈ 1–2 % of C20). The blog does not name the make, so these are
 *   the class's typical figures, not a measured unit's.
 * - [assumed] our choice, with the reason beside it.
 *
 * ES5-safe: hardware/ is type-checked with the firmware's ES5 library.
 */
import { BATTERY_BANK, SITE } from './system';

/** Resting (open-circuit) voltage of a 12 V AGM block against state of charge at 25 °C: [soc 0..1, volts], soc ascending. */
export type OcvTable = Array<[number, number]>;

export interface BatteryMonitorParams {
  chemistry: string;
  /** Nameplate capacity of the whole bank at the 20-hour rate, Ah. */
  capacityAh: number;
  /** The rate the nameplate capacity is given at, hours (Peukert's reference current is capacityAh / ratedHours). */
  ratedHours: number;
  nominalV: number;
  /** Peukert exponent applied to discharge currents above the rated current. */
  peukertExponent: number;
  /** Fraction of the charge current that ends up stored. */
  chargeEfficiency: number;
  /**
   * A bank charging at or above gassingV with less than gassingCurrentFraction of its
   * capacity per hour going in is near full and gassing: only gassingChargeEfficiency of
   * that current is stored.
   */
  gassingV: number;
  gassingCurrentFraction: number;
  gassingChargeEfficiency: number;
  /** Fraction of the stored charge a resting bank loses in 30 days. */
  selfDischargePerMonth: number;
  /** Battery voltage at or above which the bank may be declared full. */
  chargedV: number;
  /** Charge current under which (with chargedV met) the bank is full, as a fraction of capacityAh per hour. */
  tailCurrentFraction: number;
  /** How long chargedV and the tail current must both hold. */
  chargedDetectionS: number;
  /** |current| below this counts as zero (offset and noise of the shunt monitor). */
  zeroCurrentA: number;
  /** Time constant of the smoothed discharge current behind time-to-go. */
  timeToGoAveragingS: number;
  /** Time to go counts down to this state of charge (the discharge floor). */
  floorSoc: number;
  /** Resting voltage resync: |current| must stay below this … */
  restCurrentA: number;
  /** … for this long before the voltage is read as open-circuit. */
  restS: number;
  ocvTable: OcvTable;
  /** How far a resting voltage may sit from the table (hysteresis, temperature, make), volts. */
  ocvToleranceV: number;
  /** Largest current the battery channel can plausibly carry; beyond it a reading is not believed. */
  maxPlausibleA: number;
  /** Capacity is learned only from discharges at least this deep (fraction of capacity). */
  learnMinDepth: number;
  /**
   * Starting value of the bank's effective resistance under a steady light discharge
   * (ohmic plus polarisation), volts of sag per amp; the estimator re-learns it early in
   * each discharge and uses it to read a loaded voltage as a resting one.
   */
  loadedResistanceOhm: number;
}

export const BATTERY_MONITOR: BatteryMonitorParams = {
  chemistry: BATTERY_BANK.chemistry,
  // [seed] 2 × 105 Ah in parallel.
  capacityAh: BATTERY_BANK.count * BATTERY_BANK.ahEach,
  // [AGM] deep-cycle AGM blocks are rated at C20.
  ratedHours: 20,
  nominalV: BATTERY_BANK.nominalV,
  // [BMV] default for lead acid when the datasheet gives no exponent. Only applied above
  // the rated (C20) current: below it Peukert's law would promise more than the bank holds.
  peukertExponent: 1.25,
  // [BMV] default charge efficiency factor.
  chargeEfficiency: 0.95,
  // [AGM] gassing starts at ≈ 2.35 V per cell (14.1 V) at 25 °C. [assumed] Once the
  // current at that voltage has tapered under 2 % of C (twice the tail current, where a
  // bank is ≈ 95 % full) a large share goes to gas (recombined in an AGM): 60 % stored.
  // A single efficiency (the BMV's) over-counts the end of every charge, which a bank
  // topped up daily between syncs turns into points of error; applied at any current
  // above 14.1 V it would under-count a bulk charge that reaches 14.4 V at 70 %.
  gassingV: 14.1,
  gassingCurrentFraction: 0.02,
  gassingChargeEfficiency: 0.6,
  // [AGM] ≈ 3 % a month at 25 °C.
  selfDischargePerMonth: 0.03,
  // [assumed] The BMV's 13.2 V default suits a charger that floats at 13.5 V; here the
  // HEP-600C-12 holds 14.4 V [seed] and the MP3735 absorbs at 14.4 V, so 14.2 V (0.2 V
  // under the charge voltage, the BMV manual's rule for the charged voltage) is only met
  // in absorption, never by a bank that merely floats at 13.7 V after a partial charge.
  chargedV: 14.2,
  // [AGM] end of charge at ≈ 1–2 % of C20 at absorption voltage; 1 % (2.1 A for 210 Ah),
  // above the ≈ 1–1.5 A a full bank still gasses at 14.4 V. The BMV's 4 % default would
  // call a bank full several points early at 14.4 V.
  tailCurrentFraction: 0.01,
  // [BMV] default charged detection time.
  chargedDetectionS: 180,
  // [BMV] default current threshold.
  zeroCurrentA: 0.1,
  // [BMV] default time-to-go averaging period.
  timeToGoAveragingS: 180,
  // [BMV] default discharge floor for lead acid.
  floorSoc: 0.5,
  // [assumed] An AGM's surface charge and diffusion settle within a few hours; the cluster
  // never lets the bank rest fully, so "rested" means under 0.5 A (C/400) for 3 h, when
  // the remaining polarisation is a few tens of millivolts.
  restCurrentA: 0.5,
  restS: 3 * 3600,
  // [AGM] typical resting voltages at 25 °C (12.8–12.9 V full, ≈ 12.2–12.3 V at 50 %,
  // ≈ 11.5–11.8 V when exhausted at the C20 rate).
  ocvTable: [
    [0.0, 11.5], [0.1, 11.7], [0.2, 11.84], [0.3, 11.98], [0.4, 12.12], [0.5, 12.25],
    [0.6, 12.38], [0.7, 12.5], [0.8, 12.63], [0.9, 12.75], [1.0, 12.85],
  ],
  // [assumed] ≈ 25 mV of hysteresis and residual polarisation after a 3 h rest.
  ocvToleranceV: 0.025,
  // [assumed] The battery INA219 is calibrated to 80 A (hardware/system.ts); anything past
  // twice that is a corrupted reading, not a current.
  maxPlausibleA: 160,
  // [assumed] Capacity is read from how far the voltage falls over the discharge: over
  // 25 % of capacity that is ≈ 0.3 V, so the ≈ 25 mV the voltage may be off costs < 10 %
  // per cycle, and cycles are averaged. Shallower cycles teach nothing.
  learnMinDepth: 0.25,
  // [AGM] a charged 105 Ah block is ≈ 4–5 mΩ (so ≈ 2.5 mΩ for two in parallel); a steady
  // C/100–C/20 discharge adds polarisation of a few tens of millivolts. [assumed] 20 mΩ
  // overall to start with; the estimator replaces it with what it measures.
  loadedResistanceOhm: 0.02,
};

/**
 * Where the night forecast's sunrise and sunset come from: computed from the site's
 * latitude and longitude (hardware/system.ts SITE) with the NOAA solar position
 * approximation, the sun's upper limb at the horizon (−0.833° with refraction).
 */
export const SUN_TIMES_SOURCE = {
  site: SITE,
  method: 'NOAA solar position approximation',
  horizonDeg: -0.833,
};
