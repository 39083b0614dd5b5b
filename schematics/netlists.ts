/**
 * ngspice netlists of the comparator board and the REMOTE driver, built from the parts
 * in hardware/system.ts so the simulation can never drift from the values the firmware
 * derives its thresholds from. schematics/generate.ts writes them to schematics/*.cir.
 *
 * Every netlist is self-contained (its own models, sources and a .control block that runs
 * the analysis and writes whitespace-separated columns with `wrdata`), so a person can run
 * `ngspice -b schematics/<name>.cir` by hand; the data files land in the working directory.
 */
import {
  ComparatorBoardParts, ComparatorChannelParts, MAINS_CHARGER, MCU_BOARD, REMOTE_DRIVER, VOLTAGE_RANGES,
} from '../hardware';

export type ChannelId = 'battery' | 'sun';

export type RemoteDriverParts = typeof REMOTE_DRIVER;

/** One netlist and the data files its .control block writes (relative to the working directory). */
export interface Netlist {
  /** File stem: schematics/<name>.cir and .svg. */
  name: string;
  text: string;
  dataFiles: string[];
}

/**
 * Our behavioural LM393 channel. The decision and its lag are idealised (a steep tanh,
 * one pole); the DC errors are the datasheet's, taken from the board parts: the
 * saturated output is a resistance (V_OL = sink current × outputOnOhms), the input
 * offset shifts the decision, and each input sources its bias current. These are the
 * effects comparatorTripPoints() includes, so SPICE and the arithmetic must agree.
 */
export const LM393_MODEL = {
  /** Differential input scale of the tanh decision: ≈ 25 000 V/V at the midpoint, steep enough that the trip sits within ~0.1 mV of the switching point yet smooth for Newton. */
  decisionScaleV: 20e-6,
  /** First-order lag of the decision: the only state in the loop, so positive feedback latches in a transient run. */
  lagSeconds: 50e-9,
};

/** Our small-signal Schottky (BAT54-class: ~0.3 V at 1 mA; a Schottky barrier's EG and XTI, so its drop falls ≈ 1 mV/°C) for the diode-OR into REMOTE. */
export const SCHOTTKY_MODEL = 'D(IS=16n N=1.05 RS=2 CJO=10p BV=30 IBV=1u EG=0.69 XTI=2)';

/**
 * Our Gummel-Poon 2N3904, from datasheet-typical figures: hFE ≈ 200 at 1–10 mA falling
 * off above ~100 mA, VBE ≈ 0.65 V at 1 mA, VCE(sat) < 0.2 V, Early voltage ~100 V,
 * Cibo ≈ 8 pF, Cobo ≈ 4 pF, fT ≈ 300 MHz. The driver runs DC only, so the charges are
 * there for completeness rather than accuracy.
 */
export const NPN_2N3904_MODEL =
  'NPN(IS=1e-14 BF=200 NF=1 VAF=100 IKF=0.1 ISE=1e-14 NE=1.5 BR=4 NR=1 VAR=20 ' +
  'RB=10 RC=1 RE=0.5 CJE=8p CJC=4p TF=0.5n TR=50n XTB=1.5)';

/**
 * Assumed load of the HEP-600C-12's REMOTE input: a logic input, modelled as 100 kΩ to
 * ground. The OFF level is the pull-up/load divider, so REMOTE stays above the 4.0 V OFF
 * threshold only while the load is ≥ 4 × the pull-up / (5 − 4) at nominal parts (13.2 kΩ with 3.3 kΩ; see README).
 */
export const HEP600_REMOTE_LOAD_OHMS = 100e3;

/**
 * The MCU pin driving Q2: push-pull at 3.3 V logic with ~25 Ω output resistance when driven;
 * reset/hung/unpowered is high impedance, where the STM32's ±1 µA input leakage is all that
 * flows. We inject the leakage in the direction that would turn Q2 on (the worst case).
 */
export interface McuPinModel {
  highV: number;
  drivenOhms: number;
  floatingOhms: number;
  leakageA: number;
}

export const MCU_PIN_MODEL: McuPinModel = {
  highV: MCU_BOARD.adcReferenceV,
  drivenOhms: 25,
  floatingOhms: 1e12,
  leakageA: 1e-6,
};

/**
 * Transient sweep shape: up then down over the range, slow against the comparator's lag.
 * OUT jumps between two samples, so the trip point is known to one sample of the input:
 * resolutionV bounds that (it sets the maximum time step).
 */
export interface SweepOptions {
  rampSeconds: number;
  resolutionV: number;
}

export const DEFAULT_SWEEP: SweepOptions = { rampSeconds: 10e-3, resolutionV: 2e-3 };

/** SPICE number with an engineering suffix ("82k", "1.431307k"); "Meg", never "M" (milli in SPICE). */
export function spiceNumber(v: number): string {
  if (v === 0) return '0';
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'Meg'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'u'], [1e-9, 'n'], [1e-12, 'p']];
  const a = Math.abs(v);
  for (const [scale, suffix] of units) {
    if (a >= scale * 0.9999999) return trimNumber(v / scale) + suffix;
  }
  return v.toExponential(6);
}

function trimNumber(x: number): string {
  return String(Number(x.toPrecision(7)));
}

/** Upper and lower parts of the pot, split at the wiper (measured from the ground end). */
export function potHalves(ch: ComparatorChannelParts): { upper: number; lower: number } {
  return { upper: (1 - ch.potWiper) * ch.rPot, lower: ch.potWiper * ch.rPot };
}

function lm393Subcircuit(board: ComparatorBoardParts): string[] {
  const m = LM393_MODEL;
  const rLag = 1000;
  return [
    '* Behavioural LM393 channel (ours). Pins: IN+ IN- OUT VCC CMM; params: input offset, bias current, output on-resistance.',
    '* dec: 1 when IN+ - IN- < vos (transistor on), 0 above, tanh-smooth in between.',
    '* OUT is open collector: a current sink of v(lag)*v(out)/ron, so it can pull low but never source;',
    '* fully on, V_OL = sink current x ron (the datasheet\'s V_OL at 4 mA, scaled to this current).',
    '* Each input sources ib (PNP input stage: the bias current flows out of the pins).',
    `* CMM is the common-mode headroom, VCC - ${spiceNumber(board.inputHeadroomV)} V - max(IN+, IN-): outside the datasheet\'s`,
    '* input range at 25 C when negative, where the real part\'s output is not guaranteed. The checks flag it.',
    `.subckt lm393_oc inp inn out vcc cmm params: vos=0 ib=${spiceNumber(board.inputBiasA)} ron=${spiceNumber(board.outputOnOhms)}`,
    `Bdec dec 0 V = 0.5*(1 - tanh((v(inp)-v(inn)-vos)/${spiceNumber(m.decisionScaleV)}))`,
    `Rlag dec lag ${spiceNumber(rLag)}`,
    `Clag lag 0 ${spiceNumber(m.lagSeconds / rLag)}`,
    'Bout out 0 I = v(lag)*max(v(out), 0)/ron',
    // A few pF on the output (the real pin has them): without any charge there, the node is
    // algebraic and Newton can accept a wild point when both outputs switch in one step.
    'Cout out 0 5p',
    'Iinp 0 inp DC {ib}',
    'Iinn 0 inn DC {ib}',
    `Bcm cmm 0 V = v(vcc) - ${spiceNumber(board.inputHeadroomV)} - max(v(inp), v(inn))`,
    '.ends lm393_oc',
  ];
}

/** Lines of one channel: divider with pot, series resistor, feedback, pull-up, comparator. */
function channelLines(board: ComparatorBoardParts, id: ChannelId, vin: string, vcc: string): string[] {
  const ch = board[id];
  const p = id === 'battery' ? 'B' : 'S';
  const n = (s: string) => `${s}_${id === 'battery' ? 'b' : 's'}`;
  const pot = potHalves(ch);
  return [
    `* ${id} channel: ${vin} -> divider/pot -> wiper -> Rin -> IN+; Rfeedback OUT->IN+; own pull-up on OUT`,
    `RTOP${p} ${vin} ${n('pot_hi')} ${spiceNumber(ch.rTop)}`,
    `RPOTU${p} ${n('pot_hi')} ${n('wiper')} ${spiceNumber(pot.upper)}`,
    `RPOTL${p} ${n('wiper')} ${n('pot_lo')} ${spiceNumber(pot.lower)}`,
    `RBOT${p} ${n('pot_lo')} 0 ${spiceNumber(ch.rBottom)}`,
    `RIN${p} ${n('wiper')} ${n('inp')} ${spiceNumber(ch.rIn)}`,
    `RFB${p} ${n('out')} ${n('inp')} ${spiceNumber(ch.rFeedback)}`,
    `RPU${p} ${vcc} ${n('out')} ${spiceNumber(ch.rPullup)}`,
    `XU1${p} ${n('inp')} vref ${n('out')} ${vcc} ${n('cmm')} lm393_oc vos=${spiceNumber(board.inputOffsetV)}`,
  ];
}

function referenceLines(board: ComparatorBoardParts, vcc: string): string[] {
  return [
    '* IN- of both channels: the reference divider off the 5 V rail',
    `RREFT ${vcc} vref ${spiceNumber(board.rRefTop)}`,
    `RREFB vref 0 ${spiceNumber(board.rRefBottom)}`,
  ];
}

/** PWL up-and-down triangle(s) over [min, max], starting at min. */
function trianglePwl(min: number, max: number, rampSeconds: number, cycles: number): string {
  const pts: string[] = [];
  for (let i = 0; i <= 2 * cycles; i++) {
    pts.push(`${spiceNumber(i * rampSeconds)} ${spiceNumber(i % 2 === 0 ? min : max)}`);
  }
  return `PWL(${pts.join(' ')})`;
}

function header(title: string, lines: string[]): string[] {
  return [
    `* ${title}`,
    '* Generated by schematics/generate.ts from hardware/system.ts: edit the parts there, then',
    '* run `npx ts-node schematics/generate.ts`. Do not edit this file by hand.',
    ...lines.map((l) => `* ${l}`),
  ];
}

function controlBlock(analysis: string[], writes: string[]): string[] {
  return [
    '.control',
    'set wr_singlescale',
    'set wr_vecnames',
    ...analysis,
    ...writes,
    // Without it, batch mode exits 1 ("no simulations run") even after a good run.
    'quit 0',
    '.endc',
  ];
}

/** REMOTE's pull-up and the charger's input, the models, and a transient at `maxStep` to `tStop`. */
function remoteAndModels(board: ComparatorBoardParts, maxStep: number, tStop: number): string[] {
  return [
    `RREM vcc remote ${spiceNumber(board.rRemotePullup)}`,
    `RHEP remote 0 ${spiceNumber(HEP600_REMOTE_LOAD_OHMS)}`,
    '',
    ...lm393Subcircuit(board),
    `.model schottky ${SCHOTTKY_MODEL}`,
    '',
    `.tran ${spiceNumber(maxStep)} ${spiceNumber(tStop)} 0 ${spiceNumber(maxStep)}`,
  ];
}

/** The input a channel senses and the range it is swept over. */
export function channelInput(id: ChannelId): { node: string; min: number; max: number } {
  const r = id === 'battery' ? VOLTAGE_RANGES.battery : VOLTAGE_RANGES.panel;
  return { node: id === 'battery' ? 'vbat' : 'vpanel', min: r.min, max: r.max };
}

/**
 * One channel alone: its input ramps min → max → min, VCC is an ideal 5 V (the regulator
 * is in comparator-board.cir). The diode into REMOTE, REMOTE's pull-up and the charger's
 * input are here too: with OUT low the transistor sinks REMOTE's current, which sets V_OL
 * and so the rising trip. The other channel is released (its diode blocks), the case the
 * firmware's defaults take.
 */
export function channelNetlist(board: ComparatorBoardParts, id: ChannelId, sweep: SweepOptions = DEFAULT_SWEEP): Netlist {
  const name = `${id}-comparator`;
  const input = channelInput(id);
  const s = id === 'battery' ? 'b' : 's';
  const data = `${name}.data`;
  const tStop = 2 * sweep.rampSeconds;
  const maxStep = sweep.resolutionV * sweep.rampSeconds / (input.max - input.min);
  const lines = [
    ...header(`${id === 'battery' ? 'Battery' : 'Sun'} comparator: one LM393 channel with positive-feedback hysteresis`, [
      `Input ${input.node} ramps ${input.min} V -> ${input.max} V -> ${input.min} V; OUT low = this channel demands the charger ON.`,
      'The rising trip is where OUT is released on the way up, the falling trip where it goes low on the way down.',
    ]),
    '',
    `VCC vcc 0 DC ${spiceNumber(board.vcc)}`,
    `VIN ${input.node} 0 ${trianglePwl(input.min, input.max, sweep.rampSeconds, 1)}`,
    ...referenceLines(board, 'vcc'),
    ...channelLines(board, id, input.node, 'vcc'),
    `D${id === 'battery' ? 'B' : 'S'} remote out_${s} schottky`,
    `* the other channel's IN- also draws its bias current from the reference`,
    `IBOTHER 0 vref DC ${spiceNumber(board.inputBiasA)}`,
    ...remoteAndModels(board, maxStep, tStop),
    ...controlBlock(['run'], [`wrdata ${data} v(${input.node}) v(inp_${s}) v(vref) v(out_${s}) v(cmm_${s})`]),
    '.end',
  ];
  return { name, text: lines.join('\n') + '\n', dataFiles: [data] };
}

/** Shape of the board sweep: both inputs run triangles of different periods so every combination of states and edges occurs. */
export interface BoardSweepOptions {
  batteryRampSeconds: number;
  panelRampSeconds: number;
  panelCycles: number;
  resolutionV: number;
}

/**
 * Panel ramps 3.5× the battery's: over two panel cycles the battery crosses both its trip
 * points with the sun channel latched either way, and the panel crosses its own with the
 * battery channel latched either way.
 */
export const DEFAULT_BOARD_SWEEP: BoardSweepOptions = {
  batteryRampSeconds: 2e-3, panelRampSeconds: 7e-3, panelCycles: 2, resolutionV: 5e-3,
};

/** LM78C05 as a behavioural source: 5 V while the battery leaves it ≥ 2 V of headroom (its dropout), following the battery below that. */
export const REGULATOR_DROPOUT_V = 2.0;

/** The whole board: regulator, reference, both channels, diode-OR into REMOTE with its pull-up, and the HEP-600's REMOTE input as a load. */
export function boardNetlist(
  board: ComparatorBoardParts, driver: RemoteDriverParts = REMOTE_DRIVER, sweep: BoardSweepOptions = DEFAULT_BOARD_SWEEP,
): Netlist {
  const name = 'comparator-board';
  const data = `${name}.data`;
  const bat = channelInput('battery');
  const pan = channelInput('sun');
  const tStop = 2 * sweep.panelCycles * sweep.panelRampSeconds;
  const batteryCycles = Math.ceil(tStop / (2 * sweep.batteryRampSeconds));
  const fastest = Math.max((bat.max - bat.min) / sweep.batteryRampSeconds, (pan.max - pan.min) / sweep.panelRampSeconds);
  const maxStep = sweep.resolutionV / fastest;
  const lines = [
    ...header('Comparator board: LM78C05, reference, battery and sun comparators, diode-OR into the HEP-600C-12 REMOTE line', [
      'Either comparator low pulls REMOTE low through its Schottky (charger ON); only with both released',
      `does the ${spiceNumber(driver.rRemotePullup)} pull-up take REMOTE to +5 V (charger OFF). Each OUT has its own pull-up, so`,
      'each channel\'s feedback sees only its own output: the two hysteresis loops are independent.',
      `REMOTE input of the HEP-600C-12 assumed to be ${spiceNumber(HEP600_REMOTE_LOAD_OHMS)} to ground (logic input; see README).`,
      `Battery ${bat.min}-${bat.max} V and panel ${pan.min}-${pan.max} V run triangles of different periods to visit every state.`,
    ]),
    '',
    `VBAT vbat 0 ${trianglePwl(bat.min, bat.max, sweep.batteryRampSeconds, batteryCycles)}`,
    `VPANEL vpanel 0 ${trianglePwl(pan.min, pan.max, sweep.panelRampSeconds, sweep.panelCycles)}`,
    `* LM78C05 fed from the battery: regulates to ${spiceNumber(board.vcc)} V above ${spiceNumber(board.vcc + REGULATOR_DROPOUT_V)} V in`,
    `BREG vcc 0 V = min(${spiceNumber(board.vcc)}, max(v(vbat) - ${spiceNumber(REGULATOR_DROPOUT_V)}, 0))`,
    ...referenceLines(board, 'vcc'),
    ...channelLines(board, 'battery', 'vbat', 'vcc'),
    ...channelLines(board, 'sun', 'vpanel', 'vcc'),
    '* diode-OR: cathodes at the comparator outputs, anodes on REMOTE',
    'DB remote out_b schottky',
    'DS remote out_s schottky',
    ...remoteAndModels(board, maxStep, tStop),
    ...controlBlock(['run'], [
      `wrdata ${data} v(vbat) v(vpanel) v(vcc) v(vref) v(inp_b) v(inp_s) v(out_b) v(out_s) v(remote) v(cmm_b) v(cmm_s)`,
    ]),
    '.end',
  ];
  return { name, text: lines.join('\n') + '\n', dataFiles: [data] };
}

/** Pin voltage step of the driven sweep. */
export const DRIVER_SWEEP_STEP_V = 0.01;

/**
 * The MCU's default-ON REMOTE driver. Two analyses: the pin driven from 0 to 3.3 V (its
 * transfer curve), then the pin left floating (reset, hung, unpowered) where only its
 * leakage flows and the source behind the pin no longer matters.
 */
export function remoteDriverNetlist(driver: RemoteDriverParts = REMOTE_DRIVER, pin: McuPinModel = MCU_PIN_MODEL): Netlist {
  const name = 'remote-driver';
  const driven = `${name}-driven.data`;
  const floating = `${name}-floating.data`;
  const lines = [
    ...header(`Default-ON REMOTE driver: ${driver.transistor} Q1 pulls REMOTE low unless the MCU holds Q2 on`, [
      `Q1's base is fed from +${spiceNumber(driver.supplyV)} V through ${spiceNumber(driver.rBaseQ1)}, so with nothing acting, REMOTE is low: charger ON.`,
      `The MCU pin (${driver.pin}) high = ${spiceNumber(pin.highV)} V turns Q2 on, which shunts Q1's base: REMOTE rises to the pull-up, charger OFF.`,
      `A floating pin (reset/hung/unpowered MCU) leaves Q2 off through ${spiceNumber(driver.rPulldownQ2)} to ground.`,
      `HEP-600C-12 REMOTE input assumed ${spiceNumber(HEP600_REMOTE_LOAD_OHMS)} to ground; ON below ${MAINS_CHARGER.remoteOnBelowV} V, OFF above ${MAINS_CHARGER.remoteOffAboveV} V.`,
      `MCU pin: ideal level VDRV behind ${spiceNumber(pin.drivenOhms)} ohm when driven; floating = ${spiceNumber(pin.floatingOhms)} ohm plus ${spiceNumber(pin.leakageA)}A leakage into the pin.`,
    ]),
    '',
    `VSUP v5 0 DC ${spiceNumber(driver.supplyV)}`,
    `RREM v5 remote ${spiceNumber(driver.rRemotePullup)}`,
    `RHEP remote 0 ${spiceNumber(HEP600_REMOTE_LOAD_OHMS)}`,
    `RB1 v5 b1 ${spiceNumber(driver.rBaseQ1)}`,
    'Q1 remote b1 0 q2n3904',
    'Q2 b1 b2 0 q2n3904',
    `RB2 pin b2 ${spiceNumber(driver.rBaseQ2)}`,
    `RPD b2 0 ${spiceNumber(driver.rPulldownQ2)}`,
    'VDRV drv 0 DC 0',
    `RDRV drv pin ${spiceNumber(pin.drivenOhms)}`,
    `ILEAK 0 pin DC ${spiceNumber(pin.leakageA)}`,
    '',
    `.model q2n3904 ${NPN_2N3904_MODEL}`,
    '',
    ...controlBlock([
      `dc VDRV 0 ${spiceNumber(pin.highV)} ${spiceNumber(DRIVER_SWEEP_STEP_V)}`,
      `wrdata ${driven} v(drv) v(pin) v(b2) v(b1) v(remote)`,
      `alter RDRV = ${spiceNumber(pin.floatingOhms)}`,
      `dc VDRV 0 ${spiceNumber(pin.highV)} ${spiceNumber(pin.highV / 2)}`,
      `wrdata ${floating} v(drv) v(pin) v(b2) v(b1) v(remote)`,
    ], []),
    '.end',
  ];
  return { name, text: lines.join('\n') + '\n', dataFiles: [driven, floating] };
}

/** All four netlists for the committed board and driver. */
export function allNetlists(board: ComparatorBoardParts, driver: RemoteDriverParts = REMOTE_DRIVER): Netlist[] {
  return [channelNetlist(board, 'battery'), channelNetlist(board, 'sun'), boardNetlist(board, driver), remoteDriverNetlist(driver)];
}
