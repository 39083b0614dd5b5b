/**
 * INA219 driver: pure register logic over a tiny transport, so the same code runs on
 * the Espruino (I2C object), on Linux (i2c-bus) and against the simulator's register
 * model. No I/O and no clock of its own.
 *
 * Error convention: transports THROW on a failed transfer (that is what Espruino's
 * I2C does); the driver catches at its boundary and returns every outcome as a value
 * (`Ina219Reading.flags`), so a poll loop never has to catch anything.
 */

export const INA219_REG_CONFIG = 0x00;
export const INA219_REG_SHUNT = 0x01;
export const INA219_REG_BUS = 0x02;
export const INA219_REG_POWER = 0x03;
export const INA219_REG_CURRENT = 0x04;
export const INA219_REG_CALIBRATION = 0x05;

/** Configuration register value after power-on or reset. */
export const INA219_RESET_CONFIG = 0x399f;
/** Writing this bit resets every register; it clears itself. */
export const INA219_CONFIG_RST = 0x8000;

export const INA219_BUS_CNVR = 0x02;
export const INA219_BUS_OVF = 0x01;

export const INA219_SHUNT_LSB_V = 10e-6;
export const INA219_BUS_LSB_V = 4e-3;

/** Operating modes (config bits 2..0). */
export const INA219_MODE_POWER_DOWN = 0;
export const INA219_MODE_SHUNT_TRIGGERED = 1;
export const INA219_MODE_BUS_TRIGGERED = 2;
export const INA219_MODE_BOTH_TRIGGERED = 3;
export const INA219_MODE_ADC_OFF = 4;
export const INA219_MODE_SHUNT_CONTINUOUS = 5;
export const INA219_MODE_BUS_CONTINUOUS = 6;
export const INA219_MODE_BOTH_CONTINUOUS = 7;

/** PGA full-scale shunt ranges, indexed by the PG field (÷1, ÷2, ÷4, ÷8). */
export const INA219_PGA_MILLIVOLTS = [40, 80, 160, 320];

/** Result flags of one read. 0 means a fresh, valid, in-range reading. */
export const INA_FLAG_COMM = 1;
export const INA_FLAG_OVF = 2;
export const INA_FLAG_RESET = 4;
export const INA_FLAG_STALE = 8;

export interface Ina219Transport {
  /** Writes a 16-bit register, most significant byte first. Throws on failure. */
  writeRegister(address: number, register: number, value: number): void;
  /** Reads a 16-bit register as an unsigned 0..65535. Throws on failure. */
  readRegister(address: number, register: number): number;
}

export interface Ina219Calibration {
  /** Value for the calibration register (bit 0 clear). */
  calibration: number;
  /** Amps per current-register count. */
  currentLsbA: number;
  /** Watts per power-register count (20 × currentLsbA). */
  powerLsbW: number;
  /** Smallest PGA range, in mV, that covers maxCurrentA × shuntOhms. */
  pgaMillivolts: number;
}

const CALIBRATION_SCALE = 0.04096;
const CALIBRATION_MAX = 0xfffe;

/** The smallest of 1, 2, 5 × 10^n that is at least `x`: the datasheet's "round number above the minimum". */
function roundUp125(x: number): number {
  const base = Math.pow(10, Math.floor(Math.log(x) / Math.LN10));
  const steps = [1, 2, 5];
  for (let i = 0; i < steps.length; i++) {
    // The tolerance absorbs log10 rounding, so 1e-4 itself stays 1e-4.
    if (steps[i] * base >= x * (1 - 1e-9)) return steps[i] * base;
  }
  return 10 * base;
}

/**
 * Calibration per the INA219 datasheet (SBOS448, "Programming the Calibration
 * Register"): Current_LSB ≥ maxCurrent / 2^15, rounded up to a round number;
 * Cal = trunc(0.04096 / (Current_LSB × R)) with bit 0 clear; Power_LSB = 20 × Current_LSB.
 * The returned LSB is the one the chip really applies with the truncated Cal
 * (0.04096 / (Cal × R)), so register × LSB equals Vshunt / R; for round cases such
 * as the datasheet's 0.1 Ω / 3.2 A example it is exactly the nominal 100 µA.
 * Throws on inputs no INA219 can measure: that is a configuration error.
 */
export function ina219Calibration(shuntOhms: number, maxCurrentA: number): Ina219Calibration {
  if (!(shuntOhms > 0 && maxCurrentA > 0 && shuntOhms < Infinity && maxCurrentA < Infinity)) {
    throw new Error('INA219 calibration: shunt ohms and max current must be positive numbers');
  }
  const fullScaleMv = maxCurrentA * shuntOhms * 1000;
  let pga = -1;
  for (let i = 0; i < INA219_PGA_MILLIVOLTS.length; i++) {
    if (INA219_PGA_MILLIVOLTS[i] >= fullScaleMv * (1 - 1e-9)) { pga = INA219_PGA_MILLIVOLTS[i]; break; }
  }
  if (pga < 0) {
    throw new Error('INA219: ' + maxCurrentA + ' A x ' + shuntOhms + ' ohm = ' + fullScaleMv + ' mV > 320 mV');
  }
  const nominalLsb = roundUp125(maxCurrentA / 32768);
  let cal = Math.floor(CALIBRATION_SCALE / (nominalLsb * shuntOhms) + 1e-9);
  if (cal > CALIBRATION_MAX) cal = CALIBRATION_MAX;
  cal = cal & CALIBRATION_MAX;
  if (cal < 2) throw new Error('INA219: no usable calibration');
  const lsb = CALIBRATION_SCALE / (cal * shuntOhms);
  return { calibration: cal, currentLsbA: lsb, powerLsbW: 20 * lsb, pgaMillivolts: pga };
}

/** Conversion time in seconds of one ADC setting code (BADC/SADC field), per the datasheet's table. */
export function ina219ConversionTimeS(adcCode: number): number {
  const code = adcCode & 0xf;
  if (code < 8) return [84e-6, 148e-6, 276e-6, 532e-6][code & 3];
  return [532e-6, 1.06e-3, 2.13e-3, 4.26e-3, 8.51e-3, 17.02e-3, 34.05e-3, 68.1e-3][code - 8];
}

/** Seconds from a (re)configuration until a conversion is ready, for a mode and ADC settings. */
export function ina219ReadyAfterS(mode: number, busAdc: number, shuntAdc: number): number {
  return (mode & 1 ? ina219ConversionTimeS(shuntAdc) : 0) + (mode & 2 ? ina219ConversionTimeS(busAdc) : 0);
}

export function ina219ConfigWord(busRangeV: number, pgaIndex: number, busAdc: number, shuntAdc: number, mode: number): number {
  return ((busRangeV === 32 ? 1 : 0) << 13) | ((pgaIndex & 3) << 11) | ((busAdc & 0xf) << 7) |
    ((shuntAdc & 0xf) << 3) | (mode & 7);
}

function signed16(v: number): number {
  return v & 0x8000 ? v - 0x10000 : v;
}

function hex(v: number): string {
  return '0x' + (v < 16 ? '0' : '') + v.toString(16);
}

export interface Ina219Options {
  shuntOhms: number;
  maxCurrentA: number;
  /** 16 or 32 (default 32: same 4 mV LSB, more headroom). */
  busRangeV?: number;
  /** ADC setting codes (default 0xF = 128-sample averages, 68.1 ms each). */
  busAdc?: number;
  shuntAdc?: number;
  /** Operating mode (default continuous shunt and bus). Triggered modes re-trigger after each read. */
  mode?: number;
  /** Step the PGA up when the shunt clips (default true). */
  autoRange?: boolean;
}

export interface Ina219Reading {
  /** INA_FLAG_* bits; 0 = fresh and valid. */
  flags: number;
  /** Bus voltage (VIN− to GND) in volts, null unless fresh. */
  busV: number | null;
  shuntV: number | null;
  /** Signed current in amps (positive VIN+ → VIN−), null when unknown or clipped. */
  currentA: number | null;
  /** Signed power in watts (sign of the current), null when unknown or clipped. */
  powerW: number | null;
  /** What went wrong, for a person; null when flags is 0. */
  error: string | null;
}

export interface Ina219Stats {
  reads: number;
  commErrors: number;
  resets: number;
  overflows: number;
  stale: number;
  rangeUps: number;
}

export class Ina219 {
  readonly address: number;
  readonly calibration: Ina219Calibration;
  readonly stats: Ina219Stats = { reads: 0, commErrors: 0, resets: 0, overflows: 0, stale: 0, rangeUps: 0 };
  /** The PGA index in use; starts at the calibration's and may step up on clipping. */
  pgaIndex: number;
  private readonly transport: Ina219Transport;
  private readonly shuntOhms: number;
  private readonly busRangeV: number;
  private readonly busAdc: number;
  private readonly shuntAdc: number;
  private readonly mode: number;
  private readonly autoRange: boolean;
  /** False until configure() succeeds, and again after a failed transfer (read() retries). */
  configured = false;
  /** 'INA219 0x40', the prefix of every message. */
  private readonly name: string;

  /** `calibration` is ina219Calibration(options.shuntOhms, options.maxCurrentA), or the same
   * computed ahead of time (the firmware bakes it in at build time); createIna219 does both. */
  constructor(transport: Ina219Transport, address: number, options: Ina219Options, calibration: Ina219Calibration) {
    if (!(address >= 0x40 && address <= 0x4f)) throw new Error('INA219 address ' + hex(address) + ' not in 0x40-0x4f');
    this.transport = transport;
    this.address = address;
    this.shuntOhms = options.shuntOhms;
    this.calibration = calibration;
    this.busRangeV = options.busRangeV === 16 ? 16 : 32;
    this.busAdc = options.busAdc === undefined ? 0xf : options.busAdc;
    this.shuntAdc = options.shuntAdc === undefined ? 0xf : options.shuntAdc;
    this.mode = options.mode === undefined ? INA219_MODE_BOTH_CONTINUOUS : options.mode;
    this.autoRange = options.autoRange !== false;
    this.pgaIndex = INA219_PGA_MILLIVOLTS.indexOf(this.calibration.pgaMillivolts);
    this.name = 'INA219 ' + hex(address);
  }

  /** The configuration word the chip should hold. */
  configWord(): number {
    return ina219ConfigWord(this.busRangeV, this.pgaIndex, this.busAdc, this.shuntAdc, this.mode);
  }


  /**
   * Writes configuration and calibration and reads both back. Returns null on success,
   * or what failed (a NACK, or a device that does not hold what was written).
   */
  configure(): string | null {
    this.configured = false;
    try {
      this.writeSetup();
      const cfg = this.transport.readRegister(this.address, INA219_REG_CONFIG);
      const cal = this.transport.readRegister(this.address, INA219_REG_CALIBRATION);
      if (cfg !== this.configWord() || cal !== this.calibration.calibration) {
        return this.name + ' setup not kept (config ' + hex(cfg) + ', cal ' + cal + ')';
      }
    } catch (e) {
      this.stats.commErrors++;
      return this.name + ': ' + errorMessage(e);
    }
    this.configured = true;
    return null;
  }

  /**
   * One poll. Never throws. Order matters: configuration first (to catch a chip that
   * reset since the last poll), then bus (CNVR/OVF), shunt, current, and power last,
   * because reading power clears CNVR and so marks this conversion as consumed.
   */
  read(): Ina219Reading {
    this.stats.reads++;
    if (!this.configured) {
      const err = this.configure();
      if (err !== null) return failed(INA_FLAG_COMM, err);
      // Freshly configured: the first conversion is not ready yet.
      this.stats.stale++;
      return failed(INA_FLAG_STALE, this.name + ' configured');
    }
    const t = this.transport;
    const a = this.address;
    try {
      const cfg = t.readRegister(a, INA219_REG_CONFIG);
      const cal = t.readRegister(a, INA219_REG_CALIBRATION);
      if (cfg !== this.configWord() || cal !== this.calibration.calibration) {
        // A brown-out or glitch reset the chip (config back to 0x399F, calibration 0):
        // its current and power would read 0 A. Restore and skip this poll.
        this.stats.resets++;
        this.writeSetup();
        return failed(INA_FLAG_RESET | INA_FLAG_STALE, this.name + ' had reset (config ' + hex(cfg) + ', cal ' + cal + '), restored');
      }
      const bus = t.readRegister(a, INA219_REG_BUS);
      if (!(bus & INA219_BUS_CNVR)) {
        this.stats.stale++;
        return failed(INA_FLAG_STALE, this.name + ': no new conversion');
      }
      const shuntRaw = signed16(t.readRegister(a, INA219_REG_SHUNT));
      const currentRaw = signed16(t.readRegister(a, INA219_REG_CURRENT));
      const powerRaw = t.readRegister(a, INA219_REG_POWER);
      if (this.mode >= INA219_MODE_SHUNT_TRIGGERED && this.mode <= INA219_MODE_BOTH_TRIGGERED) {
        t.writeRegister(a, INA219_REG_CONFIG, this.configWord());
      }
      const busV = (bus >> 3) * INA219_BUS_LSB_V;
      const fullScale = INA219_PGA_MILLIVOLTS[this.pgaIndex] * 100;
      if (shuntRaw >= fullScale || shuntRaw <= -fullScale) {
        // The shunt ADC saturates at the PGA's full scale: the value is a clip, not a
        // measurement. Report the bus voltage (unaffected) and widen the range.
        this.stats.overflows++;
        const r = failed(INA_FLAG_OVF, this.name + ': shunt clipped at ' + (fullScale / 100) + ' mV');
        r.busV = busV;
        if (this.autoRange && this.pgaIndex < 3) {
          this.pgaIndex++;
          this.stats.rangeUps++;
          t.writeRegister(a, INA219_REG_CONFIG, this.configWord());
          r.error += ', range now ' + INA219_PGA_MILLIVOLTS[this.pgaIndex] + ' mV';
        }
        return r;
      }
      const shuntV = shuntRaw * INA219_SHUNT_LSB_V;
      let currentA: number;
      let powerW: number;
      if (bus & INA219_BUS_OVF) {
        // The chip's current/power arithmetic overflowed but the shunt voltage itself is
        // in range, so the current is still known exactly from Ohm's law.
        currentA = shuntV / this.shuntOhms;
        powerW = currentA * busV;
      } else {
        currentA = currentRaw * this.calibration.currentLsbA;
        // The power register holds a magnitude; it takes the current's sign.
        powerW = powerRaw * this.calibration.powerLsbW * (currentRaw < 0 ? -1 : 1);
      }
      return { flags: 0, busV: busV, shuntV: shuntV, currentA: currentA, powerW: powerW, error: null };
    } catch (e) {
      this.stats.commErrors++;
      this.configured = false;
      return failed(INA_FLAG_COMM, this.name + ': ' + errorMessage(e));
    }
  }

  private writeSetup(): void {
    this.transport.writeRegister(this.address, INA219_REG_CONFIG, this.configWord());
    this.transport.writeRegister(this.address, INA219_REG_CALIBRATION, this.calibration.calibration);
  }
}

/** A driver with the datasheet calibration for its shunt and current range. */
export function createIna219(transport: Ina219Transport, address: number, options: Ina219Options): Ina219 {
  return new Ina219(transport, address, options, ina219Calibration(options.shuntOhms, options.maxCurrentA));
}

function failed(flags: number, error: string): Ina219Reading {
  return { flags: flags, busV: null, shuntV: null, currentA: null, powerW: null, error: error };
}

/** The message of a thrown Error, or the thrown value as text. */
export function errorMessage(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}
