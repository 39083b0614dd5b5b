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
 * - [INA219] TI INA219 datasheet SBOS448G, Electrical Characteristics (INA219B).
 * - [LA] the usual lead-acid behaviour near the top of charge (coulombic efficiency falls
 *   above ≈ 85–90 % state of charge as more of the current gasses).
 * - [assumed] our choice, with the reason beside it.
 *
 * ES5-safe: hardware/ is type-checked with the firmware's ES5 library.
 */
import { BATTERY_BANK, MAINS_CHARGER, SITE } from './system';

/** Resting (open-circuit) voltage of a 12 V block against state of charge at 25 °C: [soc 0..1, volts], soc ascending. */
export type OcvTable = Array<[number, number]>;

export interface BatteryMonitorParams {
  chemistry: string;
  /** NUT's battery.type for this chemistry. */
  nutType: string;
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
  /** Above this state of charge the charge efficiency falls linearly to gassingChargeEfficiency at full. */
  chargeTaperSoc: number;
  /** Fraction of the stored charge a resting bank loses in 30 days. */
  selfDischargePerMonth: number;
  /** Battery voltage at or above which the bank may be declared full. */
  chargedV: number;
  /** Charge current under which (with chargedV met) the bank is full, as a fraction of capacityAh per hour. */
  tailCurrentFraction: number;
  /** How long chargedV and the tail current must both hold. */
  chargedDetectionS: number;
  /** The chargers' absorption voltage: the tail current is the bank's acceptance there. */
  absorptionV: number;
  /**
   * Volts per decade of a near-full bank's acceptance current: below absorptionV the tail
   * current is scaled down by this, so a source that cannot reach the absorption voltage
   * (a clouded panel) is not mistaken for a bank that refuses the current.
   */
  tailSlopeVPerDecade: number;
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
  /** How far the measured battery voltage may be from the true one, as a fraction of it (the monitor chip's accuracy). */
  voltageErrorFraction: number;
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
  nutType: 'PbAc',
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
  // [LA] lead-acid coulombic efficiency stays high until ≈ 85–90 % state of charge and
  // falls toward the top of charge, whatever the voltage: 0.9, assumed within that range.
  chargeTaperSoc: 0.9,
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
  // [seed] the HEP-600C-12 holds 14.4 V (and the MP3735 boosts at the same, system.ts).
  absorptionV: MAINS_CHARGER.chargeV,
  // [assumed] the current a full lead-acid cell takes at constant voltage (gassing,
  // recombined in an AGM) rises about tenfold per 0.1 V a cell, ≈ 0.6 V a 12 V block.
  tailSlopeVPerDecade: 0.6,
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
  // [INA219] TI SBOS448G: bus voltage measurement error ±0.5 % at most at 25 °C for the
  // INA219B (±0.2 % typical): up to ±62 mV at 12.4 V, ±5 points of state of charge.
  voltageErrorFraction: 0.005,
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

/** The battery types `battery.type` selects; the seed's bank is AGM. */
export const BATTERY_TYPE_NAMES = ['agm', 'flooded', 'gel', 'lifepo4'] as const;
export type BatteryType = typeof BATTERY_TYPE_NAMES[number];
export const DEFAULT_BATTERY_TYPE: BatteryType = 'agm';

/** What changes with the chemistry; everything else (capacity, the monitor's own settings) does not. */
export type BatteryTypePreset = Pick<BatteryMonitorParams,
  'chemistry' | 'nutType' | 'peukertExponent' | 'chargeEfficiency' | 'gassingV' | 'gassingCurrentFraction' |
  'gassingChargeEfficiency' | 'chargeTaperSoc' | 'selfDischargePerMonth' | 'chargedV' | 'absorptionV' |
  'tailCurrentFraction' | 'tailSlopeVPerDecade' | 'floorSoc' | 'ocvTable' | 'ocvToleranceV'>;

/**
 * Presets by battery type. AGM is BATTERY_MONITOR above. The others, with sources as
 * above plus [FLA] typical 12 V flooded deep-cycle datasheets, [GEL] typical 12 V gel
 * datasheets, [LFP] typical 12.8 V (4S) LiFePO4 datasheets; each a class's usual figures,
 * not one make's. chargedV and absorptionV follow the chargers: set them again if the
 * chargers are set for the chemistry (a gel or LiFePO4 bank wants less than 14.4 V).
 */
export const BATTERY_TYPES: { [type in BatteryType]: BatteryTypePreset } = {
  agm: {
    chemistry: BATTERY_MONITOR.chemistry, nutType: BATTERY_MONITOR.nutType, peukertExponent: BATTERY_MONITOR.peukertExponent,
    chargeEfficiency: BATTERY_MONITOR.chargeEfficiency, gassingV: BATTERY_MONITOR.gassingV,
    gassingCurrentFraction: BATTERY_MONITOR.gassingCurrentFraction, gassingChargeEfficiency: BATTERY_MONITOR.gassingChargeEfficiency,
    chargeTaperSoc: BATTERY_MONITOR.chargeTaperSoc, selfDischargePerMonth: BATTERY_MONITOR.selfDischargePerMonth,
    chargedV: BATTERY_MONITOR.chargedV, absorptionV: BATTERY_MONITOR.absorptionV, tailCurrentFraction: BATTERY_MONITOR.tailCurrentFraction,
    tailSlopeVPerDecade: BATTERY_MONITOR.tailSlopeVPerDecade, floorSoc: BATTERY_MONITOR.floorSoc,
    ocvTable: BATTERY_MONITOR.ocvTable, ocvToleranceV: BATTERY_MONITOR.ocvToleranceV,
  },
  flooded: {
    chemistry: 'flooded lead-acid',
    nutType: 'PbAc',
    // [BMV] lead-acid default; [FLA] rate tables give ≈ 1.2–1.3.
    peukertExponent: 1.25,
    // [assumed] a vented cell loses its gas instead of recombining it: 90 %, under the BMV's 95 %.
    chargeEfficiency: 0.9,
    // [FLA] gassing from ≈ 2.38 V per cell; [assumed] half of a tapering current stored there.
    gassingV: 14.3,
    gassingCurrentFraction: 0.03,
    gassingChargeEfficiency: 0.5,
    // [LA]
    chargeTaperSoc: 0.85,
    // [FLA] 3–10 % a month at 25 °C depending on the grid alloy; [assumed] 5 %.
    selfDischargePerMonth: 0.05,
    chargedV: BATTERY_MONITOR.chargedV,
    absorptionV: BATTERY_MONITOR.absorptionV,
    // [FLA] end of charge when the current at absorption falls to ≈ 2 % of C20.
    tailCurrentFraction: 0.02,
    tailSlopeVPerDecade: BATTERY_MONITOR.tailSlopeVPerDecade,
    // [BMV]
    floorSoc: 0.5,
    // [FLA] resting voltages at 25 °C from the specific-gravity tables (1.265 full).
    ocvTable: [[0.0, 11.89], [0.25, 12.06], [0.5, 12.24], [0.75, 12.45], [1.0, 12.65]],
    // [assumed] stratified electrolyte spreads the resting voltage more than in an AGM.
    ocvToleranceV: 0.04,
  },
  gel: {
    chemistry: 'gel',
    nutType: 'PbAc',
    // [GEL] rate tables give ≈ 1.1–1.2; [assumed] 1.15.
    peukertExponent: 1.15,
    // [BMV] like the AGM, a recombining VRLA block; gassing as the AGM's.
    chargeEfficiency: 0.95,
    gassingV: 14.1,
    gassingCurrentFraction: 0.02,
    gassingChargeEfficiency: 0.6,
    chargeTaperSoc: 0.9,
    // [GEL] ≈ 2 % a month at 25 °C.
    selfDischargePerMonth: 0.02,
    // [GEL] absorption 14.1–14.4 V; [assumed] chargers at 14.1 V, charged 0.2 V under.
    chargedV: 13.9,
    absorptionV: 14.1,
    tailCurrentFraction: 0.01,
    tailSlopeVPerDecade: BATTERY_MONITOR.tailSlopeVPerDecade,
    floorSoc: 0.5,
    // [GEL] resting voltages at 25 °C: ≈ 12.9 V full, ≈ 12.35 V at half.
    ocvTable: [[0.0, 11.8], [0.25, 12.1], [0.5, 12.35], [0.75, 12.62], [1.0, 12.9]],
    ocvToleranceV: 0.03,
  },
  lifepo4: {
    chemistry: 'LiFePO4',
    nutType: 'LiFePO4',
    // [BMV] Victron's settings for lithium iron phosphate: Peukert 1.05, charge efficiency 99 %.
    peukertExponent: 1.05,
    chargeEfficiency: 0.99,
    // No gassing and no taper of the efficiency near full (a lithium cell does not gas).
    gassingV: 99,
    gassingCurrentFraction: 0,
    gassingChargeEfficiency: 0.99,
    chargeTaperSoc: 1,
    // [LFP] cells ≈ 1–3 % a month; [assumed] 3 % with the BMS's own draw.
    selfDischargePerMonth: 0.03,
    // [LFP] absorption 14.2 V (3.55 V a cell); [assumed] charged 0.2 V under it.
    chargedV: 14.0,
    absorptionV: 14.2,
    // [BMV] default tail current; [assumed] a lithium cell's current falls faster at constant voltage.
    tailCurrentFraction: 0.04,
    tailSlopeVPerDecade: 0.3,
    // [assumed] LiFePO4 cycles deep: 20 % keeps a reserve above the BMS's cut-off.
    floorSoc: 0.2,
    // [LFP] the flat plateau: 3.2–3.35 V a cell between 20 and 90 %; a resting voltage
    // there says little, and the resync's interval is wide accordingly.
    ocvTable: [[0.0, 10.0], [0.1, 12.8], [0.2, 12.9], [0.3, 13.0], [0.4, 13.05], [0.5, 13.1],
      [0.6, 13.15], [0.7, 13.2], [0.8, 13.25], [0.9, 13.3], [1.0, 13.4]],
    ocvToleranceV: 0.03,
  },
};

/** The monitor's parameters for a battery type: BATTERY_MONITOR with the type's preset over it (fresh copies). */
export function batteryMonitorFor(type: BatteryType): BatteryMonitorParams {
  const preset = BATTERY_TYPES[type];
  if (!preset) throw new RangeError('battery.type must be one of ' + BATTERY_TYPE_NAMES.join(', ') + ', got ' + JSON.stringify(type));
  const out = {} as { [key: string]: unknown };
  const base = BATTERY_MONITOR as unknown as { [key: string]: unknown };
  const over = preset as unknown as { [key: string]: unknown };
  for (const key in base) out[key] = base[key];
  for (const key in over) out[key] = over[key];
  const table = (out.ocvTable as OcvTable).map((point) => [point[0], point[1]] as [number, number]);
  out.ocvTable = table;
  return out as unknown as BatteryMonitorParams;
}

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
