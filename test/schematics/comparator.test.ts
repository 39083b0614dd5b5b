import assert from 'node:assert/strict';
import {
  COMPARATOR_BOARD, ComparatorBoardParts, DEFAULT_THRESHOLDS, VOLTAGE_RANGES,
  comparatorInputV, comparatorTripPoints, thresholdsFromComparatorBoard,
} from '../../hardware';
import { ChannelId } from '../../schematics/netlists';
import { ChannelSimulation, relativeError, simulateChannel } from '../../schematics/simulate';

type ThresholdKey = 'batteryOnV' | 'batteryOffV' | 'sunDownV' | 'sunUpV';

/** The tolerance between SPICE and the arithmetic. */
const TOLERANCE = 0.01;

function copyBoard(board: ComparatorBoardParts): ComparatorBoardParts {
  return JSON.parse(JSON.stringify(board)) as ComparatorBoardParts;
}

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(relativeError(actual, expected) <= TOLERANCE,
    `${what}: SPICE ${actual.toFixed(4)} V vs ${expected.toFixed(4)} V (${(100 * relativeError(actual, expected)).toFixed(3)} %, limit 1 %)`);
}

function single(list: number[], what: string): number {
  assert.equal(list.length, 1, `${what}: expected exactly one crossing per sweep, got [${list.join(', ')}]`);
  return list[0];
}

describe('schematics: comparator channels in ngspice', function () {
  this.timeout(30000);
  const sims: Partial<Record<ChannelId, ChannelSimulation>> = {};

  before(async () => {
    const [b, s] = await Promise.all([simulateChannel(COMPARATOR_BOARD, 'battery'), simulateChannel(COMPARATOR_BOARD, 'sun')]);
    sims.battery = b;
    sims.sun = s;
  });

  function sim(id: ChannelId): ChannelSimulation {
    const s = sims[id];
    if (!s) throw new Error(`no ${id} simulation (the before hook failed)`);
    return s;
  }

  it('sweeps the full ranges from hardware/ (battery 10–15 V, panel 0–22 V), up then down', () => {
    for (const [id, range] of [['battery', VOLTAGE_RANGES.battery], ['sun', VOLTAGE_RANGES.panel]] as const) {
      const v = sim(id).input;
      assert.equal(Math.min(...v), range.min);
      assert.equal(Math.max(...v), range.max);
      assert.equal(v[0], range.min);
      assert.equal(v[v.length - 1], range.min);
    }
    assert.deepEqual([VOLTAGE_RANGES.battery.min, VOLTAGE_RANGES.battery.max, VOLTAGE_RANGES.panel.min, VOLTAGE_RANGES.panel.max], [10, 15, 0, 22]);
  });

  it('battery comparator trips where comparatorTripPoints() says, within 1 %', () => {
    const computed = comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.battery);
    assertClose(single(sim('battery').trips.falling, 'battery falling'), computed.fallingV, 'battery falling trip');
    assertClose(single(sim('battery').trips.rising, 'battery rising'), computed.risingV, 'battery rising trip');
  });

  it('sun comparator trips where comparatorTripPoints() says, within 1 %', () => {
    const computed = comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.sun);
    assertClose(single(sim('sun').trips.falling, 'sun falling'), computed.fallingV, 'sun falling trip');
    assertClose(single(sim('sun').trips.rising, 'sun rising'), computed.risingV, 'sun rising trip');
  });

  it('the simulated trips are the firmware defaults (DEFAULT_THRESHOLDS), within 1 %', () => {
    assertClose(single(sim('battery').trips.falling, 'battery falling'), DEFAULT_THRESHOLDS.batteryOnV, 'batteryOnV');
    assertClose(single(sim('battery').trips.rising, 'battery rising'), DEFAULT_THRESHOLDS.batteryOffV, 'batteryOffV');
    assertClose(single(sim('sun').trips.falling, 'sun falling'), DEFAULT_THRESHOLDS.sunDownV, 'sunDownV');
    assertClose(single(sim('sun').trips.rising, 'sun rising'), DEFAULT_THRESHOLDS.sunUpV, 'sunUpV');
    // Hysteresis is real: the release is well above the trip (else the test above is vacuous).
    assert.ok(DEFAULT_THRESHOLDS.batteryOffV - DEFAULT_THRESHOLDS.batteryOnV > 1);
    assert.ok(DEFAULT_THRESHOLDS.sunUpV - DEFAULT_THRESHOLDS.sunDownV > 1);
  });

  it('every comparator input stays at or below VCC − 1.5 V = 3.5 V over the whole sweep', () => {
    const limit = COMPARATOR_BOARD.vcc - COMPARATOR_BOARD.inputHeadroomV;
    assert.equal(limit, 3.5);
    for (const id of ['battery', 'sun'] as const) {
      const s = sim(id);
      const maxIn = Math.max(...s.inPlus, ...s.vref);
      assert.ok(maxIn <= limit, `${id}: an input reached ${maxIn.toFixed(3)} V (limit ${limit} V)`);
      assert.ok(Math.min(...s.headroom) >= 0, `${id}: the model flagged the common-mode limit (headroom ${Math.min(...s.headroom)} V)`);
    }
  });

  it('IN+ in SPICE matches comparatorInputV() at the top of each sweep', () => {
    for (const id of ['battery', 'sun'] as const) {
      const s = sim(id);
      const top = s.input.indexOf(Math.max(...s.input));
      const released = s.out[top] > COMPARATOR_BOARD.vcc / 2;
      const expected = comparatorInputV(COMPARATOR_BOARD, COMPARATOR_BOARD[id], s.input[top], !released);
      assertClose(s.inPlus[top], expected, `${id} IN+ at ${s.input[top]} V`);
    }
  });

  it('the common-mode check can fail: a sun divider that maps 22 V above 3.5 V is flagged', async () => {
    const bad = copyBoard(COMPARATOR_BOARD);
    bad.sun.rTop = bad.sun.rTop / 3;
    const limit = bad.vcc - bad.inputHeadroomV;
    assert.ok(comparatorInputV(bad, bad.sun, VOLTAGE_RANGES.panel.max, false) > limit, 'the arithmetic should see the violation too');
    const s = await simulateChannel(bad, 'sun');
    assert.ok(Math.max(...s.inPlus) > limit, `IN+ peaked at ${Math.max(...s.inPlus)} V`);
    assert.ok(Math.min(...s.headroom) < 0, 'the model did not flag the common-mode violation');
  });

  // One resistor changes; the SPICE trips and the firmware thresholds must follow it together.
  const changes: { label: string; id: ChannelId; edit: (b: ComparatorBoardParts) => void; falling: ThresholdKey; rising: ThresholdKey; moved: ThresholdKey }[] = [
    { label: 'battery rFeedback × 0.7', id: 'battery', edit: (b) => { b.battery.rFeedback *= 0.7; }, falling: 'batteryOnV', rising: 'batteryOffV', moved: 'batteryOnV' },
    { label: 'sun rTop × 1.15', id: 'sun', edit: (b) => { b.sun.rTop *= 1.15; }, falling: 'sunDownV', rising: 'sunUpV', moved: 'sunDownV' },
  ];
  for (const c of changes) {
    it(`changing one resistor (${c.label}) moves the SPICE trips and thresholdsFromComparatorBoard() together`, async () => {
      const changed = copyBoard(COMPARATOR_BOARD);
      c.edit(changed);
      const before = thresholdsFromComparatorBoard(COMPARATOR_BOARD, 0);
      const after = thresholdsFromComparatorBoard(changed, 0);
      assert.ok(Math.abs(after[c.moved] - before[c.moved]) > 0.04 * before[c.moved],
        `the change should move ${c.moved} by > 4 % (moved ${before[c.moved]} → ${after[c.moved]})`);
      const s = await simulateChannel(changed, c.id);
      const spice = { falling: single(s.trips.falling, `${c.id} falling`), rising: single(s.trips.rising, `${c.id} rising`) };
      assertClose(spice.falling, after[c.falling], `${c.falling} after the change`);
      assertClose(spice.rising, after[c.rising], `${c.rising} after the change`);
      // The moved trip is far from its old value, so agreeing within 1 % is not luck.
      const spiceMoved = c.moved === c.falling ? spice.falling : spice.rising;
      assert.ok(relativeError(spiceMoved, before[c.moved]) > 3 * TOLERANCE, `SPICE did not move: ${spiceMoved} vs ${before[c.moved]}`);
      const spiceBefore = c.moved === c.falling ? sim(c.id).trips.falling[0] : sim(c.id).trips.rising[0];
      const firmwareShift = after[c.moved] - before[c.moved];
      const spiceShift = spiceMoved - spiceBefore;
      assert.ok(Math.abs(spiceShift - firmwareShift) < 0.02 * Math.abs(firmwareShift) + 0.02,
        `SPICE moved ${spiceShift.toFixed(3)} V, the firmware threshold ${firmwareShift.toFixed(3)} V`);
    });
  }
});
