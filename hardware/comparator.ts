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
 * triggers are independent, like the firmware's two latches, except for one small
 * effect: a low OUT sinks REMOTE's pull-up current too, and its saturation voltage
 * (V_OL) rises with that current, which moves the rising trip. The arithmetic below
 * takes the case where this channel alone holds REMOTE low; the schematics' tolerance
 * analysis measures the other case (both low, the current shared).
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

/** The parts the two channels share: supply, reference divider, the LM393's DC errors and REMOTE. */
export interface ComparatorBoardParts {
  /** LM78C05 output, the board's supply and the reference's source. */
  vcc: number;
  rRefTop: number;
  rRefBottom: number;
  /**
   * The LM393's saturated output as a resistance: V_OL = sink current × this. The
   * datasheet gives V_OL at 4 mA only; a line through the origin and that point is our
   * assumption for the ≈ 1.5 mA this board sinks.
   */
  outputOnOhms: number;
  /** IN+ − IN− at which the output switches (the input offset voltage, signed). */
  inputOffsetV: number;
  /** Input bias current, flowing out of each input pin (PNP input stage). */
  inputBiasA: number;
  /** LM393 input common-mode limit below VCC (datasheet: VCC − 1.5 V at 25 °C). */
  inputHeadroomV: number;
  /** REMOTE's pull-up to VCC, which a low OUT sinks through its diode. */
  rRemotePullup: number;
  /** Forward drop of the diode-OR Schottky at REMOTE's ≈ 1 mA. */
  remoteDiodeDropV: number;
  battery: ComparatorChannelParts;
  sun: ComparatorChannelParts;
}

export interface TripPoints {
  /** Falling input voltage at which OUT goes low (charger demanded ON). */
  fallingV: number;
  /** Rising input voltage at which OUT is released (this channel stops demanding ON). */
  risingV: number;
}

/** The reference divider's output with no load (what the docs call Vref). */
export function referenceVoltage(board: ComparatorBoardParts): number {
  return board.vcc * board.rRefBottom / (board.rRefTop + board.rRefBottom);
}

/**
 * IN+ at which the output switches: the reference divider plus the bias currents out
 * of both IN− pins (the two channels share the reference) through its Thevenin
 * resistance, plus the offset.
 */
export function switchingInputV(board: ComparatorBoardParts): number {
  const rRef = board.rRefTop * board.rRefBottom / (board.rRefTop + board.rRefBottom);
  return referenceVoltage(board) + 2 * board.inputBiasA * rRef + board.inputOffsetV;
}

/**
 * V_OL with this channel alone holding REMOTE low and IN+ at `inPlusV`: the open
 * collector sinks its own pull-up, the feedback resistor and REMOTE's pull-up through
 * the diode, and V_OL = outputOnOhms × that current, solved for V_OL.
 */
export function outputLowVoltage(board: ComparatorBoardParts, ch: ComparatorChannelParts, inPlusV: number): number {
  const r = board.outputOnOhms;
  const source = board.vcc / ch.rPullup + (board.vcc - board.remoteDiodeDropV) / board.rRemotePullup + inPlusV / ch.rFeedback;
  const conductance = 1 / ch.rPullup + 1 / board.rRemotePullup + 1 / ch.rFeedback;
  return r * source / (1 + r * conductance);
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
 * IN+ is the junction of the source (Thevenin voltage through Rth + Rin = Rs), the
 * feedback path and the bias current out of the pin. With OUT released the feedback
 * goes to VCC through Rf + Rpullup; with OUT low it goes to V_OL through Rf. Setting
 * IN+ = switchingInputV() and solving for the Thevenin voltage gives each trip point.
 */
export function comparatorTripPoints(board: ComparatorBoardParts, ch: ComparatorChannelParts): TripPoints {
  const vp = switchingInputV(board);
  const th = dividerThevenin(ch);
  const rs = th.ohms + ch.rIn;
  const rfHigh = ch.rFeedback + ch.rPullup;
  const vol = outputLowVoltage(board, ch, vp);
  const vthFalling = vp - rs * ((board.vcc - vp) / rfHigh + board.inputBiasA);
  const vthRising = vp - rs * ((vol - vp) / ch.rFeedback + board.inputBiasA);
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
  // V_OL barely depends on IN+ (its feedback current is µA): evaluate it at the reference.
  const vfb = outputLow ? outputLowVoltage(board, ch, referenceVoltage(board)) : board.vcc;
  return (vth / rs + vfb / rf + board.inputBiasA) / (1 / rs + 1 / rf);
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
