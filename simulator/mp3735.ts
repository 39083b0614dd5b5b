/**
 * Powertech MP3735 as a PWM solar controller: it connects the panels straight to the
 * battery (so while it charges, the panel voltage is pulled down to the battery's plus
 * the switch drop), chops that connection to hold its boost or float voltage, and opens
 * it when the panels cannot lift the battery (night). Its load output is switched off
 * below the low-voltage disconnect and back on at the reconnect voltage.
 *
 * Stages: bulk (switch fully on, battery below boost), absorption (regulating at boost
 * for boostDurationS of sunshine), float (regulating at floatV); back to bulk when the
 * battery falls below boostReturnV or at nightfall.
 */
import type { SolarControllerParams } from './plant-params';

export type ControllerStage = 'night' | 'bulk' | 'absorption' | 'float';

export class Mp3735 {
  stage: ControllerStage = 'night';
  loadConnected = true;
  /** Fraction of time the PWM switch is closed in the last step. */
  duty = 0;
  private absorbedS = 0;
  private belowLvdS = 0;
  private floatDone = false;
  private readonly p: SolarControllerParams;

  constructor(params: SolarControllerParams) {
    this.p = params;
  }

  /** The voltage the PWM loop regulates the battery to in the current stage. */
  targetV(): number {
    return this.stage === 'float' ? this.p.floatV : this.p.boostV;
  }

  /**
   * Average current into the battery when the bus is at `busV`, given what the panels
   * would deliver with the switch closed (`fullA`): all of it below the target, less as
   * the bus reaches the target, never above the rating.
   */
  chargeCurrent(busV: number, fullA: number): number {
    if (this.stage === 'night' || fullA <= 0) return 0;
    const regulated = (this.targetV() - busV) / this.p.regulationOhm;
    let i = fullA < regulated ? fullA : regulated;
    if (i > this.p.ratedA) i = this.p.ratedA;
    return i > 0 ? i : 0;
  }

  /** Stage and load-switch changes after a step that ended with the bus at `busV`. */
  update(dtS: number, busV: number, panelCanCharge: boolean, chargeA: number, fullA: number): void {
    const p = this.p;
    this.duty = fullA > 0 ? Math.min(1, chargeA / fullA) : 0;
    if (!panelCanCharge) {
      if (this.stage !== 'night') this.floatDone = false;
      this.stage = 'night';
      this.absorbedS = 0;
    } else {
      if (this.stage === 'night') this.stage = this.floatDone ? 'float' : 'bulk';
      if (this.stage === 'bulk' && busV >= p.boostV - 0.05) this.stage = 'absorption';
      if (this.stage === 'absorption') {
        this.absorbedS += dtS;
        if (this.absorbedS >= p.boostDurationS) {
          this.stage = 'float';
          this.floatDone = true;
        }
      }
      if (this.stage !== 'bulk' && busV < p.boostReturnV) {
        this.stage = 'bulk';
        this.absorbedS = 0;
        this.floatDone = false;
      }
    }
    if (this.loadConnected) {
      this.belowLvdS = busV < p.loadDisconnectV ? this.belowLvdS + dtS : 0;
      if (this.belowLvdS >= p.loadDisconnectDelayS) {
        this.loadConnected = false;
        this.belowLvdS = 0;
      }
    } else if (busV >= p.loadReconnectV) {
      this.loadConnected = true;
    }
  }
}
