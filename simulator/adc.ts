/**
 * The solar voltage input: the divider from hardware/SOLAR_INPUT (each resistor off by
 * up to its tolerance, drawn once per run) into the STM32F4's 12-bit ADC, with offset,
 * noise and Espruino's scaling (analogRead returns code / 4096, so never 1.0).
 */
import { Random, gaussian, uniformSymmetric } from './random';
import type { AdcParams } from './plant-params';

export class SolarAdc {
  /** Pin volts per panel volt, with this run's resistor errors. */
  readonly ratio: number;
  readonly offsetLsb: number;
  private readonly p: AdcParams;
  private readonly random: Random;
  private readonly full: number;

  constructor(params: AdcParams, random: Random) {
    this.p = params;
    this.random = random;
    const top = params.rTop * (1 + uniformSymmetric(random, params.resistorTolerance));
    const bottom = params.rBottom * (1 + uniformSymmetric(random, params.resistorTolerance));
    this.ratio = bottom / (top + bottom);
    this.offsetLsb = uniformSymmetric(random, params.offsetLsb);
    this.full = 1 << params.bits;
  }

  /** Divider resistance the panel sees (it loads the panel at night). */
  get loadOhm(): number {
    return this.p.rTop + this.p.rBottom;
  }

  /** One conversion of a panel voltage, as analogRead returns it. */
  read(panelV: number): number {
    let pinV = panelV * this.ratio;
    // The pin's protection diodes clamp what the divider could push outside the rails.
    if (pinV < 0) pinV = 0;
    const code = Math.round(pinV / this.p.referenceV * this.full + this.offsetLsb + this.p.noiseLsb * gaussian(this.random));
    const max = this.full - 1;
    return (code < 0 ? 0 : code > max ? max : code) / this.full;
  }
}
