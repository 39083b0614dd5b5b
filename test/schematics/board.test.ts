import assert from 'node:assert/strict';
import {
  COMPARATOR_BOARD, DEFAULT_THRESHOLDS, MAINS_CHARGER, REMOTE_DRIVER, VOLTAGE_RANGES, comparatorTripPoints,
} from '../../hardware';
import { remoteOffLevel } from '../../schematics/drawings';
import { BoardSimulation, relativeError, simulateBoard } from '../../schematics/simulate';

/**
 * The firmware's view of one comparator: a Schmitt latch that demands the charger ON
 * below onBelow and stops above offAbove. The board sweep starts at the bottom of both
 * ranges, where the analogue latches can only be in the ON state.
 */
function latch(v: number[], onBelow: number, offAbove: number): boolean[] {
  let on = true;
  return v.map((x) => {
    if (on && x > offAbove) on = false;
    else if (!on && x < onBelow) on = true;
    return on;
  });
}

/** Samples this close (relatively) to a threshold may legitimately disagree: SPICE and arithmetic agree to 1 %. */
const BAND = 0.01;

function nearAny(x: number, thresholds: number[]): boolean {
  return thresholds.some((t) => Math.abs(x - t) <= BAND * t);
}

describe('schematics: comparator board (diode-OR into REMOTE) in ngspice', function () {
  this.timeout(30000);
  let sim: BoardSimulation | undefined;
  const t = DEFAULT_THRESHOLDS;

  before(async () => {
    sim = await simulateBoard(COMPARATOR_BOARD, REMOTE_DRIVER);
  });

  function board(): BoardSimulation {
    if (!sim) throw new Error('no board simulation (the before hook failed)');
    return sim;
  }

  /** Reference latch states, and which samples are far enough from every threshold to judge. */
  function expected() {
    const s = board();
    const batteryOn = latch(s.vbat, t.batteryOnV, t.batteryOffV);
    const sunOn = latch(s.vpanel, t.sunDownV, t.sunUpV);
    const judged = s.vbat.map((_, i) => !nearAny(s.vbat[i], [t.batteryOnV, t.batteryOffV]) && !nearAny(s.vpanel[i], [t.sunDownV, t.sunUpV]));
    return { batteryOn, sunOn, judged };
  }

  it('sweeps both inputs over their full ranges, up and down, through every combination of states', () => {
    const s = board();
    assert.equal(Math.min(...s.vbat), VOLTAGE_RANGES.battery.min);
    assert.equal(Math.max(...s.vbat), VOLTAGE_RANGES.battery.max);
    assert.equal(Math.min(...s.vpanel), VOLTAGE_RANGES.panel.min);
    assert.equal(Math.max(...s.vpanel), VOLTAGE_RANGES.panel.max);
    const { batteryOn, sunOn, judged } = expected();
    const counts = new Map<string, number>();
    const edges = new Map<string, number>();
    for (let i = 0; i < batteryOn.length; i++) {
      if (judged[i]) {
        const k = `battery ${batteryOn[i] ? 'low' : 'released'}, sun ${sunOn[i] ? 'down' : 'up'}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      if (i > 0 && batteryOn[i] !== batteryOn[i - 1]) {
        const k = `battery ${batteryOn[i] ? 'trips' : 'releases'} while sun ${sunOn[i] ? 'down' : 'up'}`;
        edges.set(k, (edges.get(k) ?? 0) + 1);
      }
      if (i > 0 && sunOn[i] !== sunOn[i - 1]) {
        const k = `sun ${sunOn[i] ? 'trips' : 'releases'} while battery ${batteryOn[i] ? 'low' : 'released'}`;
        edges.set(k, (edges.get(k) ?? 0) + 1);
      }
    }
    for (const b of ['low', 'released']) {
      for (const u of ['down', 'up']) {
        assert.ok((counts.get(`battery ${b}, sun ${u}`) ?? 0) > 100, `state battery ${b}, sun ${u} barely visited: ${JSON.stringify([...counts])}`);
      }
    }
    for (const what of ['trips', 'releases']) {
      for (const u of ['down', 'up']) assert.ok(edges.has(`battery ${what} while sun ${u}`), `never: battery ${what} while sun ${u}`);
      for (const b of ['low', 'released']) assert.ok(edges.has(`sun ${what} while battery ${b}`), `never: sun ${what} while battery ${b}`);
    }
  });

  it('REMOTE is low (charger ON) whenever battery-low OR sun-down, and high (OFF) only when both are released', () => {
    const s = board();
    const { batteryOn, sunOn, judged } = expected();
    let checked = 0;
    for (let i = 0; i < s.remote.length; i++) {
      if (!judged[i]) continue;
      checked++;
      const where = `at VBAT ${s.vbat[i].toFixed(3)} V, VPANEL ${s.vpanel[i].toFixed(3)} V (battery ${batteryOn[i] ? 'low' : 'released'}, sun ${sunOn[i] ? 'down' : 'up'})`;
      if (batteryOn[i] || sunOn[i]) {
        assert.ok(s.remote[i] < MAINS_CHARGER.remoteOnBelowV, `REMOTE ${s.remote[i].toFixed(3)} V should be ON ${where}`);
      } else {
        assert.ok(s.remote[i] > MAINS_CHARGER.remoteOffAboveV, `REMOTE ${s.remote[i].toFixed(3)} V should be OFF ${where}`);
      }
      // Each comparator output follows its own latch, whatever the other one does.
      assert.equal(s.outB[i] < COMPARATOR_BOARD.vcc / 2, batteryOn[i], `OUT_B ${s.outB[i].toFixed(3)} V ${where}`);
      assert.equal(s.outS[i] < COMPARATOR_BOARD.vcc / 2, sunOn[i], `OUT_S ${s.outS[i].toFixed(3)} V ${where}`);
    }
    assert.ok(checked > 0.8 * s.remote.length, `only ${checked} of ${s.remote.length} samples were judged`);
  });

  it('released REMOTE sits at the +5 V pull-up (less only the assumed REMOTE load), not somewhere in between', () => {
    const s = board();
    const { batteryOn, sunOn, judged } = expected();
    const off = s.remote.filter((_, i) => judged[i] && !batteryOn[i] && !sunOn[i]);
    const on = s.remote.filter((_, i) => judged[i] && (batteryOn[i] || sunOn[i]));
    const ideal = remoteOffLevel(COMPARATOR_BOARD.vcc, REMOTE_DRIVER.rRemotePullup);
    for (const v of off) assert.ok(relativeError(v, ideal) < 0.01, `OFF level ${v} V, expected ${ideal.toFixed(3)} V`);
    // ON is one Schottky drop above the saturated output: far below the 0.8 V threshold.
    assert.ok(Math.max(...on) < 0.5, `ON level up to ${Math.max(...on)} V`);
  });

  it('trips at the computed points on every pass, with the other channel in either state', () => {
    const s = board();
    const checks = [
      ['battery falling', s.battery.falling, comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.battery).fallingV],
      ['battery rising', s.battery.rising, comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.battery).risingV],
      ['sun falling', s.sun.falling, comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.sun).fallingV],
      ['sun rising', s.sun.rising, comparatorTripPoints(COMPARATOR_BOARD, COMPARATOR_BOARD.sun).risingV],
    ] as const;
    for (const [what, list, computed] of checks) {
      assert.ok(list.length >= 2, `${what}: only ${list.length} crossings`);
      for (const v of list) assert.ok(relativeError(v, computed) <= 0.01, `${what}: ${v.toFixed(4)} V vs computed ${computed.toFixed(4)} V`);
    }
  });

  it('keeps every comparator input at or below 3.5 V and the LM78C05 in regulation over the whole sweep', () => {
    const s = board();
    const limit = COMPARATOR_BOARD.vcc - COMPARATOR_BOARD.inputHeadroomV;
    for (const col of s.inputs) assert.ok(Math.max(...col) <= limit, `an input reached ${Math.max(...col)} V`);
    for (const col of s.headroom) assert.ok(Math.min(...col) >= 0, 'the model flagged the common-mode limit');
    for (const v of s.vcc) assert.equal(v, COMPARATOR_BOARD.vcc);
  });
});
