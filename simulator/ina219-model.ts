/**
 * Register-level model of a TI INA219 (SBOS448) on the virtual I²C bus.
 *
 * It behaves the way the driver must cope with, not the way the driver hopes:
 * configuration and calibration write semantics (RST, calibration bit 0 forced to 0),
 * shunt/bus/current/power registers computed from a true current and bus voltage with
 * 10 µV / 4 mV quantisation, gain and offset error, noise that averaging reduces, PGA
 * clipping and the OVF flag, conversions that complete on the clock per the ADC
 * settings (CNVR set on completion, cleared by a power-register read or a config
 * write), triggered and power-down modes, and injected faults: NACK, a spontaneous
 * reset to 0x399F, and a frozen ADC.
 *
 * Modelling choices the datasheet leaves open are marked "assumed".
 */
import type { I2cDevice } from './i2c-bus';
import { Random, gaussian, seededRandom, uniformSymmetric } from './random';
import {
  INA219_BUS_CNVR, INA219_BUS_LSB_V, INA219_BUS_OVF, INA219_CONFIG_RST, INA219_PGA_MILLIVOLTS,
  INA219_REG_BUS, INA219_REG_CALIBRATION, INA219_REG_CONFIG, INA219_REG_CURRENT, INA219_REG_POWER,
  INA219_REG_SHUNT, INA219_RESET_CONFIG, INA219_SHUNT_LSB_V, ina219ConversionTimeS,
} from '../drivers/ina219';

export interface Ina219Errors {
  /** Added to the true shunt voltage, volts. */
  shuntOffsetV: number;
  /** Relative gain error of the shunt path (0.003 = +0.3 %). */
  shuntGain: number;
  busOffsetV: number;
  busGain: number;
  /** RMS noise of one un-averaged conversion; averaging N samples divides it by √N. */
  shuntNoiseV: number;
  busNoiseV: number;
}

/** A perfect chip: only quantisation remains. */
export const IDEAL_INA219: Ina219Errors = {
  shuntOffsetV: 0, shuntGain: 0, busOffsetV: 0, busGain: 0, shuntNoiseV: 0, busNoiseV: 0,
};

/**
 * Error limits for the INA219B grade: shunt offset 50 µV (PGA ÷1 maximum), current and
 * bus measurement error 0.5 % maximum. The bus offset (2 LSB) and the noise figures
 * (1 LSB RMS per single 12-bit conversion) are assumed.
 */
export const INA219B_LIMITS: Ina219Errors = {
  shuntOffsetV: 50e-6, shuntGain: 0.005, busOffsetV: 8e-3, busGain: 0.005, shuntNoiseV: 10e-6, busNoiseV: 4e-3,
};

/**
 * The INA219B's typical figures (SBOS448G, Electrical Characteristics at 25 °C): shunt
 * offset ±10 µV (PGA ÷1), current and bus voltage measurement error ±0.2 %. A chip drawn
 * within these is an ordinary one, not the worst the datasheet allows; the bus offset
 * (1 LSB) is assumed and the noise is the same as at the limits.
 */
export const INA219B_TYPICAL: Ina219Errors = {
  shuntOffsetV: 10e-6, shuntGain: 0.002, busOffsetV: 4e-3, busGain: 0.002, shuntNoiseV: 10e-6, busNoiseV: 4e-3,
};

/** Which figures a simulated chip's fixed errors are drawn within. */
export type SensorGrade = 'limits' | 'typical';

/** One chip's fixed errors, drawn uniformly inside the INA219B limits or typical figures (noise at its figure). */
export function sampleIna219BErrors(random: Random, grade: SensorGrade = 'limits'): Ina219Errors {
  const f = grade === 'typical' ? INA219B_TYPICAL : INA219B_LIMITS;
  return {
    shuntOffsetV: uniformSymmetric(random, f.shuntOffsetV),
    shuntGain: uniformSymmetric(random, f.shuntGain),
    busOffsetV: uniformSymmetric(random, f.busOffsetV),
    busGain: uniformSymmetric(random, f.busGain),
    shuntNoiseV: f.shuntNoiseV,
    busNoiseV: f.busNoiseV,
  };
}

export interface Ina219ModelOptions {
  /** The physical shunt between VIN+ and VIN−, ohms. */
  shuntOhms: number;
  /** Current time in seconds (the simulator's virtual clock). */
  clock: () => number;
  errors?: Ina219Errors;
  /** Noise source; defaults to a fixed seed so runs repeat. */
  random?: Random;
}

/** Averaging sample count of an ADC code; 1 for the plain 9–12-bit codes. */
function adcSamples(code: number): number {
  return code & 0x8 ? 1 << (code & 0x7) : 1;
}

/** Quantisation step in register counts: 9–11-bit conversions keep only the top bits (assumed). */
function adcStepCounts(code: number): number {
  return code & 0x8 ? 1 : 1 << (3 - (code & 0x3));
}

export class Ina219Model implements I2cDevice {
  nack = false;
  /** When true the ADC never completes a conversion (a hung chip): CNVR stays clear. */
  frozen = false;
  readonly stats = { conversions: 0, resets: 0 };
  trueCurrentA = 0;
  trueBusV = 0;
  private readonly shuntOhms: number;
  private readonly clock: () => number;
  private readonly errors: Ina219Errors;
  private readonly random: Random;
  private readonly regs = new Uint16Array(6);
  private pointer = 0;
  private cycleStart = 0;
  private cyclesDone = 0;

  constructor(options: Ina219ModelOptions) {
    if (!(options.shuntOhms > 0)) throw new RangeError('INA219 model: shuntOhms must be positive');
    this.shuntOhms = options.shuntOhms;
    this.clock = options.clock;
    this.errors = options.errors ?? IDEAL_INA219;
    this.random = options.random ?? seededRandom(0x219);
    this.powerOnReset();
  }

  /** The true quantities at the pins: current from VIN+ to VIN−, and VIN− to ground. */
  setInputs(currentA: number, busV: number): void {
    this.trueCurrentA = currentA;
    this.trueBusV = busV;
  }

  /** Fault injection: the chip resets itself (brown-out, ESD), as at power-on. */
  spontaneousReset(): void {
    this.stats.resets++;
    this.powerOnReset();
  }

  /** A register's current content, for tests and the simulator's logs (no side effects on CNVR). */
  peek(register: number): number {
    this.update();
    return this.regs[register];
  }

  i2cWrite(bytes: number[]): void {
    if (bytes.length === 0) return;
    this.update();
    this.pointer = bytes[0] % 6;
    // A pointer-only write just selects the register; a data write needs both bytes.
    if (bytes.length < 3) return;
    const value = ((bytes[1] & 0xff) << 8) | (bytes[2] & 0xff);
    if (this.pointer === INA219_REG_CONFIG) this.writeConfig(value);
    else if (this.pointer === INA219_REG_CALIBRATION) this.regs[INA219_REG_CALIBRATION] = value & 0xfffe;
    // Registers 1–4 are read-only: writes to them are ignored.
  }

  i2cRead(count: number): number[] {
    this.update();
    const value = this.regs[this.pointer];
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(i === 0 ? value >> 8 : i === 1 ? value & 0xff : 0xff);
    if (this.pointer === INA219_REG_POWER && count > 0) this.regs[INA219_REG_BUS] &= ~INA219_BUS_CNVR;
    return out;
  }

  /** Seconds one conversion cycle takes in the current configuration (0 when the ADC is off). */
  cycleTimeS(): number {
    const cfg = this.regs[INA219_REG_CONFIG];
    const mode = cfg & 7;
    if (mode === 0 || mode === 4) return 0;
    const badc = (cfg >> 7) & 0xf;
    const sadc = (cfg >> 3) & 0xf;
    return (mode & 1 ? ina219ConversionTimeS(sadc) : 0) + (mode & 2 ? ina219ConversionTimeS(badc) : 0);
  }

  private powerOnReset(): void {
    this.regs.fill(0);
    this.regs[INA219_REG_CONFIG] = INA219_RESET_CONFIG;
    this.pointer = 0;
    this.restartCycle();
  }

  private writeConfig(value: number): void {
    if (value & INA219_CONFIG_RST) {
      this.stats.resets++;
      this.powerOnReset();
      return;
    }
    // Bit 14 is unused and reads 0 (assumed); bit 15 self-clears.
    this.regs[INA219_REG_CONFIG] = value & 0x3fff;
    this.regs[INA219_REG_BUS] &= ~INA219_BUS_CNVR;
    this.restartCycle();
  }

  private restartCycle(): void {
    this.cycleStart = this.clock();
    this.cyclesDone = 0;
  }

  /** Completes any conversion whose time has come. Only the latest one matters: the registers hold one result. */
  private update(): void {
    if (this.frozen) return;
    const cycle = this.cycleTimeS();
    if (cycle === 0) return;
    const mode = this.regs[INA219_REG_CONFIG] & 7;
    const elapsed = this.clock() - this.cycleStart;
    let due = Math.floor(elapsed / cycle + 1e-9);
    if (mode <= 3 && due > 1) due = 1; // triggered: one conversion per trigger
    if (due > this.cyclesDone) {
      this.cyclesDone = due;
      this.convert();
    }
  }

  private convert(): void {
    this.stats.conversions++;
    const cfg = this.regs[INA219_REG_CONFIG];
    const mode = cfg & 7;
    const e = this.errors;
    if (mode & 1) {
      const sadc = (cfg >> 3) & 0xf;
      const pga = (cfg >> 11) & 3;
      const noise = e.shuntNoiseV === 0 ? 0 : gaussian(this.random) * e.shuntNoiseV / Math.sqrt(adcSamples(sadc));
      const v = this.trueCurrentA * this.shuntOhms * (1 + e.shuntGain) + e.shuntOffsetV + noise;
      const step = adcStepCounts(sadc);
      const fullScale = INA219_PGA_MILLIVOLTS[pga] * 100;
      let counts = Math.round(v / INA219_SHUNT_LSB_V / step) * step;
      counts = Math.max(-fullScale, Math.min(fullScale, counts));
      this.regs[INA219_REG_SHUNT] = counts & 0xffff;
    }
    let busField = this.regs[INA219_REG_BUS] >> 3;
    if (mode & 2) {
      const badc = (cfg >> 7) & 0xf;
      const range32 = (cfg >> 13) & 1;
      const noise = e.busNoiseV === 0 ? 0 : gaussian(this.random) * e.busNoiseV / Math.sqrt(adcSamples(badc));
      const v = this.trueBusV * (1 + e.busGain) + e.busOffsetV + noise;
      const step = adcStepCounts(badc);
      // 32 V range: the 13-bit field's own limit; 16 V range: 16 V (assumed to saturate there).
      const max = range32 ? 8191 : 4000;
      busField = Math.max(0, Math.min(max, Math.round(v / INA219_BUS_LSB_V / step) * step));
    }
    const shunt = (this.regs[INA219_REG_SHUNT] << 16) >> 16;
    const cal = this.regs[INA219_REG_CALIBRATION];
    let ovf = false;
    let current = Math.trunc(shunt * cal / 4096);
    if (current > 32767 || current < -32768) {
      ovf = true;
      current = current > 0 ? 32767 : -32768;
    }
    let power = Math.trunc(Math.abs(current) * busField / 5000);
    if (power > 65535) {
      ovf = true;
      power = 65535;
    }
    this.regs[INA219_REG_CURRENT] = current & 0xffff;
    this.regs[INA219_REG_POWER] = power;
    this.regs[INA219_REG_BUS] = (busField << 3) | INA219_BUS_CNVR | (ovf ? INA219_BUS_OVF : 0);
  }
}
