/**
 * The cluster behind the MP3735's load output: DC-DC converters, so nearly constant
 * power (the current rises as the battery sags), with a slowly wandering base and
 * bursts of work (builds, backups) arriving as a seeded on/off process.
 */
import { Random, gaussian } from './random';
import type { LoadParams } from './plant-params';

export class ClusterLoad {
  bursting = false;
  private wander = 0;
  private readonly p: LoadParams;
  private readonly random: Random;
  private readonly nominalW: number;

  constructor(params: LoadParams, random: Random) {
    this.p = params;
    this.random = random;
    this.nominalW = params.nominalA * params.atV;
  }

  /** Power drawn now, watts. */
  powerW(): number {
    const p = this.p;
    return this.nominalW * (p.baseFraction * (1 + this.wander) + (this.bursting ? p.burstFraction : 0));
  }

  step(dtS: number): void {
    const p = this.p;
    const k = dtS / 60;
    this.wander += -this.wander * k + p.jitterFraction * Math.sqrt(2 * k) * gaussian(this.random);
    const u = this.random();
    if (this.bursting) {
      if (u < dtS / p.burstMeanDurationS) this.bursting = false;
    } else if (u < dtS / p.burstMeanIntervalS) {
      this.bursting = true;
    }
  }
}
