import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BLOG_TARGETS, COMMISSIONING_TRIM, COMPARATOR_BOARD, ComparatorBoardParts, DEFAULT_THRESHOLDS, LM393_DATASHEET,
  MAINS_CHARGER, REGULATOR_7805_DATASHEET, SOLAR_INPUT, VOLTAGE_RANGES, comparatorInputV,
  comparatorTripPoints, outputLowVoltage, referenceVoltage,
} from '../../hardware';
import { DEFAULT_SWEEP } from '../../schematics/netlists';
import { simulateChannel } from '../../schematics/simulate';
import { parameters, toleranceNetlist } from '../../schematics/tolerance';
import {
  DOCS_WITH_TABLE, FIRMWARE_MATCH_V, MONTE_CARLO_RUNS, SEED, SUMMARY_FILE, ToleranceResult, ToleranceSummary,
  analyse, blockIn, checks, metric, summary, toleranceTable,
} from '../../schematics/tolerance-report';

const ROOT = path.join(__dirname, '..', '..');
/** The blog's REMOTE pull-up, which the docs compare ours with. */
const BLOG_PULLUP = 4700;
const REGENERATE = 'run `npm run schematics:tolerance` and commit the result';

function copyBoard(board: ComparatorBoardParts): ComparatorBoardParts {
  return JSON.parse(JSON.stringify(board)) as ComparatorBoardParts;
}

/** A small run for the tests that only need the machinery, not the committed figures. */
const SMALL = 40;

describe('schematics: tolerance analysis (ngspice Monte Carlo and corners)', function () {
  // The full analysis is ≈ 20 s of CPU; under a loaded machine it takes longer.
  this.timeout(300000);
  let full: ToleranceResult | undefined;

  before(async () => {
    full = await analyse(COMPARATOR_BOARD, MONTE_CARLO_RUNS, SEED);
  });

  function result(): ToleranceResult {
    if (!full) throw new Error('no analysis (the before hook failed)');
    return full;
  }

  it('draws at least 500 Monte Carlo boards with ngspice\'s agauss/aunif inside a seeded .control loop', () => {
    assert.ok(result().runs >= 500);
    assert.equal(result().samples.length, result().runs);
    const text = toleranceNetlist(COMPARATOR_BOARD, { monteCarlo: 10, seed: 3, fixed: [] }).text;
    const control = text.slice(text.indexOf('.control'), text.indexOf('.endc'));
    assert.match(control, /^setseed 3$/m);
    assert.match(control, /^while k < 10$/m);
    assert.match(control, /agauss\(0, 1, 3\)/);
    assert.match(control, /aunif\(0, 1\)/);
    // Every quantity is drawn in the loop, none fixed by TypeScript.
    for (const p of parameters()) assert.ok(control.includes(`let ${p.name}[0] = a${p.kind === 'gauss' ? 'gauss' : 'unif'}(`), p.name);
  });

  it('the typical board trips within 5 mV of the firmware defaults (DEFAULT_THRESHOLDS)', () => {
    const t = result().typical;
    const pairs: [string, number, number][] = [
      ['batteryOnV', metric(t, 'trimmed', 'fall_b'), DEFAULT_THRESHOLDS.batteryOnV],
      ['batteryOffV', metric(t, 'trimmed', 'rise_b'), DEFAULT_THRESHOLDS.batteryOffV],
      ['sunDownV', metric(t, 'trimmed', 'fall_s'), DEFAULT_THRESHOLDS.sunDownV],
      ['sunUpV', metric(t, 'trimmed', 'rise_s'), DEFAULT_THRESHOLDS.sunUpV],
    ];
    for (const [k, sim, fw] of pairs) assert.ok(Math.abs(sim - fw) < 0.005, `${k}: ngspice ${sim} vs firmware ${fw}`);
    // Untrimmed and trimmed are the same board when every part is typical.
    assert.ok(Math.abs(metric(t, 'untrimmed', 'rise_b') - metric(t, 'trimmed', 'rise_b')) < 1e-4);
  });

  it('the switching comparator (transient sweep, typical LM393) trips within 5 mV of the firmware defaults too', async () => {
    const [b, s] = await Promise.all([simulateChannel(COMPARATOR_BOARD, 'battery', DEFAULT_SWEEP), simulateChannel(COMPARATOR_BOARD, 'sun', DEFAULT_SWEEP)]);
    const pairs: [string, number[], number][] = [
      ['batteryOnV', b.trips.falling, DEFAULT_THRESHOLDS.batteryOnV], ['batteryOffV', b.trips.rising, DEFAULT_THRESHOLDS.batteryOffV],
      ['sunDownV', s.trips.falling, DEFAULT_THRESHOLDS.sunDownV], ['sunUpV', s.trips.rising, DEFAULT_THRESHOLDS.sunUpV],
    ];
    for (const [k, list, fw] of pairs) {
      assert.equal(list.length, 1, k);
      assert.ok(Math.abs(list[0] - fw) < 0.005, `${k}: transient ${list[0]} vs firmware ${fw}`);
    }
  });

  it('passes its own checks, and the committed summary is what this run gives (seeded, reproducible)', () => {
    assert.deepEqual(checks(result()), []);
    const committed = JSON.parse(readFileSync(SUMMARY_FILE, 'utf8')) as ToleranceSummary;
    assert.deepEqual(summary(result()), committed, REGENERATE);
  });

  it('the trim removes most of the spread; what is left comes from temperature', () => {
    const r = result();
    for (const m of ['fall_b', 'rise_b', 'fall_s', 'rise_s'] as const) {
      assert.ok(r.spreads.trimmed[m].sigma < 0.4 * r.spreads.untrimmed[m].sigma, m);
    }
    // At 25 °C the trimmed falling trip is the target within the meter's and the setting's error.
    const at25 = r.samples.filter((s) => Math.abs(s.tempC - 25) < 1);
    assert.ok(at25.length > 3);
    for (const s of at25) assert.ok(Math.abs(s.trimmed_fall_b) < 20, `trimmed battery falling at ${s.tempC} °C: ${s.trimmed_fall_b} mV`);
    for (const s of r.samples) assert.ok(Math.abs(s.trimResidual_b) < 1 && Math.abs(s.trimResidual_s) < 1, 'the trim iteration converged');
    // Corners bound the Monte Carlo.
    for (const m of ['fall_b', 'rise_s'] as const) {
      assert.ok(r.spreads.trimmed[m].worstMax >= r.spreads.trimmed[m].max && r.spreads.trimmed[m].worstMin <= r.spreads.trimmed[m].min);
    }
  });

  it('the same seed gives the same boards, another seed other boards', async () => {
    const [a, b, c] = await Promise.all([
      analyse(COMPARATOR_BOARD, SMALL, 7), analyse(COMPARATOR_BOARD, SMALL, 7), analyse(COMPARATOR_BOARD, SMALL, 8),
    ]);
    assert.deepEqual(a.samples, b.samples);
    assert.deepEqual(a.corners, b.corners);
    assert.notDeepEqual(a.samples.map((s) => s.untrimmed_fall_b), c.samples.map((s) => s.untrimmed_fall_b));
  });

  it('breaking one part value makes the analysis fail', async () => {
    // A feedback resistor one E96 step off: the board no longer trips where the firmware does.
    const wrongFeedback = copyBoard(COMPARATOR_BOARD);
    wrongFeedback.battery.rFeedback = 475000;
    // A REMOTE pull-up small enough that a low output plus its Schottky reads above 0.8 V.
    const strongPullup = copyBoard(COMPARATOR_BOARD);
    strongPullup.rRemotePullup = 680;
    const [f, p] = await Promise.all([analyse(wrongFeedback, SMALL, SEED), analyse(strongPullup, SMALL, SEED)]);
    assert.ok(checks(f).some((x) => /batteryOffV .* differs from the firmware default/.test(x)), checks(f).join('\n'));
    assert.ok(checks(p).some((x) => /REMOTE ON level reaches/.test(x)), checks(p).join('\n'));
  });
});

describe('schematics: tolerance figures in the docs', () => {
  const committed = JSON.parse(readFileSync(SUMMARY_FILE, 'utf8')) as ToleranceSummary;

  /** Every figure the prose may quote: the committed analysis's, and what follows from it or from hardware/. */
  function allowed(): { mv: Set<number>; v: Set<string>; kohm: Set<string>; ma: Set<string> } {
    const mv = new Set<number>();
    const v = new Set<string>();
    for (const m of Object.values(committed.metrics)) {
      for (const x of [m.sigma3Mv, m.worstLowMv, m.worstHighMv]) mv.add(Math.abs(x));
      v.add(m.typical.toFixed(3));
    }
    const s = committed.sharedShiftMv;
    for (const x of [s.battery, s.batteryWorst, s.sun, s.sunWorst]) mv.add(x);
    v.add(committed.remote.onMaxV.toFixed(2));
    v.add(committed.remote.offMinV.toFixed(2));
    // The input-range reasoning: the sun input at the panel range's top and at the cold-morning maximum.
    const coldMaxV = SOLAR_INPUT.kind === 'adc' ? SOLAR_INPUT.maxPanelV : assert.fail('solar input is not the ADC divider');
    for (const vin of [VOLTAGE_RANGES.panel.max, coldMaxV]) {
      v.add(comparatorInputV(COMPARATOR_BOARD, COMPARATOR_BOARD.sun, vin, false).toFixed(2));
    }
    // How far the worst trimmed battery release stays under the charger's setting.
    const release = committed.metrics['trimmed.rise_b'];
    mv.add(Math.round((MAINS_CHARGER.chargeV - release.typical) * 1000 - release.worstHighMv));
    // The typical V_OL and what it does to the rising trips, from the arithmetic.
    const b = COMPARATOR_BOARD;
    mv.add(Math.round(outputLowVoltage(b, b.battery, referenceVoltage(b)) * 1000));
    const ideal = copyBoard(b);
    ideal.outputOnOhms = 0;
    mv.add(Math.round((comparatorTripPoints(ideal, ideal.battery).risingV - comparatorTripPoints(b, b.battery).risingV) * 1000));
    // The regulator's typical drift at the battery's trip.
    mv.add(Math.abs(Number((REGULATOR_7805_DATASHEET.driftTypVPerC * 1000 * BLOG_TARGETS.batteryOnV / b.vcc).toFixed(2))));
    mv.add(Math.abs(REGULATOR_7805_DATASHEET.driftTypVPerC * 1000));
    // Limits the text states: the firmware match, the meter's offset, the LM393's offset figures.
    mv.add(FIRMWARE_MATCH_V * 1000);
    mv.add(COMMISSIONING_TRIM.meterOffsetV * 1000);
    for (const x of [LM393_DATASHEET.inputOffsetTypV, LM393_DATASHEET.inputOffsetMaxV, LM393_DATASHEET.inputOffsetMaxFullRangeV]) mv.add(x * 1000);
    // Minimum REMOTE load: the analysis's, and the same worst case with the blog's 4.7 kΩ (it scales with the pull-up).
    const loads = [committed.remote.minLoadKohm.toFixed(1), (committed.remote.minLoadKohm * BLOG_PULLUP / b.rRemotePullup).toFixed(1)];
    const ma = new Set<string>(loads.map((k) => (MAINS_CHARGER.remoteOffAboveV / Number(k)).toFixed(2)));
    // The pull-ups the text compares: the blog's, ours, and the smaller one we rejected.
    const kohm = new Set<string>([...loads, ...[BLOG_PULLUP, b.rRemotePullup, 2200].map((r) => (r / 1000).toFixed(1))]);
    return { mv, v, kohm, ma };
  }

  /** The hand-written text around a document's generated table: the section it sits in. */
  function prose(doc: string, from: string, to: string): string {
    const text = readFileSync(path.join(ROOT, doc), 'utf8');
    const a = text.indexOf(from);
    const b = text.indexOf(to, a + from.length);
    assert.ok(a >= 0 && b > a, `${doc}: section "${from}" not found`);
    const section = text.slice(a, b);
    return section.slice(0, section.indexOf('<!-- tolerance:start')) + section.slice(section.indexOf('<!-- tolerance:end'));
  }

  for (const [doc, from, to] of [
    ['hardware/WIRING.md', '### Accuracy over part tolerances and temperature', '## 8.'],
    ['schematics/README.md', '## Tolerance analysis', '## Simulated vs computed'],
  ] as const) {
    it(`${doc}: every figure the prose quotes around the table is one the analysis (or hardware/) gives`, () => {
      const text = prose(doc, from, to);
      const ok = allowed();
      let seen = 0;
      for (const m of text.matchAll(/(?<![\d.])(\d+(?:\.\d+)?) mV\b/g)) {
        assert.ok(ok.mv.has(Number(m[1])), `${doc} quotes ${m[1]} mV, which the analysis does not give (${[...ok.mv].join(', ')})`);
        seen++;
      }
      for (const m of text.matchAll(/(?<![\d.])(\d+\.\d{2,3}) V\b/g)) {
        assert.ok(ok.v.has(m[1]), `${doc} quotes ${m[1]} V, which the analysis does not give`);
        seen++;
      }
      for (const m of text.matchAll(/(?<![\d.])(\d+\.\d) kΩ/g)) {
        assert.ok(ok.kohm.has(m[1]), `${doc} quotes ${m[1]} kΩ, which the analysis does not give`);
        seen++;
      }
      for (const m of text.matchAll(/(?<![\d.])(\d+\.\d{2}) mA/g)) {
        assert.ok(ok.ma.has(m[1]), `${doc} quotes ${m[1]} mA, which the analysis does not give`);
        seen++;
      }
      assert.ok(seen >= 6, `${doc}: only ${seen} figures found`);
    });
  }

  for (const doc of DOCS_WITH_TABLE) {
    it(`${doc} carries the table of the committed analysis`, () => {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      assert.equal(blockIn(text, doc), toleranceTable(committed), REGENERATE);
    });
  }
});
