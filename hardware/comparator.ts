/**
 * Trip points of the blog's LM393 comparator board, computed from its parts.
 *
 * Each channel is a non-inverting Schmitt trigger:
 *
 *   Vin ─ Rtop ─┬─ pot (wiper α) ─┬─ Rbottom ─ GND      divider with trim pot
 *               └──── wiper ── Rin ──┬── V+  (LM393 IN+)
 *                                    └── Rfeedback ── OUT ── Rpullup ── VCC
 *   Vref (VCC through Rref_top / Rref_bottom) ── V−  (LM393 IN−)
 *
 * OUT is open collector with its own pull-up, and reaches REMOTE through a diode
 * (diode-OR), so each comparator's feedback sees only its own output: the two
 * triggers are independent, exactly like the firmware's two latches.
 * Output low (V+ < V−) pulls REMOTE low, which turns the charger ON.
 *
 * Pure arithmetic, ES5-safe: the firmware imports it to derive its defaults.
 */

/** The parts of one comparator channel, in ohms, volts and a wiper fraction. */
export interface ComparatorChannelParts {
  /** Divider resistor from the sensed voltage to the pot's top end. */
  rTop: number;
  /** Trim pot end-to-end resistance. */
  rPot: number;
  /** Wiper position, 0 = at the bottom (ground) end, 1 = at the top end. */
  potWiper: number;
  /** Divider resistor from the pot's bottom end to ground. */
  rBottom: number;
  /** Series resistor from the wiper to IN+. */
  rIn: number;
  /** Positive feedback resistor from OUT to IN+. */
  rFeedback: number;
  /** Pull-up from OUT to VCC (this channel's own). */
  rPullup: number;
}

/** The parts the two channels share: supply and reference divider. */
export interface ComparatorBoardParts {
  /** LM78C05 output, the board's supply and the reference's source. */
  vcc: number;
  rRefTop: number;
  rRefBottom: number;
  /** Voltage of OUT when the open collector is on (saturated). */
  outputLowV: number;
  /** LM393 input common-mode limit below VCC (datasheet: VCC − 1.5 V). */
  inputHeadroomV: number;
  battery: ComparatorChannelParts;
  sun: ComparatorChannelParts;
}

export interface TripPoints {
  /** Falling input voltage at which OUT goes low (charger demanded ON). */
  fallingV: number;
  /** Rising input voltage at which OUT is released (this channel stops demanding ON). */
  risingV: number;
}

export function referenceVoltage(board: ComparatorBoardParts): number {
  return board.vcc * board.rRefBottom / (board.rRefTop + board.rRefBottom);
}

/** Thevenin equivalent of the divider as seen from the wiper. */
export function dividerThevenin(ch: ComparatorChannelParts): { ratio: number; ohms: number } {
  const upper = ch.rTop + (1 - ch.potWiper) * ch.rPot;
  const lower = ch.rBottom + ch.potWiper * ch.rPot;
  return { ratio: lower / (upper + lower), ohms: upper * lower / (upper + lower) };
}

/**
 * Input voltages at which the channel switches.
 *
 * IN+ is the junction of the source (Thevenin voltage through Rth + Rin = Rs) and
 * the feedback path. With OUT released the feedback goes to VCC through
 * Rf + Rpullup; with OUT low it goes to outputLowV through Rf. Setting IN+ = Vref
 * and solving for the Thevenin voltage gives the trip point on each side.
 */
export function comparatorTripPoints(board: ComparatorBoardParts, ch: ComparatorChannelParts): TripPoints {
  const vref = referenceVoltage(board);
  const th = dividerThevenin(ch);
  const rs = th.ohms + ch.rIn;
  const rfHigh = ch.rFeedback + ch.rPullup;
  const vthFalling = vref + (vref - board.vcc) * rs / rfHigh;
  const vthRising = vref + (vref - board.outputLowV) * rs / ch.rFeedback;
  return { fallingV: vthFalling / th.ratio, risingV: vthRising / th.ratio };
}

/** Voltage at IN+ for an input voltage and output state: used to check the 3.5 V limit. */
export function comparatorInputV(
  board: ComparatorBoardParts, ch: ComparatorChannelParts, vin: number, outputLow: boolean,
): number {
  const th = dividerThevenin(ch);
  const rs = th.ohms + ch.rIn;
  const vth = vin * th.ratio;
  const rf = outputLow ? ch.rFeedback : ch.rFeedback + ch.rPullup;
  const vfb = outputLow ? board.outputLowV : board.vcc;
  return (vth / rs + vfb / rf) / (1 / rs + 1 / rf);
}

/**
 * The wiper position that puts the falling trip point at `targetFallingV`,
 * by bisection (the trip point falls monotonically as the wiper rises).
 * Returns NaN when the pot's range cannot reach the target.
 */
export function solvePotWiper(
  board: ComparatorBoardParts, ch: ComparatorChannelParts, targetFallingV: number,
): number {
  const at = (w: number): number => {
    const trial: ComparatorChannelParts = {
      rTop: ch.rTop, rPot: ch.rPot, potWiper: w, rBottom: ch.rBottom,
      rIn: ch.rIn, rFeedback: ch.rFeedback, rPullup: ch.rPullup,
    };
    return comparatorTripPoints(board, trial).fallingV - targetFallingV;
  };
  let lo = 0;
  let hi = 1;
  if (at(lo) < 0 || at(hi) > 0) return NaN;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (at(mid) > 0) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}
