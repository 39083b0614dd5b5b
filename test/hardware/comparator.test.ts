import { strict as assert } from 'node:assert';
import {
  BLOG_TARGETS, COMPARATOR_BOARD, ComparatorBoardParts, ComparatorChannelParts,
  DEFAULT_THRESHOLDS, LM393_DATASHEET, MAINS_CHARGER, VOLTAGE_RANGES, comparatorInputV, comparatorTripPoints,
  outputLowVoltage, referenceVoltage, solvePotWiper, switchingInputV, thresholdsFromComparatorBoard,
} from '../../hardware';
import { seededRandom } from '../../simulator/random';

// ---------------------------------------------------------------------------
// An independent model: the whole resistor network as nodal equations, solved by
// Gaussian elimination. It shares no algebra with comparator.ts (no Thevenin
// reduction, no closed-form trip point), so agreement means the closed forms are right.

type Resistor = [string, string, number];

function solveNodes(fixed: Record<string, number>, resistors: Resistor[]): Record<string, number> {
  const unknown: string[] = [];
  for (const [a, b] of resistors) {
    for (const n of [a, b]) if (!(n in fixed) && !unknown.includes(n)) unknown.push(n);
  }
  const size = unknown.length;
  const g: number[][] = unknown.map(() => new Array<number>(size + 1).fill(0));
  const index = (n: string): number => unknown.indexOf(n);
  for (const [a, b, ohms] of resistors) {
    const y = 1 / Math.max(ohms, 1e-6); // a pot end at 0 Ω becomes a near-short
    for (const [self, other] of [[a, b], [b, a]]) {
      const i = index(self);
      if (i < 0) continue;
      g[i][i] += y;
      const j = index(other);
      if (j >= 0) g[i][j] -= y; else g[i][size] += y * fixed[other];
    }
  }
  for (let col = 0; col < size; col++) {
    let pivot = col;
    for (let r = col + 1; r < size; r++) if (Math.abs(g[r][col]) > Math.abs(g[pivot][col])) pivot = r;
    [g[col], g[pivot]] = [g[pivot], g[col]];
    for (let r = 0; r < size; r++) {
      if (r === col) continue;
      const f = g[r][col] / g[col][col];
      for (let c = col; c <= size; c++) g[r][c] -= f * g[col][c];
    }
  }
  const out: Record<string, number> = { ...fixed };
  unknown.forEach((n, i) => { out[n] = g[i][size] / g[i][i]; });
  return out;
}

/** A current source as a Norton pair the resistor-only solver can take: Ib from a huge voltage through a huge resistor. */
const NORTON_OHMS = 1e15;

/**
 * IN+ of one channel, from the full network: divider, pot halves, Rin, feedback, pull-up,
 * the bias current out of IN+, and with the output low the saturated transistor (a
 * resistor to ground) sinking REMOTE's pull-up through a diode of fixed drop (a resistor
 * from VCC − drop).
 */
function nodalInPlus(board: ComparatorBoardParts, ch: ComparatorChannelParts, vin: number, outputLow: boolean): number {
  const fixed: Record<string, number> = {
    IN: vin, GND: 0, VCC: board.vcc, BIAS: board.inputBiasA * NORTON_OHMS, DIODE: board.vcc - board.remoteDiodeDropV,
  };
  const network: Resistor[] = [
    ['IN', 'TOP', ch.rTop],
    ['TOP', 'WIPER', (1 - ch.potWiper) * ch.rPot],
    ['WIPER', 'BOTTOM', ch.potWiper * ch.rPot],
    ['BOTTOM', 'GND', ch.rBottom],
    ['WIPER', 'INP', ch.rIn],
    ['INP', 'OUT', ch.rFeedback],
    ['OUT', 'VCC', ch.rPullup],
    ['BIAS', 'INP', NORTON_OHMS],
  ];
  if (outputLow) network.push(['OUT', 'GND', board.outputOnOhms], ['DIODE', 'OUT', board.rRemotePullup]);
  return solveNodes(fixed, network).INP;
}

/** IN− with its bias current, plus the offset: the IN+ at which the output switches. */
function nodalVref(board: ComparatorBoardParts): number {
  // Both channels' IN− pins hang on the reference: two bias currents.
  return solveNodes({ VCC: board.vcc, GND: 0, BIAS: board.inputBiasA * NORTON_OHMS }, [
    ['VCC', 'REF', board.rRefTop], ['REF', 'GND', board.rRefBottom], ['BIAS', 'REF', NORTON_OHMS], ['BIAS', 'REF', NORTON_OHMS],
  ]).REF + board.inputOffsetV;
}

/** Input voltage at which IN+ crosses the switching level, by bisection; IN+ rises with the input. */
function nodalTrip(board: ComparatorBoardParts, ch: ComparatorChannelParts, outputLow: boolean): number {
  const vref = nodalVref(board);
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (nodalInPlus(board, ch, mid, outputLow) < vref) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

function copyBoard(board: ComparatorBoardParts): ComparatorBoardParts {
  return JSON.parse(JSON.stringify(board)) as ComparatorBoardParts;
}

// Deterministic (seeded), so a failure reproduces exactly.
const prng = seededRandom;

const sweep = (min: number, max: number, step: number): number[] => {
  const out: number[] = [];
  for (let i = 0; min + i * step <= max + 1e-9; i++) out.push(min + i * step);
  return out;
};

// ---------------------------------------------------------------------------

describe('hardware/comparator: trip points of the board', () => {
  const battery = comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.battery);
  const sun = comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.sun);

  it('falling trips are the blog targets within 1 mV', () => {
    assert.ok(Math.abs(battery.fallingV - BLOG_TARGETS.batteryOnV) < 0.001, `battery ${battery.fallingV}`);
    assert.ok(Math.abs(sun.fallingV - BLOG_TARGETS.sunDownV) < 0.001, `sun ${sun.fallingV}`);
    assert.equal(BLOG_TARGETS.batteryOnV, 12.0);
    assert.equal(BLOG_TARGETS.sunDownV, 10.0);
  });

  it('each rising trip is above its falling trip (real hysteresis)', () => {
    assert.ok(battery.risingV > battery.fallingV + 0.5, `battery ${battery.fallingV}…${battery.risingV}`);
    assert.ok(sun.risingV > sun.fallingV + 0.5, `sun ${sun.fallingV}…${sun.risingV}`);
  });

  it('the battery releases above any resting AGM voltage and below the charger setting', () => {
    assert.ok(battery.risingV > 13.0, `${battery.risingV}`);
    assert.ok(battery.risingV < MAINS_CHARGER.chargeV, `${battery.risingV} ≥ ${MAINS_CHARGER.chargeV}`);
  });

  it('pot wipers were trimmed to a position inside the pot', () => {
    for (const ch of [COMPARATOR_BOARD.battery, COMPARATOR_BOARD.sun]) {
      assert.ok(ch.potWiper > 0 && ch.potWiper < 1, `wiper ${ch.potWiper}`);
    }
  });

  it('an independent nodal solution agrees with comparatorTripPoints within 0.1 %', () => {
    for (const [name, ch] of [['battery', COMPARATOR_BOARD.battery], ['sun', COMPARATOR_BOARD.sun]] as const) {
      const closed = comparatorTripPoints(COMPARATOR_BOARD, ch);
      const falling = nodalTrip(COMPARATOR_BOARD, ch, false);
      const rising = nodalTrip(COMPARATOR_BOARD, ch, true);
      assert.ok(Math.abs(falling / closed.fallingV - 1) < 0.001, `${name} falling ${falling} vs ${closed.fallingV}`);
      assert.ok(Math.abs(rising / closed.risingV - 1) < 0.001, `${name} rising ${rising} vs ${closed.risingV}`);
    }
    assert.ok(Math.abs(nodalVref(COMPARATOR_BOARD) - switchingInputV(COMPARATOR_BOARD)) < 1e-9);
  });

  it('the nodal model agrees with a worst-case LM393 too (max V_OL, offset and bias)', () => {
    const b = copyBoard(COMPARATOR_BOARD);
    b.outputOnOhms = LM393_DATASHEET.outputLowMaxFullRangeV / LM393_DATASHEET.outputLowAtSinkA;
    b.inputOffsetV = -LM393_DATASHEET.inputOffsetMaxFullRangeV;
    b.inputBiasA = LM393_DATASHEET.inputBiasMaxFullRangeA;
    for (const ch of [b.battery, b.sun]) {
      const closed = comparatorTripPoints(b, ch);
      assert.ok(Math.abs(nodalTrip(b, ch, false) - closed.fallingV) < 1e-6);
      assert.ok(Math.abs(nodalTrip(b, ch, true) - closed.risingV) < 1e-6);
    }
  });

  it('the typical LM393 output low (≈ 71 mV at ≈ 1.9 mA with the 3.3 k REMOTE pull-up) moves each rising trip ≈ 29 mV below an ideal 0 V output', () => {
    const ideal = copyBoard(COMPARATOR_BOARD);
    ideal.outputOnOhms = 0;
    const vol = outputLowVoltage(COMPARATOR_BOARD, COMPARATOR_BOARD.battery, referenceVoltage(COMPARATOR_BOARD));
    assert.ok(vol > 0.065 && vol < 0.078, `V_OL ${vol}`);
    // The sink current: own pull-up, REMOTE's pull-up through the diode, the feedback resistor.
    const sinkA = vol / COMPARATOR_BOARD.outputOnOhms;
    assert.ok(sinkA > 1.8e-3 && sinkA < 2.0e-3, `sink ${sinkA}`);
    for (const ch of ['battery', 'sun'] as const) {
      const shift = comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD[ch]).risingV - comparatorTripPoints(ideal, ideal[ch]).risingV;
      assert.ok(shift < -0.025 && shift > -0.033, `${ch} rising moved ${shift}`);
      assert.equal(comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD[ch]).fallingV, comparatorTripPoints(ideal, ideal[ch]).fallingV);
    }
  });

  it('comparatorInputV matches the nodal solution in both output states', () => {
    for (const ch of [COMPARATOR_BOARD.battery, COMPARATOR_BOARD.sun]) {
      for (const vin of [0, 5, 11.3, 14.4, 22]) {
        for (const low of [false, true]) {
          const a = comparatorInputV(COMPARATOR_BOARD, ch, vin, low);
          const b = nodalInPlus(COMPARATOR_BOARD, ch, vin, low);
          // comparatorInputV takes V_OL at IN+ = Vref; its feedback share is µA, so µV here.
          assert.ok(Math.abs(a - b) < 2e-5, `vin ${vin}, low ${low}: ${a} vs ${b}`);
        }
      }
    }
  });
});

describe('hardware/comparator: LM393 input range', () => {
  const limit = COMPARATOR_BOARD.vcc - COMPARATOR_BOARD.inputHeadroomV;

  it('the limit is VCC − 1.5 V = 3.5 V on a 5 V supply', () => {
    assert.equal(COMPARATOR_BOARD.vcc, 5);
    assert.ok(Math.abs(limit - 3.5) < 1e-12);
  });

  it('the reference is inside the input range', () => {
    const vref = referenceVoltage(COMPARATOR_BOARD);
    assert.ok(vref > 0 && vref <= limit, `Vref ${vref}`);
  });

  const cases = [
    { name: 'battery', ch: COMPARATOR_BOARD.battery, range: VOLTAGE_RANGES.battery },
    { name: 'sun', ch: COMPARATOR_BOARD.sun, range: VOLTAGE_RANGES.panel },
  ];
  for (const c of cases) {
    it(`${c.name}: IN+ stays within 0…${limit} V over ${c.range.min}–${c.range.max} V in both output states`, () => {
      for (const vin of sweep(c.range.min, c.range.max, 0.01)) {
        for (const low of [false, true]) {
          const v = comparatorInputV(COMPARATOR_BOARD, c.ch, vin, low);
          assert.ok(v <= limit, `${c.name} ${vin.toFixed(2)} V, output ${low ? 'low' : 'released'}: IN+ ${v}`);
          assert.ok(v >= 0, `${c.name} ${vin.toFixed(2)} V: IN+ ${v} below ground`);
        }
      }
    });
  }
});

describe('hardware/comparator: thresholds derived from the parts', () => {
  const snapshot = JSON.stringify(COMPARATOR_BOARD);
  after(() => {
    assert.equal(JSON.stringify(COMPARATOR_BOARD), snapshot, 'a test mutated COMPARATOR_BOARD');
  });

  it('DEFAULT_THRESHOLDS are exactly the board trip points with no dwell', () => {
    assert.deepEqual(DEFAULT_THRESHOLDS, thresholdsFromComparatorBoard(COMPARATOR_BOARD, 0));
    assert.equal(DEFAULT_THRESHOLDS.minDwellS, 0);
    assert.ok(DEFAULT_THRESHOLDS.sunUpV > DEFAULT_THRESHOLDS.sunDownV);
    assert.ok(DEFAULT_THRESHOLDS.batteryOffV > DEFAULT_THRESHOLDS.batteryOnV);
  });

  const base = thresholdsFromComparatorBoard(COMPARATOR_BOARD, 0);

  it('a larger battery feedback resistor narrows the battery hysteresis from both sides', () => {
    const b = copyBoard(COMPARATOR_BOARD);
    b.battery.rFeedback *= 1.5;
    const t = thresholdsFromComparatorBoard(b, 0);
    assert.ok(t.batteryOnV > base.batteryOnV, 'falling trip rises');
    assert.ok(t.batteryOffV < base.batteryOffV, 'rising trip falls');
    assert.equal(t.sunDownV, base.sunDownV, 'the sun channel is independent of the battery parts');
    assert.equal(t.sunUpV, base.sunUpV);
  });

  it('a larger own pull-up narrows the hysteresis from the falling side only', () => {
    const b = copyBoard(COMPARATOR_BOARD);
    b.sun.rPullup *= 10;
    const t = thresholdsFromComparatorBoard(b, 0);
    assert.ok(t.sunDownV > base.sunDownV);
    // With the output low the pull-up is shorted by the open collector: the rising trip moves
    // only through V_OL, whose sink current loses the pull-up's share (a few mV).
    assert.ok(Math.abs(t.sunUpV - base.sunUpV) < 0.01, `${t.sunUpV} vs ${base.sunUpV}`);
  });

  it('a larger divider top resistor raises that channel’s trips', () => {
    const b = copyBoard(COMPARATOR_BOARD);
    b.sun.rTop *= 1.1;
    const t = thresholdsFromComparatorBoard(b, 0);
    assert.ok(t.sunDownV > base.sunDownV && t.sunUpV > base.sunUpV);
  });

  it('a larger reference top resistor lowers Vref and with it every trip', () => {
    const b = copyBoard(COMPARATOR_BOARD);
    b.rRefTop *= 1.1;
    assert.ok(referenceVoltage(b) < referenceVoltage(COMPARATOR_BOARD));
    const t = thresholdsFromComparatorBoard(b, 0);
    assert.ok(t.batteryOnV < base.batteryOnV && t.batteryOffV < base.batteryOffV);
    assert.ok(t.sunDownV < base.sunDownV && t.sunUpV < base.sunUpV);
  });

  it('moving a wiper towards the top of its pot lowers the trips', () => {
    const b = copyBoard(COMPARATOR_BOARD);
    b.battery.potWiper = Math.min(1, b.battery.potWiper + 0.2);
    const t = thresholdsFromComparatorBoard(b, 0);
    assert.ok(t.batteryOnV < base.batteryOnV && t.batteryOffV < base.batteryOffV);
  });

  it('minDwellS is passed through', () => {
    assert.equal(thresholdsFromComparatorBoard(COMPARATOR_BOARD, 30).minDwellS, 30);
  });
});

describe('hardware/comparator: commissioning against part tolerances', () => {
  it('each pot covers its target with at least 5 % to spare either way', () => {
    for (const [ch, target] of [
      [COMPARATOR_BOARD.battery, BLOG_TARGETS.batteryOnV],
      [COMPARATOR_BOARD.sun, BLOG_TARGETS.sunDownV],
    ] as const) {
      const top = comparatorTripPoints(COMPARATOR_BOARD, { ...ch, potWiper: 0 }).fallingV;
      const bottom = comparatorTripPoints(COMPARATOR_BOARD, { ...ch, potWiper: 1 }).fallingV;
      assert.ok(bottom < target * 0.95 && top > target * 1.05, `range ${bottom}…${top} for ${target}`);
    }
  });

  it('solvePotWiper reports an unreachable target as NaN', () => {
    assert.ok(Number.isNaN(solvePotWiper(COMPARATOR_BOARD, COMPARATOR_BOARD.battery, 16)));
    assert.ok(Number.isNaN(solvePotWiper(COMPARATOR_BOARD, COMPARATOR_BOARD.sun, 5)));
  });

  // Commissioning happens at room temperature, where a 78xx holds ±2 %; over temperature
  // it may wander another ±2 % after the pots are set. Resistors 1 %, trimmers ±10 %.
  it('with real tolerances the pots still reach the targets, and later regulator drift keeps the release under 14.4 V', () => {
    const rand = prng(0x5eed);
    const jitter = (x: number, tol: number): number => x * (1 + tol * (2 * rand() - 1));
    for (let i = 0; i < 300; i++) {
      const b = copyBoard(COMPARATOR_BOARD);
      b.vcc = jitter(b.vcc, 0.02);
      b.rRefTop = jitter(b.rRefTop, 0.01);
      b.rRefBottom = jitter(b.rRefBottom, 0.01);
      for (const ch of [b.battery, b.sun]) {
        ch.rTop = jitter(ch.rTop, 0.01);
        ch.rBottom = jitter(ch.rBottom, 0.01);
        ch.rIn = jitter(ch.rIn, 0.01);
        ch.rFeedback = jitter(ch.rFeedback, 0.01);
        ch.rPullup = jitter(ch.rPullup, 0.01);
        ch.rPot = jitter(ch.rPot, 0.1);
      }
      b.battery.potWiper = solvePotWiper(b, b.battery, BLOG_TARGETS.batteryOnV);
      b.sun.potWiper = solvePotWiper(b, b.sun, BLOG_TARGETS.sunDownV);
      assert.ok(!Number.isNaN(b.battery.potWiper) && !Number.isNaN(b.sun.potWiper), `sample ${i}: pot out of range`);
      const t = thresholdsFromComparatorBoard(b, 0);
      assert.ok(Math.abs(t.batteryOnV - BLOG_TARGETS.batteryOnV) < 0.001);
      assert.ok(t.batteryOffV > 13.0 && t.batteryOffV < MAINS_CHARGER.chargeV, `sample ${i}: release ${t.batteryOffV}`);
      assert.ok(t.sunUpV > t.sunDownV + 1, `sample ${i}: sun ${t.sunDownV}…${t.sunUpV}`);
      for (const drift of [0.98, 1.02]) {
        const d = copyBoard(b);
        d.vcc *= drift;
        const td = thresholdsFromComparatorBoard(d, 0);
        assert.ok(td.batteryOffV < MAINS_CHARGER.chargeV, `sample ${i}, VCC ×${drift}: release ${td.batteryOffV}`);
        assert.ok(td.batteryOnV > 11.0, `sample ${i}, VCC ×${drift}: ON at ${td.batteryOnV}, below the MP3735 cut-off`);
        const limit = d.vcc - d.inputHeadroomV;
        assert.ok(comparatorInputV(d, d.sun, VOLTAGE_RANGES.panel.max, false) <= limit, `sample ${i}: sun IN+ over ${limit}`);
      }
    }
  });
});
