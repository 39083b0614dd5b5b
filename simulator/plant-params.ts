/**
 * Parameters of the simulated plant that hardware/ does not (yet) hold: the physics of
 * the battery, the panels, the site and the weather, and the assumed behaviour of the
 * MP3735 and HEP-600C-12 beyond their ratings. Ratings and set points come from
 * hardware/ (BATTERY_BANK, SOLAR_CONTROLLER, MAINS_CHARGER, CLUSTER_LOAD, SOLAR_INPUT);
 * everything here says where its number comes from or that it is assumed.
 *
 * All of it is plain JSON data, written whole into run.json.
 */
import {
  BATTERY_BANK, CLUSTER_LOAD, MAINS_CHARGER, MCU_BOARD, SITE, SOLAR_ARRAY, SOLAR_CONTROLLER, SOLAR_INPUT,
} from '../hardware';

export interface BatteryParams {
  /** Nameplate capacity of the bank (its C20 rating), Ah. */
  capacityAh: number;
  /** Ageing: the capacity the bank still holds, as a fraction of the nameplate (1 = new). */
  usableFraction: number;
  /**
   * Kinetic battery model: the share of the charge in the available well, and the rate
   * constant (per second) of the flow between the wells.
   */
  kibamC: number;
  kibamK: number;
  /** Resting voltage against the available well's fill level, 25 °C: [level, volts], level ascending. */
  ocvTable: Array<[number, number]>;
  /** Resting voltage sits this much above the table after a charge and below it after a discharge. */
  hysteresisV: number;
  /** Charge moved (Ah) that swings the hysteresis fully from one side to the other. */
  hysteresisAh: number;
  /** Fraction of the stored charge lost per 30 days at 25 °C. */
  selfDischargePerMonth: number;
  /** Ohmic resistance of the bank (cells, straps, terminals). */
  r0Ohm: number;
  /**
   * Charge overpotential η = chargeSlopeV × ln(1 + I / Iacc(soc)). Iacc (amps) shrinks
   * as the bank fills, which is the charge-acceptance taper: [soc, Iacc].
   */
  chargeSlopeV: number;
  acceptanceTable: Array<[number, number]>;
  /** Discharge overpotential η = dischargeSlopeV × ln(1 + |I| / Id(soc)). */
  dischargeSlopeV: number;
  /** Id at high state of charge; it falls linearly below dischargeKneeSoc (acid depletion). */
  dischargeRefA: number;
  dischargeKneeSoc: number;
  /** The overpotential builds and relaxes through two RC branches (double layer, diffusion). */
  fastTauS: number;
  slowTauS: number;
  /** Share of the steady overpotential carried by the fast branch. */
  fastShare: number;
  /** Coulombic efficiency of charge below the surface level gassingStartSoc; above it falls linearly to 0 at full. */
  chargeEfficiency: number;
  gassingStartSoc: number;
  initialSoc: number;
}

export interface PanelParams {
  /** Identical modules in parallel. */
  modules: number;
  cellsInSeries: number;
  ratedW: number;
  /** STC (1000 W/m², 25 °C cell) per module. */
  iscA: number;
  vocV: number;
  /** Single-diode model per module: ideality per cell, series and shunt resistance. */
  ideality: number;
  rsOhm: number;
  rshOhm: number;
  /** Relative temperature coefficients per kelvin. */
  vocTempCoeff: number;
  iscTempCoeff: number;
  /** Nominal operating cell temperature (800 W/m², 20 °C air). */
  noctC: number;
  /** Tilt from horizontal, facing the equator. */
  tiltDeg: number;
  albedo: number;
}

export interface SiteParams {
  name: string;
  latitudeDeg: number;
  longitudeDeg: number;
  /** Local standard time offset from UTC (Queensland keeps no daylight saving). */
  utcOffsetH: number;
  ambientMeanC: number;
  ambientSwingC: number;
}

export interface WeatherParams {
  /** Mean fraction of the sky covered, 0 (clear) … 1 (overcast). */
  cloudiness: number;
  /** How far the cover wanders around its mean (latent Ornstein–Uhlenbeck amplitude). */
  cloudVariability: number;
  /** Correlation time of the cover. */
  cloudTimescaleS: number;
  /** Mean time between cloud-shadow edges at 50 % cover. */
  shadowEdgeS: number;
  /** Each day draws its own mean cover around `cloudiness` with this spread (0 = every day alike). */
  dayToDaySpread: number;
}

export interface SolarControllerParams {
  ratedA: number;
  /** PWM regulation targets (bulk/absorption, float). */
  boostV: number;
  floatV: number;
  /** Absorption time at boostV before dropping to float. */
  boostDurationS: number;
  /** Back to boost when the battery falls below this. */
  boostReturnV: number;
  loadDisconnectV: number;
  loadReconnectV: number;
  /** The battery must stay below loadDisconnectV this long (filters load bursts). */
  loadDisconnectDelayS: number;
  /** Panel to battery through the PWM switch and wiring. */
  panelPathOhm: number;
  /** Battery bus to the cluster through the load switch, the load shunt and wiring. */
  loadPathOhm: number;
  /** Regulation slope of the PWM loop around its target (A per V of error is 1/this). */
  regulationOhm: number;
  selfConsumptionA: number;
}

export interface ChargerParams {
  chargeV: number;
  ratedA: number;
  /** Output regulation slope plus the cable to the battery. */
  outputOhm: number;
  /** From REMOTE pulled low to current flowing. */
  turnOnDelayS: number;
}

export interface LoadParams {
  /** The blog's measurement: the cluster draws about this at this voltage. */
  nominalA: number;
  atV: number;
  /** Power between bursts, as a fraction of nominalA × atV. */
  baseFraction: number;
  /** Extra power during a burst (builds, backups), as a fraction of nominal. */
  burstFraction: number;
  burstMeanIntervalS: number;
  burstMeanDurationS: number;
  /** RMS of the slow wander of the base power, as a fraction. */
  jitterFraction: number;
  /**
   * Day-to-day change of the cluster's work: each day's power is the previous day's times
   * exp(N(0, spread)), kept between dayScaleMin and dayScaleMax (0 = every day alike).
   */
  dayToDaySpread: number;
  dayScaleMin: number;
  dayScaleMax: number;
}

export interface AdcParams {
  referenceV: number;
  bits: number;
  /** Divider from hardware/SOLAR_INPUT; each resistor is off by up to this fraction (1 % parts). */
  rTop: number;
  rBottom: number;
  resistorTolerance: number;
  /** STM32F4 ADC: RMS noise and worst-case offset, in LSB. */
  noiseLsb: number;
  offsetLsb: number;
}

export interface PlantParams {
  battery: BatteryParams;
  panel: PanelParams;
  site: SiteParams;
  weather: WeatherParams;
  controller: SolarControllerParams;
  charger: ChargerParams;
  load: LoadParams;
  adc: AdcParams;
  /** Longest plant integration step; events in between split it further. */
  maxStepS: number;
}

export function defaultPlantParams(): PlantParams {
  if (SOLAR_INPUT.kind !== 'adc') throw new Error('simulator: only the ADC solar input is modelled');
  return {
    battery: {
      capacityAh: BATTERY_BANK.count * BATTERY_BANK.ahEach,
      usableFraction: 1,
      // Assumed, checked against the rate table of typical 100–105 Ah AGM datasheets
      // (10 h, 5 h and 1 h capacities ≈ 93 %, 85 % and 60 % of the 20 h figure). The wells
      // alone give 98.5 %, 97 %, 94 % and 77 % of the total at the 20, 10, 5 and 1 h rates
      // (99.7 % at the cluster's ≈ 100 h rate); the discharge knee of the voltage (below)
      // takes the terminal to the 11 V cut-off before the well is dry at high rates. A
      // slower exchange (0.3 / h with c = 0.45) fits the discharge table alone but leaves
      // a constant-voltage charge at 95 % after 12 h, which no AGM does.
      kibamC: 0.5,
      kibamK: 0.8 / 3600,
      // Typical AGM resting voltages at 25 °C (12.85 V full, ≈ 12.2 V at half); below
      // 10 % the curve is the effective rest voltage of an exhausted bank, which is what
      // takes it to the MP3735's 11 V cut-off under the cluster's light load.
      ocvTable: [
        [0.00, 11.00], [0.03, 11.40], [0.10, 11.66], [0.20, 11.82], [0.30, 11.96], [0.40, 12.10],
        [0.50, 12.24], [0.60, 12.38], [0.70, 12.50], [0.80, 12.62], [0.90, 12.75], [1.00, 12.85],
      ],
      // Assumed: lead-acid resting voltage shows tens of millivolts of hysteresis between
      // charge and discharge; ± 15 mV, swung over ≈ 2 % of capacity.
      hysteresisV: 0.015,
      hysteresisAh: 4,
      // Typical AGM datasheets: ≈ 3 % a month at 25 °C.
      selfDischargePerMonth: 0.03,
      // A 105 Ah AGM block is ≈ 4–5 mΩ; two in parallel plus straps ≈ 2.5 mΩ.
      r0Ohm: 0.0025,
      // Acceptance is read at the available well's level. Fitted so a half-charged bank reads ≈ 13.7 V at 40 A (C/5), reaches 14.4 V near
      // 80 % at that current, and takes ≈ 4 A (2 % C) at 14.4 V when 95 % full and
      // ≈ 1.5 A when full: the usual shape of an AGM charge at constant voltage.
      chargeSlopeV: 0.3,
      acceptanceTable: [[0, 1.0], [0.5, 0.45], [0.8, 0.106], [0.9, 0.05], [0.95, 0.03], [0.98, 0.016], [1.0, 0.0086]],
      // ≈ 30 mV of sag at the cluster's 1.8 A, ≈ 0.17 V at C/10 with the ohmic part.
      dischargeSlopeV: 0.05,
      dischargeRefA: 2.0,
      dischargeKneeSoc: 0.2,
      // Assumed: the fast branch is the first minute of a step response, the slow one the
      // surface charge that keeps a just-charged AGM above 13 V for a while.
      fastTauS: 30,
      slowTauS: 1800,
      fastShare: 0.6,
      chargeEfficiency: 0.97,
      gassingStartSoc: 0.95,
      initialSoc: 0.8,
    },
    panel: {
      modules: SOLAR_ARRAY.modules,
      cellsInSeries: SOLAR_ARRAY.cellsInSeries,
      ratedW: SOLAR_ARRAY.moduleRatedW,
      iscA: SOLAR_ARRAY.moduleIscA,
      vocV: SOLAR_ARRAY.moduleVocV,
      // With these the module model gives ≈ 147 W at ≈ 17.7 V (checked in the tests).
      ideality: 1.2,
      rsOhm: 0.1,
      rshOhm: 200,
      vocTempCoeff: -0.0033,
      iscTempCoeff: 0.0005,
      noctC: 45,
      tiltDeg: 27.5,
      albedo: 0.2,
    },
    site: {
      name: SITE.name,
      latitudeDeg: SITE.latitudeDeg,
      longitudeDeg: SITE.longitudeDeg,
      utcOffsetH: SITE.utcOffsetH,
      ambientMeanC: 22,
      ambientSwingC: 5,
    },
    weather: {
      cloudiness: 0.15,
      cloudVariability: 1.0,
      cloudTimescaleS: 2400,
      shadowEdgeS: 120,
      dayToDaySpread: 0,
    },
    controller: {
      ratedA: SOLAR_CONTROLLER.ratedA,
      // Set points from hardware/; 2 h absorption assumed.
      boostV: SOLAR_CONTROLLER.boostV,
      floatV: SOLAR_CONTROLLER.floatV,
      boostDurationS: 2 * 3600,
      boostReturnV: SOLAR_CONTROLLER.loadReconnectV,
      loadDisconnectV: SOLAR_CONTROLLER.loadDisconnectV,
      loadReconnectV: SOLAR_CONTROLLER.loadReconnectV,
      loadDisconnectDelayS: 5,
      panelPathOhm: 0.015,
      loadPathOhm: 0.02,
      regulationOhm: 0.005,
      selfConsumptionA: 0.01,
    },
    charger: {
      chargeV: MAINS_CHARGER.chargeV,
      ratedA: MAINS_CHARGER.ratedA,
      outputOhm: 0.005,
      turnOnDelayS: 0.3,
    },
    load: {
      nominalA: CLUSTER_LOAD.typicalA,
      atV: CLUSTER_LOAD.atV,
      // Idle ≈ 1.6 A, builds push it to ≈ 2.2 A for a few minutes: a mean near the
      // blog's 1.8 A with the bursts the issue asks for.
      baseFraction: 0.89,
      burstFraction: 0.33,
      burstMeanIntervalS: 15 * 60,
      burstMeanDurationS: 4 * 60,
      jitterFraction: 0.02,
      dayToDaySpread: 0,
      dayScaleMin: 0.5,
      dayScaleMax: 4,
    },
    adc: {
      referenceV: MCU_BOARD.adcReferenceV,
      bits: MCU_BOARD.adcBits,
      rTop: SOLAR_INPUT.rTop,
      rBottom: SOLAR_INPUT.rBottom,
      resistorTolerance: 0.01,
      noiseLsb: 1.5,
      offsetLsb: 2,
    },
    maxStepS: 1,
  };
}
