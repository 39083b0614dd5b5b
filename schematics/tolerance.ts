/**
 * Tolerance analysis of the comparator board in ngspice: Monte Carlo in ngspice's own
 * `.control` loop (agauss/aunif, seeded) and worst-case corners, over the part
 * tolerances of hardware/ and the shed's temperature range, untrimmed and after the
 * commissioning trim of hardware/WIRING.md.
 *
 * How a trip point is found without sweeping: each trip is the input voltage at which
 * IN+ − IN− reaches the offset while the output is still in its old state. So every
 * channel appears in the netlist three times with its output held in one state —
 * released (falling trip), low alone (rising trip), low while the other channel is low
 * too (rising trip, REMOTE's current shared) — and a servo (an E source of gain 1e8)
 * drives that copy's input until IN+ = IN− + offset. One `op` then gives all six trip
 * points at once. The switching itself is proven by the transient sweeps of the other
 * netlists; test/schematics/tolerance.test.ts checks both methods agree.
 *
 * A sample is a vector u of normalised deviations, one per uncertain quantity: ±1 is
 * the datasheet limit (3σ for gaussian ones, the bound for uniform ones).
 */
import {
  BLOG_TARGETS, COMMISSIONING_TRIM, COMPARATOR_PART_TOLERANCES, ComparatorBoardParts, LM393_DATASHEET,
  MAINS_CHARGER, REGULATOR_7805_DATASHEET, SITE,
} from '../hardware';
import { HEP600_REMOTE_LOAD_OHMS, Netlist, SCHOTTKY_MODEL, spiceNumber } from './netlists';

export type Kind = 'gauss' | 'unif';

export interface Param {
  name: string;
  kind: Kind;
  /** What ±1 means, for the report. */
  meaning: string;
}

type C = 'b' | 's';
const CHANNELS: C[] = ['b', 's'];
const CHANNEL_KEY: Record<C, 'battery' | 'sun'> = { b: 'battery', s: 'sun' };
/** Trip points are written as mV from these, so ngspice's 6-digit echo keeps 0.01 mV. */
export const REFERENCE_V: Record<C, number> = { b: BLOG_TARGETS.batteryOnV, s: BLOG_TARGETS.sunDownV };
const SERVO_GAIN = 1e8;
/** Our Schottky model drops 0.30 V at 1 mA; the BAT54's limit there is 0.32 V: +20 mV is its 3σ. */
export const SCHOTTKY_VF_SPREAD_V = 0.02;
const SCHOTTKY_IS = 16e-9;
const SCHOTTKY_N = 1.05;

const RESISTORS = ['top', 'bot', 'in', 'fb', 'pu'] as const;
type Res = typeof RESISTORS[number];
const FIELD: Record<Res, 'rTop' | 'rBottom' | 'rIn' | 'rFeedback' | 'rPullup'> = {
  top: 'rTop', bot: 'rBottom', in: 'rIn', fb: 'rFeedback', pu: 'rPullup',
};

/** Every uncertain quantity, in the order of a sample's u vector. */
export function parameters(): Param[] {
  const t = COMPARATOR_PART_TOLERANCES;
  const d = LM393_DATASHEET;
  const out: Param[] = [];
  const res = (name: string, tol: number, tcr: number, what: string): void => {
    out.push({ name: `u_${name}`, kind: 'gauss', meaning: `${what} ±${tol * 100} %` });
    out.push({ name: `u_tc_${name}`, kind: 'unif', meaning: `${what} ±${tcr * 1e6} ppm/°C` });
  };
  res('reft', t.resistor, t.resistorTcrPerC, 'reference top');
  res('refb', t.resistor, t.resistorTcrPerC, 'reference bottom');
  res('rem', t.remotePullup, t.remotePullupTcrPerC, 'REMOTE pull-up');
  for (const c of CHANNELS) {
    for (const r of RESISTORS) res(`${r}_${c}`, t.resistor, t.resistorTcrPerC, `${CHANNEL_KEY[c]} ${FIELD[r]}`);
    res(`pot_${c}`, t.pot, t.potTcrPerC, `${CHANNEL_KEY[c]} trimmer end to end`);
    out.push({ name: `u_vos_${c}`, kind: 'gauss', meaning: `${CHANNEL_KEY[c]} offset ±${d.inputOffsetMaxV * 1e3} mV at 25 °C` });
    out.push({ name: `u_vosdrift_${c}`, kind: 'unif', meaning: `${CHANNEL_KEY[c]} offset drift to ±${d.inputOffsetMaxFullRangeV * 1e3} mV at the rated range's ends` });
    out.push({ name: `u_iio_${c}`, kind: 'gauss', meaning: `${CHANNEL_KEY[c]} offset current ±${d.inputOffsetCurrentMaxA * 1e9} nA` });
    out.push({ name: `u_meter_${c}`, kind: 'unif', meaning: `meter error at the ${CHANNEL_KEY[c]} trim` });
    out.push({ name: `u_potres_${c}`, kind: 'unif', meaning: `${CHANNEL_KEY[c]} trimmer setting ±${COMMISSIONING_TRIM.potResolution / 2} of travel` });
  }
  out.push({ name: 'u_vf', kind: 'gauss', meaning: `Schottky forward drop ±${SCHOTTKY_VF_SPREAD_V * 1000} mV (BAT54: 320 mV max at 1 mA)` });
  out.push({ name: 'u_vcc', kind: 'gauss', meaning: `LM78C05 ±${REGULATOR_7805_DATASHEET.toleranceV} V` });
  out.push({ name: 'u_vccdrift', kind: 'unif', meaning: 'LM78C05 drift 0 … 2 × typical' });
  out.push({ name: 'u_ib', kind: 'gauss', meaning: `bias current typ ${d.inputBiasTypA * 1e9} nA, +1 = ${d.inputBiasMaxA * 1e9} nA` });
  out.push({ name: 'u_ron', kind: 'gauss', meaning: `V_OL typ ${d.outputLowTypV * 1e3} mV, +1 = ${d.outputLowMaxV * 1e3} mV at 4 mA` });
  out.push({ name: 'u_rontc', kind: 'unif', meaning: `V_OL rising to ${d.outputLowMaxFullRangeV * 1e3} mV max at the rated range's top` });
  out.push({ name: 'u_temp', kind: 'unif', meaning: `shed ${SITE.shedMinC}–${SITE.shedMaxC} °C` });
  return out;
}

/** Columns of each result line the control loop echoes, in order. */
export const RESULT_COLUMNS = [
  'k', 'tempC', 'wiper_b', 'wiper_s', 'trimResidual_b', 'trimResidual_s',
  'untrimmed_fall_b', 'untrimmed_rise_b', 'untrimmed_riseShared_b', 'untrimmed_fall_s', 'untrimmed_rise_s', 'untrimmed_riseShared_s',
  'trimmed_fall_b', 'trimmed_rise_b', 'trimmed_riseShared_b', 'trimmed_fall_s', 'trimmed_rise_s', 'trimmed_riseShared_s',
  'remoteOn_b', 'remoteOn_s', 'remoteOnShared', 'remoteOff', 'vcc', 'minLoadOhms', 'vref',
] as const;

export type ResultColumn = typeof RESULT_COLUMNS[number];

export interface ToleranceRun {
  /** Monte Carlo samples drawn in ngspice. */
  monteCarlo: number;
  seed: number;
  /** Fixed samples (u vectors, in parameters() order) run after the Monte Carlo ones. */
  fixed: number[][];
}

/** The netlist's elements: three held-state copies per channel, the reference, REMOTE. */
function circuit(board: ComparatorBoardParts): string[] {
  const lines: string[] = [
    `VCC vcc 0 DC ${spiceNumber(board.vcc)}`,
    `RRT vcc vref ${spiceNumber(board.rRefTop)}`,
    `RRB vref 0 ${spiceNumber(board.rRefBottom)}`,
  ];
  for (const c of CHANNELS) {
    const ch = board[CHANNEL_KEY[c]];
    lines.push(`* ${CHANNEL_KEY[c]}: f = output released, r = low alone, x = low with the other channel low too`);
    lines.push(`IBN${c} 0 vref DC ${spiceNumber(board.inputBiasA)}`);
    for (const i of ['f', 'r', 'x']) {
      const n = (s: string): string => `${s}${c}${i}`;
      lines.push(
        `RT${c}${i} ${n('vin')} ${n('hi')} ${spiceNumber(ch.rTop)}`,
        `RU${c}${i} ${n('hi')} ${n('w')} ${spiceNumber((1 - ch.potWiper) * ch.rPot)}`,
        `RL${c}${i} ${n('w')} ${n('lo')} ${spiceNumber(ch.potWiper * ch.rPot)}`,
        `RB${c}${i} ${n('lo')} 0 ${spiceNumber(ch.rBottom)}`,
        `RI${c}${i} ${n('w')} ${n('inp')} ${spiceNumber(ch.rIn)}`,
        `RF${c}${i} ${n('out')} ${n('inp')} ${spiceNumber(ch.rFeedback)}`,
        `RP${c}${i} vcc ${n('out')} ${spiceNumber(ch.rPullup)}`,
        `IB${c}${i} 0 ${n('inp')} DC ${spiceNumber(board.inputBiasA)}`,
        `VO${c}${i} ${n('vn')} vref DC ${spiceNumber(board.inputOffsetV)}`,
        `E${c}${i} ${n('vin')} 0 ${n('vn')} ${n('inp')} ${spiceNumber(SERVO_GAIN)}`,
      );
      if (i === 'f') continue;
      lines.push(
        `RO${c}${i} ${n('out')} 0 ${spiceNumber(board.outputOnOhms)}`,
        `D${c}${i} ${n('rem')} ${n('out')} schottky`,
        `RR${c}${i} vcc ${n('rem')} ${spiceNumber(board.rRemotePullup)}`,
        `RH${c}${i} ${n('rem')} 0 ${spiceNumber(HEP600_REMOTE_LOAD_OHMS)}`,
      );
      if (i === 'x') {
        lines.push(
          `DX${c} ${n('rem')} oth${c} schottky`,
          `ROX${c} oth${c} 0 ${spiceNumber(board.outputOnOhms)}`,
          `RPX${c} vcc oth${c} ${spiceNumber(board[CHANNEL_KEY[c === 'b' ? 's' : 'b']].rPullup)}`,
        );
      }
    }
  }
  lines.push(
    '* REMOTE with both outputs released: the pull-up against the charger\'s input',
    `RROFF vcc remoff ${spiceNumber(board.rRemotePullup)}`,
    `RHOFF remoff 0 ${spiceNumber(HEP600_REMOTE_LOAD_OHMS)}`,
    `.model schottky ${SCHOTTKY_MODEL}`,
  );
  return lines;
}

/** Control-language expression of a resistor at the sample's deviation and temperature. */
function res(nominal: number, tol: number, tcr: number, u: string, dt: string): string {
  return `${spiceNumber(nominal)}*(1+${tol}*u_${u})*(1+${tcr}*u_tc_${u}*${dt})`;
}

/**
 * let lines computing every part's value at the temperature offset `dt` into vectors
 * named `${v}_…` (a for the sample's temperature, t for the trim's).
 */
function computeValues(board: ComparatorBoardParts, v: string, dt: string): string[] {
  const t = COMPARATOR_PART_TOLERANCES;
  const d = LM393_DATASHEET;
  const reg = REGULATOR_7805_DATASHEET;
  const ronTyp = d.outputLowTypV / d.outputLowAtSinkA;
  const ronMax = d.outputLowMaxV / d.outputLowAtSinkA;
  // V_OL max grows from 400 mV at 25 °C to 700 mV at the rated top (70 °C): per °C, as a fraction.
  const ronTcMax = (d.outputLowMaxFullRangeV / d.outputLowMaxV - 1) / (d.operatingMaxC - 25);
  const vosDriftMax = (d.inputOffsetMaxFullRangeV - d.inputOffsetMaxV) / (d.operatingMaxC - 25);
  const out: string[] = [
    `let ${v}_vcc = ${reg.nominalV} + ${reg.toleranceV}*u_vcc + (${reg.driftTypVPerC} + ${reg.driftSpreadVPerC}*u_vccdrift)*${dt}`,
    `let ${v}_ib = (${d.inputBiasTypA} + ${d.inputBiasMaxA - d.inputBiasTypA}*u_ib)`,
    `let ${v}_ib = (${v}_ib + abs(${v}_ib))/2`,
    `let ${v}_ron = ${ronTyp} + ${ronMax - ronTyp}*u_ron`,
    `let ${v}_ron = ((${v}_ron - 0.1 + abs(${v}_ron - 0.1))/2 + 0.1)*(1 + ${ronTcMax}*(u_rontc+1)/2*${dt})`,
    `let ${v}_reft = ${res(board.rRefTop, t.resistor, t.resistorTcrPerC, 'reft', dt)}`,
    `let ${v}_refb = ${res(board.rRefBottom, t.resistor, t.resistorTcrPerC, 'refb', dt)}`,
    `let ${v}_rem = ${res(board.rRemotePullup, t.remotePullup, t.remotePullupTcrPerC, 'rem', dt)}`,
    // A forward drop higher by ΔV at the same current is IS × exp(−ΔV / (N·kT/q)).
    `let ${v}_is = ${SCHOTTKY_IS}*exp(-${SCHOTTKY_VF_SPREAD_V}*u_vf/(${SCHOTTKY_N}*0.025693))`,
  ];
  for (const c of CHANNELS) {
    const ch = board[CHANNEL_KEY[c]];
    out.push(
      `let ${v}_vos_${c} = ${d.inputOffsetMaxV}*u_vos_${c} + ${vosDriftMax}*u_vosdrift_${c}*${dt}`,
      `let ${v}_iio_${c} = ${d.inputOffsetCurrentMaxA}*u_iio_${c}`,
      `let ${v}_pot_${c} = ${res(ch.rPot, t.pot, t.potTcrPerC, `pot_${c}`, dt)}`,
    );
    for (const r of RESISTORS) out.push(`let ${v}_${r}_${c} = ${res(ch[FIELD[r]], t.resistor, t.resistorTcrPerC, `${r}_${c}`, dt)}`);
  }
  return out;
}

/** alter lines putting the values `${v}_…` into the shared parts and the given copies of each channel. */
function alterValues(v: string, copies: string[]): string[] {
  const out: string[] = [
    // The semiconductor models (the Schottkys) follow the temperature; the resistors' drift is in their values.
    `option temp = $&${v}_temp`,
    `altermod schottky is = ${v}_is`,
    `alter VCC dc = ${v}_vcc`,
    `alter RRT = ${v}_reft`,
    `alter RRB = ${v}_refb`,
  ];
  if (copies.includes('r')) out.push(`alter RROFF = ${v}_rem`);
  for (const c of CHANNELS) {
    out.push(`alter IBN${c} dc = ${v}_ib - ${v}_iio_${c}/2`);
    for (const i of copies) {
      out.push(
        `alter RT${c}${i} = ${v}_top_${c}`,
        `alter RB${c}${i} = ${v}_bot_${c}`,
        `alter RI${c}${i} = ${v}_in_${c}`,
        `alter RF${c}${i} = ${v}_fb_${c}`,
        `alter RP${c}${i} = ${v}_pu_${c}`,
        `alter IB${c}${i} dc = ${v}_ib + ${v}_iio_${c}/2`,
        `alter VO${c}${i} dc = ${v}_vos_${c}`,
      );
      if (i !== 'f') out.push(`alter RO${c}${i} = ${v}_ron`, `alter RR${c}${i} = ${v}_rem`);
    }
    if (copies.includes('x')) out.push(`alter ROX${c} = ${v}_ron`, `alter RPX${c} = ${v}_pu_${c === 'b' ? 's' : 'b'}`);
  }
  return [...out, ...applyWipers(v, copies)];
}

/** alter lines for the pot halves only (the trim's iterations change nothing else). */
function applyWipers(v: string, copies: string[]): string[] {
  const out: string[] = [];
  for (const c of CHANNELS) {
    for (const i of copies) {
      out.push(`alter RU${c}${i} = (1 - w_${c})*${v}_pot_${c}`, `alter RL${c}${i} = w_${c}*${v}_pot_${c}`);
    }
  }
  return out;
}

const ALL = ['f', 'r', 'x'];
const TRIM = ['f'];

/** Falling trip of each channel from the last op, into f_b and f_s. */
function readFalling(into: string): string[] {
  return CHANNELS.map((c) => `let ${into}_${c} = v(vin${c}f)`);
}

function readResults(prefix: string): string[] {
  const out: string[] = [];
  for (const c of CHANNELS) {
    const ref = REFERENCE_V[c];
    out.push(
      `let ${prefix}_fall_${c} = (v(vin${c}f) - ${ref})*1000`,
      `let ${prefix}_rise_${c} = (v(vin${c}r) - ${ref})*1000`,
      `let ${prefix}_riseShared_${c} = (v(vin${c}x) - ${ref})*1000`,
    );
  }
  return out;
}

/** The whole analysis as one self-contained netlist: `ngspice -b` writes tolerance.data. */
export function toleranceNetlist(board: ComparatorBoardParts, run: ToleranceRun): Netlist {
  const params = parameters();
  const data = 'tolerance.data';
  const trim = COMMISSIONING_TRIM;
  const tMid = (SITE.shedMinC + SITE.shedMaxC) / 2;
  const tHalf = (SITE.shedMaxC - SITE.shedMinC) / 2;
  const total = run.monteCarlo + run.fixed.length;
  const draw: string[] = params.map((p) => (p.kind === 'gauss' ? `let ${p.name} = agauss(0, 1, 3)` : `let ${p.name} = aunif(0, 1)`));
  const pick: string[] = [`let j = k - ${run.monteCarlo}`, ...params.map((p) => `let ${p.name} = fx_${p.name}[j]`)];
  const compose: string[] = run.fixed.length === 0 ? [] : params.map((p, j) => {
    const values = run.fixed.map((u) => {
      if (u.length !== params.length) throw new Error(`fixed sample has ${u.length} deviations, expected ${params.length}`);
      // Parenthesised: compose reads its list as expressions, so "0 -1" would be 0 − 1.
      return u[j] < 0 ? `(${u[j]})` : String(u[j]);
    });
    // A trailing 0 that is never read: ngspice cannot index a composed vector of length 1.
    return `compose fx_${p.name} values ${values.join(' ')} 0`;
  });
  const loop: string[] = [
    `while k < ${total}`,
    ...(run.monteCarlo > 0 && run.fixed.length > 0 ? [`if k < ${run.monteCarlo}`, ...draw, 'else', ...pick, 'end']
      : run.monteCarlo > 0 ? draw : pick),
    `let p_temp = ${tMid} + ${tHalf}*u_temp`,
    'let dt = p_temp - 25',
    `let dtc = ${trim.temperatureC} - 25`,
    'let a_temp = p_temp',
    `let t_temp = ${trim.temperatureC}`,
    '* untrimmed: the wipers where the design puts them, at the sample\'s temperature',
    `let w_b = ${board.battery.potWiper}`,
    `let w_s = ${board.sun.potWiper}`,
    ...computeValues(board, 'a', 'dt'),
    ...alterValues('a', ALL),
    'op',
    ...readResults('un'),
    '* commissioning trim at room temperature, on the released copies only: secant steps on the falling',
    '* trip, then the meter\'s and the setting\'s errors',
    ...computeValues(board, 't', 'dtc'),
    ...alterValues('t', TRIM),
    'op',
    ...readFalling('f0'),
    `let w_b = ${board.battery.potWiper} + 0.01`,
    `let w_s = ${board.sun.potWiper} + 0.01`,
    ...applyWipers('t', TRIM),
    'op',
    ...readFalling('f1'),
    ...CHANNELS.flatMap((c) => [
      `let sl_${c} = (f1_${c} - f0_${c})/0.01`,
      `let tg_${c} = ${REFERENCE_V[c]}*(1 + ${trim.meterGain}*u_meter_${c}) + ${trim.meterOffsetV}*u_meter_${c}`,
      `let w_${c} = ${board[CHANNEL_KEY[c]].potWiper} + (tg_${c} - f0_${c})/sl_${c}`,
    ]),
    ...applyWipers('t', TRIM),
    'op',
    ...readFalling('f2'),
    ...CHANNELS.map((c) => `let w_${c} = w_${c} + (tg_${c} - f2_${c})/sl_${c}`),
    ...applyWipers('t', TRIM),
    'op',
    ...readFalling('f3'),
    ...CHANNELS.map((c) => `let w_${c} = w_${c} + (tg_${c} - f3_${c})/sl_${c}`),
    ...applyWipers('t', TRIM),
    'op',
    ...CHANNELS.map((c) => `let rs_${c} = (v(vin${c}f) - tg_${c})*1000`),
    ...CHANNELS.map((c) => `let w_${c} = w_${c} + ${trim.potResolution / 2}*u_potres_${c}`),
    '* trimmed board at the sample\'s temperature',
    ...alterValues('a', ALL),
    'op',
    ...readResults('tr'),
    'let ron_b = v(rembr)',
    'let ron_s = v(remsr)',
    'let ron_x = v(rembx)',
    'let roff = v(remoff)',
    'let vccv = v(vcc)',
    `let minload = ${MAINS_CHARGER.remoteOffAboveV}*a_rem/(vccv - ${MAINS_CHARGER.remoteOffAboveV})`,
    'let vrefv = v(vref)',
    `echo "$&k $&p_temp $&w_b $&w_s $&rs_b $&rs_s $&un_fall_b $&un_rise_b $&un_riseShared_b $&un_fall_s $&un_rise_s $&un_riseShared_s $&tr_fall_b $&tr_rise_b $&tr_riseShared_b $&tr_fall_s $&tr_rise_s $&tr_riseShared_s $&ron_b $&ron_s $&ron_x $&roff $&vccv $&minload $&vrefv" >> ${data}`,
    'destroy all',
    'let k = k + 1',
    'end',
  ];
  // Every op makes a new plot, and a vector made with a plain `let` lives in the plot that
  // was current, out of sight after the next op. So every variable is made once in the
  // const plot before the loop, and the loop only assigns its element 0.
  const names = new Set<string>(['k']);
  const body = loop.map((line) => {
    const m = /^let (\w+) = (.*)$/.exec(line);
    if (!m) return line;
    names.add(m[1]);
    return `let ${m[1]}[0] = ${m[2]}`;
  });
  const lines = [
    '* Comparator board tolerance analysis: Monte Carlo and worst-case corners',
    '* Generated by schematics/tolerance.ts from hardware/; run it with `npm run schematics:tolerance`.',
    `* ${run.monteCarlo} Monte Carlo samples (seed ${run.seed}), then ${run.fixed.length} fixed samples.`,
    '* Each channel is here three times with its output held: released (f), low alone (r), low with the other',
    '* channel low (x). A servo E source drives each copy\'s input until IN+ = IN- + offset: that input is the trip.',
    '',
    ...circuit(board),
    '',
    '.control',
    `setseed ${run.seed}`,
    // ngspice's documented way to draw agauss/aunif inside the control language.
    'define agauss(nom, avar, sig) (nom + avar/sig * sgauss(0))',
    'define aunif(nom, avar) (nom + avar * sunif(0))',
    ...compose,
    `echo "${RESULT_COLUMNS.join(' ')}" > ${data}`,
    ...[...names].map((n) => `let ${n} = 0`),
    ...body,
    'quit 0',
    '.endc',
    '.end',
  ];
  return { name: 'comparator-tolerance', text: lines.join('\n') + '\n', dataFiles: [data] };
}
