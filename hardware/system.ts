/**
 * The physical system, once. Firmware, simulator, bridge, schematics and docs import
 * these values; nothing else may retype them. Units are SI (V, A, Ω, s) unless the
 * name says otherwise. ES5-safe: the firmware bundle includes this file.
 *
 * Sources: the blog in shared/seed (batteries, MP3735, HEP-600C-12 at 14.4 V, mains
 * below 12.0 V, cluster < 1.8 A at 13.4 V, LM393 + LM78C05 board), the INA219
 * datasheet (TI SBOS448), Espruino's board file for the Pico (boards/PICO_R1_3.py).
 */
import {
  ComparatorBoardParts, ComparatorChannelParts,
  comparatorTripPoints, solvePotWiper,
} from './comparator';

// ---------------------------------------------------------------------------
// MCU and pins

export const MCU_BOARD = {
  name: 'Espruino Pico',
  chip: 'STM32F401CDU6',
  firmware: 'Espruino 2v2x',
  /** analogRead() returns a fraction of this (the 3.3 V rail). */
  adcReferenceV: 3.3,
  adcBits: 12,
};

/**
 * Pin map. I2C1 sits on B8/B9, not on B6/B7, because B6/B7 are Serial1 and the Pico's
 * console falls back to Serial1 when USB is unplugged: keeping them apart means the
 * sensors never share pins with a UART.
 */
export const PINS = {
  i2cScl: 'B8',
  i2cSda: 'B9',
  /** ADC input of the solar divider (ADC1_IN5). Not 5 V tolerant in analog mode. */
  solarAdc: 'A5',
  /** Drives the default-ON REMOTE driver (see REMOTE_DRIVER). */
  remoteDriver: 'A8',
  serial1Tx: 'B6',
  serial1Rx: 'B7',
  ledRed: 'B2',
  ledGreen: 'B12',
  button: 'C13',
};

export const I2C_BUS = {
  /** Espruino's hardware I2C peripheral object name. */
  peripheral: 'I2C1',
  scl: PINS.i2cScl,
  sda: PINS.i2cSda,
  bitrateHz: 100000,
  /** 4.7 kΩ to 3.3 V: the breakouts carry 10 kΩ each; two in parallel plus these keep edges clean at 100 kHz on ~1 m of cable. */
  pullupOhms: 4700,
};

/** How the MCU talks to the host (the TS-7670 or any Linux box). */
export const HOST_LINK = {
  /** USB CDC: /dev/ttyACM0 on the host, powered by the host too. */
  port: 'USB',
  /** Used when the link is Serial1 (3.3 V TTL on B6/B7) instead of USB. */
  baud: 115200,
};

// ---------------------------------------------------------------------------
// Shunts and INA219 channels

export interface ShuntSpec {
  ratedA: number;
  ratedMillivolts: number;
  /** Derived: ratedMillivolts / 1000 / ratedA. */
  ohms: number;
}

export function shunt(ratedA: number, ratedMillivolts: number): ShuntSpec {
  return { ratedA: ratedA, ratedMillivolts: ratedMillivolts, ohms: ratedMillivolts / 1000 / ratedA };
}

/** The blog's shunts: 50 A / 75 mV, so 1.5 mΩ. */
export const SHUNT_50A_75MV = shunt(50, 75);

/** INA219 ADC setting codes (BADC/SADC field): 0x0–0x3 = 9–12 bit, 0x9–0xF = 2–128 sample averages. */
export const INA219_ADC_128_SAMPLES = 0xf;

export type ChannelId = 'battery' | 'load' | 'solar';

export interface Ina219ChannelSpec {
  id: ChannelId;
  /** 7-bit I²C address (0x40–0x4F, set by the A0/A1 straps). */
  address: number;
  /** How A1/A0 are strapped to get that address. */
  addressStraps: string;
  shunt: ShuntSpec;
  /** Largest current the channel must read without clipping; sets calibration and PGA. */
  maxCurrentA: number;
  /** True when current flows both ways (battery: charge positive, discharge negative). */
  bidirectional: boolean;
  /** What positive current means on this channel. */
  positiveMeans: string;
  /** Bus voltage range, 16 or 32 V. 32 V costs nothing: the bus LSB is 4 mV in both. */
  busRangeV: 16 | 32;
  adcSetting: number;
}

export const INA219_CHANNELS: { battery: Ina219ChannelSpec; load: Ina219ChannelSpec } = {
  battery: {
    id: 'battery',
    address: 0x40,
    addressStraps: 'A1=GND, A0=GND',
    shunt: SHUNT_50A_75MV,
    // Charger (≈40 A) and MP3735 (30 A) can charge at once: 80 A keeps that in range
    // (120 mV across the shunt, PGA ±160 mV) instead of clipping at the shunt's 50 A rating.
    maxCurrentA: 80,
    bidirectional: true,
    positiveMeans: 'charging (into the battery)',
    busRangeV: 32,
    adcSetting: INA219_ADC_128_SAMPLES,
  },
  load: {
    id: 'load',
    address: 0x41,
    addressStraps: 'A1=GND, A0=VS',
    shunt: SHUNT_50A_75MV,
    // The MP3735's load output is rated 30 A; the cluster draws < 1.8 A.
    maxCurrentA: 30,
    bidirectional: false,
    positiveMeans: 'delivered to the cluster',
    busRangeV: 32,
    adcSetting: INA219_ADC_128_SAMPLES,
  },
};

// ---------------------------------------------------------------------------
// Solar voltage input

export interface SolarAdcInput {
  kind: 'adc';
  pin: string;
  /** Divider from the panel's + to the ADC pin, and from the pin to ground. */
  rTop: number;
  rBottom: number;
  /** Highest panel voltage expected (cold open-circuit), for headroom checks. */
  maxPanelV: number;
}

export interface SolarIna219Input {
  kind: 'ina219';
  channel: Ina219ChannelSpec;
}

/**
 * Default: a divider into the ADC. 100 k / 12 k maps 24 V to 2.57 V (inside 3.3 V)
 * and reads up to 30.8 V; a 100 nF capacitor at the pin feeds the ADC's sample cap.
 * The alternative third INA219 (address 0x44) is described in SOLAR_INA219.
 */
export const SOLAR_INPUT: SolarAdcInput | SolarIna219Input = {
  kind: 'adc',
  pin: PINS.solarAdc,
  rTop: 100000,
  rBottom: 12000,
  maxPanelV: 24,
};

export const SOLAR_INA219: Ina219ChannelSpec = {
  id: 'solar',
  address: 0x44,
  addressStraps: 'A1=VS, A0=GND',
  shunt: SHUNT_50A_75MV,
  maxCurrentA: 30,
  bidirectional: false,
  positiveMeans: 'from the panel into the MP3735',
  busRangeV: 32,
  adcSetting: INA219_ADC_128_SAMPLES,
};

/** Panel volts per ADC volt for the divider. */
export function solarDividerGain(input: SolarAdcInput): number {
  return (input.rTop + input.rBottom) / input.rBottom;
}

// ---------------------------------------------------------------------------
// Power plant (from the blog)

export const BATTERY_BANK = {
  chemistry: 'AGM',
  count: 2,
  wiring: 'parallel',
  ahEach: 105,
  nominalV: 12,
};

export const SOLAR_CONTROLLER = {
  model: 'Powertech MP3735',
  ratedA: 30,
  /** It disconnects the load below this battery voltage. */
  loadDisconnectV: 11.0,
  /** Assumed sealed/AGM settings of this PWM controller (programmable on the unit). */
  boostV: 14.4,
  floatV: 13.7,
  /** Load back on, and boost again, above/below this (the usual default of such controllers). */
  loadReconnectV: 12.6,
};

/**
 * The panels: two 36-cell "12 V" modules of ≈ 150 W in parallel. Array Isc 17.8 A, with
 * the usual 1.25 margin for irradiance peaks 22 A, inside the MP3735's 30 A; a third
 * module (33 A) would exceed it, and one alone would not carry the cluster's ≈ 0.55 kWh
 * a day through a Brisbane winter. STC values per module.
 */
export const SOLAR_ARRAY = {
  modules: 2,
  cellsInSeries: 36,
  moduleRatedW: 150,
  moduleIscA: 8.9,
  moduleVocV: 21.6,
};

/** Where the installation is: the blog's author is in Brisbane (no daylight saving). */
export const SITE = {
  name: 'Brisbane, QLD',
  latitudeDeg: -27.47,
  longitudeDeg: 153.03,
  utcOffsetH: 10,
  /**
   * Air temperature range in the shed that houses the boards (assumed: Brisbane's
   * recorded extremes are about −2 °C and 43 °C outdoors; an unheated, sun-loaded
   * shed stays above freezing on winter mornings and reaches ≈ 50 °C in summer).
   * The comparator board's tolerance analysis runs over it.
   */
  shedMinC: 0,
  shedMaxC: 50,
};

export const MAINS_CHARGER = {
  model: 'Mean Well HEP-600C-12',
  /** Factory output setting, which the blog winds back up to. */
  chargeV: 14.4,
  /** Rated output current of the 12 V model (check your unit's label). */
  ratedA: 40,
  /**
   * REMOTE input: pulled low → charger ON; left to float to +5 V → OFF.
   * Logic-level thresholds we design against (below/above with margin).
   */
  remoteOnBelowV: 0.8,
  remoteOffAboveV: 4.0,
};

export const CLUSTER_LOAD = {
  /** Measured in the blog: below 1.8 A at 13.4 V, even under make -j8. */
  typicalA: 1.8,
  atV: 13.4,
};

// ---------------------------------------------------------------------------
// REMOTE driver (MCU side)

/**
 * Default-ON driver: Q1 (NPN) pulls REMOTE low whenever its base is fed from the
 * 5 V rail through rBaseQ1, so the charger is ON unless something acts. Q2 (NPN)
 * shunts Q1's base to ground when the MCU pin drives it high. A reset or unpowered MCU
 * leaves the pin high-Z, so Q2 is off (rPulldownQ2 holds its base low) → Q1 on →
 * REMOTE low → charger ON. So the MCU must actively hold the pin HIGH for OFF.
 * A hung MCU keeps its last pin level: the watchdog turns a hang into a reset, which
 * is why the firmware kicks it only from a completed control cycle.
 * The 5 V must come from the battery bus (its own LM78C05), never from the MCU or USB:
 * otherwise an unpowered MCU would also unpower Q1 and let REMOTE float → charger OFF.
 */
export const REMOTE_DRIVER = {
  pin: PINS.remoteDriver,
  /** Pin level that turns the charger OFF. */
  chargerOffLevel: 1 as 0 | 1,
  /** Pin level for charger ON (the MCU also drives it, not just floats it). */
  chargerOnLevel: 0 as 0 | 1,
  /** State the hardware falls to when the MCU is reset, hung or unpowered. */
  defaultState: 'charger ON',
  supplyV: 5.0,
  supplyFrom: 'LM78C05 on the battery bus (not the MCU, not USB)',
  rBaseQ1: 10000,
  rBaseQ2: 4700,
  // 10 k (not 100 k): Q2 then needs ≈ 0.95 V at the pin to turn on, so tens of µA of
  // pin leakage or noise on a floating pin cannot switch the charger OFF.
  rPulldownQ2: 10000,
  /**
   * REMOTE's pull-up to +5 V (the comparator board's R103 when it is fitted). 3.3 k, not the
   * blog's 4.7 k: the charger's REMOTE input current is unpublished, and the OFF level is this
   * pull-up against it. In the schematics' tolerance analysis (worst corners, 0–50 °C) 4.7 k
   * holds OFF above 4.0 V only into ≥ ≈ 27 kΩ (≈ 0.15 mA); 3.3 k into ≥ ≈ 19 kΩ (≈ 0.21 mA),
   * while the comparator board's worst ON level rises from ≈ 0.52 V to ≈ 0.58 V. 2.2 k would
   * take ≈ 12.5 kΩ but leave ON only ≈ 0.11 V under 0.8 V, and ON is the side that keeps the
   * batteries safe (a failed OFF only leaves the charger on). A heavier input needs an active
   * driver (see WIRING.md).
   */
  rRemotePullup: 3300,
  transistor: '2N3904',
};

// ---------------------------------------------------------------------------
// Comparator board (the blog's analogue design) and the thresholds derived from it

/** The blog's numbers the pots are trimmed to. */
export const BLOG_TARGETS = {
  /** "connect mains when the battery voltage drops below 12V". */
  batteryOnV: 12.0,
  /**
   * Our choice for the sun comparator's dark point: below the lowest battery voltage
   * the system runs at (the MP3735 drops the load at 11 V), so a panel under 10 V
   * cannot be charging anything; at night it sits near 0 V.
   */
  sunDownV: 10.0,
};

/**
 * LM393 DC figures from TI SLCS005 (LM393: 0 °C to 70 °C), Electrical Characteristics,
 * VCC = 5 V; ST's and onsemi's LM393 sheets give the same limits. "Full range" is
 * 0–70 °C. Typical figures are at 25 °C.
 */
export const LM393_DATASHEET = {
  operatingMinC: 0,
  operatingMaxC: 70,
  /** Low-level output voltage at 4 mA sink: 150 mV typical, 400 mV max at 25 °C, 700 mV max over full range. */
  outputLowTypV: 0.150,
  outputLowMaxV: 0.400,
  outputLowMaxFullRangeV: 0.700,
  outputLowAtSinkA: 0.004,
  /** Input offset voltage: 2 mV typical, 5 mV max at 25 °C, 9 mV max over full range. */
  inputOffsetTypV: 0.002,
  inputOffsetMaxV: 0.005,
  inputOffsetMaxFullRangeV: 0.009,
  /** Input bias current, out of the pins: 25 nA typical, 250 nA max at 25 °C, 400 nA max over full range. */
  inputBiasTypA: 25e-9,
  inputBiasMaxA: 250e-9,
  inputBiasMaxFullRangeA: 400e-9,
  /** Input offset current: 50 nA max at 25 °C. */
  inputOffsetCurrentMaxA: 50e-9,
  /** Common-mode input range: 0 to VCC − 1.5 V at 25 °C, 0 to VCC − 2 V over full range. */
  commonModeHeadroomV: 1.5,
  commonModeHeadroomFullRangeV: 2.0,
};

/**
 * The board's 5 V regulator (LM78C05, a 7805 in the L78/LM78xx family). ST L7805C and
 * onsemi LM7805 sheets: 4.80–5.00–5.20 V at TJ = 25 °C (±4 %, line and load included);
 * output drift −1.1 mV/°C typical (ST; onsemi −0.8 mV/°C), no limit given. The drift
 * bound below (0 to twice the typical) is our assumption.
 */
export const REGULATOR_7805_DATASHEET = {
  nominalV: 5.0,
  toleranceV: 0.2,
  driftTypVPerC: -1.1e-3,
  driftSpreadVPerC: 1.1e-3,
};

/**
 * Tolerances of the passive parts on the comparator board. Resistors: the BOM's 1 %
 * metal film (±50 ppm/°C is the usual grade; assumed) and the 5 % REMOTE pull-up
 * (±200 ppm/°C assumed). Trimmers: multi-turn cermet, ±10 % end to end and ±100 ppm/°C
 * (e.g. Bourns 3296; the wiper ratio tracks, the end-to-end value moves the divider).
 */
export const COMPARATOR_PART_TOLERANCES = {
  resistor: 0.01,
  resistorTcrPerC: 50e-6,
  remotePullup: 0.05,
  remotePullupTcrPerC: 200e-6,
  pot: 0.10,
  potTcrPerC: 100e-6,
};

/**
 * The commissioning trim of WIRING.md section 7, done at room temperature. The meter
 * (a 4½-digit DMM: ±(0.05 % + 2 mV) on its 20 V range) and how finely a 25-turn
 * trimmer can be set (about 1/40 turn, i.e. 1/1000 of its travel) are assumptions.
 */
export const COMMISSIONING_TRIM = {
  temperatureC: 25,
  meterGain: 0.0005,
  meterOffsetV: 0.002,
  potResolution: 0.001,
};

function channel(
  rTop: number, rPot: number, rBottom: number, rFeedback: number,
): ComparatorChannelParts {
  return { rTop: rTop, rPot: rPot, potWiper: 0.5, rBottom: rBottom, rIn: 10000, rFeedback: rFeedback, rPullup: 10000 };
}

function buildComparatorBoard(): ComparatorBoardParts {
  const board: ComparatorBoardParts = {
    vcc: 5.0,
    // 23.2 k / 10 k from the 5 V rail: Vref ≈ 1.506 V, low enough that the panel's
    // 22 V maps under the LM393's 3.5 V input limit.
    rRefTop: 23200,
    rRefBottom: 10000,
    // The typical LM393: firmware defaults follow the typical board, whose V_OL moves the
    // rising trips ≈ 22 mV below an ideal 0 V output (offset 0 is the mean of a signed spread).
    outputOnOhms: LM393_DATASHEET.outputLowTypV / LM393_DATASHEET.outputLowAtSinkA,
    inputOffsetV: 0,
    inputBiasA: LM393_DATASHEET.inputBiasTypA,
    inputHeadroomV: LM393_DATASHEET.commonModeHeadroomV,
    rRemotePullup: REMOTE_DRIVER.rRemotePullup,
    // BAT54-class Schottky at ≈ 1 mA (the schematics' diode model gives 0.30 V there).
    remoteDiodeDropV: 0.3,
    // Battery: 97.6 k + 5 k pot + 10 k, trimmed near mid-travel with ±20 % of range left
    // for the regulator's ±4 %; 464 k feedback puts the release ≈ 2 V above the trip:
    // ≈ 14.0 V, under the charger's 14.4 V so a charging bank always gets there, above
    // any resting AGM voltage so it only releases while charging.
    battery: channel(97600, 5000, 10000, 464000),
    // Sun: 95.3 k + 10 k pot + 10 k; 432 k feedback gives ≈ 2 V of hysteresis (≈ 12.0 V
    // to release), which a panel clears within minutes of sunrise.
    sun: channel(95300, 10000, 10000, 432000),
  };
  // The pots are trimmed at commissioning so the falling trips are the targets.
  board.battery.potWiper = solvePotWiper(board, board.battery, BLOG_TARGETS.batteryOnV);
  board.sun.potWiper = solvePotWiper(board, board.sun, BLOG_TARGETS.sunDownV);
  return board;
}

export const COMPARATOR_BOARD: ComparatorBoardParts = buildComparatorBoard();

export interface ChargerThresholds {
  /** Battery falls below → battery-low latch set → charger ON. */
  batteryOnV: number;
  /** Battery rises above → battery-low latch released. */
  batteryOffV: number;
  /** Panel falls below → sun-down latch set → charger ON. */
  sunDownV: number;
  /** Panel rises above → sun-down latch released. */
  sunUpV: number;
  /** Minimum time the charger stays in a state; 0 = like the comparators (none). */
  minDwellS: number;
}

/** The thresholds a comparator board implements: what the firmware must reproduce. */
export function thresholdsFromComparatorBoard(board: ComparatorBoardParts, minDwellS: number): ChargerThresholds {
  const battery = comparatorTripPoints(board, board.battery);
  const sun = comparatorTripPoints(board, board.sun);
  return {
    batteryOnV: battery.fallingV,
    batteryOffV: battery.risingV,
    sunDownV: sun.fallingV,
    sunUpV: sun.risingV,
    minDwellS: minDwellS,
  };
}

/** Firmware defaults: the comparator board's trip points, not retyped numbers. */
export const DEFAULT_THRESHOLDS: ChargerThresholds = thresholdsFromComparatorBoard(COMPARATOR_BOARD, 0);

/**
 * A forced OFF never holds the battery below this: above the MP3735's 11 V load
 * disconnect with margin for the voltage sag under a load burst.
 */
export const BATTERY_FLOOR_V = 11.8;

/** Sweep ranges used by the schematics' checks and the plausibility limits. */
export const VOLTAGE_RANGES = {
  battery: { min: 10, max: 15 },
  panel: { min: 0, max: 22 },
};
