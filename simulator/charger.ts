/**
 * Mean Well HEP-600C-12 as a constant-current / constant-voltage source, enabled through
 * REMOTE (pulled low → ON) and only while mains is present. The brief and hardware/ fix
 * its set point (14.4 V) and rating (40 A); the unit's optional float stage is not used.
 */
import type { ChargerParams } from './plant-params';

export class MainsCharger {
  /** REMOTE says ON (the driver pulls it low). */
  remoteOn = true;
  mainsPresent = true;
  private enabledFor = 0;
  private readonly p: ChargerParams;

  constructor(params: ChargerParams) {
    this.p = params;
    // At power-up of the simulation the charger has been in its current state for long.
    this.enabledFor = params.turnOnDelayS;
  }

  /** True while it delivers (enabled, mains present, past its start-up delay). */
  get delivering(): boolean {
    return this.remoteOn && this.mainsPresent && this.enabledFor >= this.p.turnOnDelayS;
  }

  setRemote(on: boolean): void {
    if (on && !this.remoteOn) this.enabledFor = 0;
    this.remoteOn = on;
  }

  setMains(present: boolean): void {
    if (present && !this.mainsPresent) this.enabledFor = 0;
    this.mainsPresent = present;
  }

  /** Output current into a bus at `busV`. */
  current(busV: number): number {
    if (!this.delivering) return 0;
    const i = (this.p.chargeV - busV) / this.p.outputOhm;
    return i <= 0 ? 0 : i > this.p.ratedA ? this.p.ratedA : i;
  }

  step(dtS: number): void {
    if (this.remoteOn && this.mainsPresent) this.enabledFor += dtS;
  }
}
