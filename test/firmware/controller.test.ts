import { strict as assert } from 'node:assert';
import { BATTERY_FLOOR_V, DEFAULT_THRESHOLDS } from '../../hardware';
import {
  ControllerInputs, ControllerSettings, ControllerState, controllerStep, initialControllerState, setForce,
} from '../../firmware/src/controller';
import type { ChargerReason, ForceMode } from '../../protocol/spec';

// The comparator board's trip points, as the firmware uses them by default.
const ON = DEFAULT_THRESHOLDS.batteryOnV;
const OFF = DEFAULT_THRESHOLDS.batteryOffV;
const DN = DEFAULT_THRESHOLDS.sunDownV;
const UP = DEFAULT_THRESHOLDS.sunUpV;
const FLOOR = BATTERY_FLOOR_V;
/** The firmware polls every second by default and calls a reading stale after 1.5 periods. */
const PERIOD = 1;
const STALE = 1.5 * PERIOD;

function settings(minDwellS = 0): ControllerSettings {
  return {
    batteryOnV: ON, batteryOffV: OFF, sunDownV: DN, sunUpV: UP,
    minDwellS, batteryFloorV: FLOOR, staleAfterS: STALE,
  };
}

// ---------------------------------------------------------------------------
// An independent reference of the comparator board plus the software additions,
// written from the specification (issue 5, DESIGN.md, PROTOCOL.md "why" table):
//
//  * a reading counts when it is a number (not null, not NaN) no older than staleAfterS;
//  * battery latch: set below ON, released above OFF, held in between (and when the
//    reading does not count); sun latch likewise with down/up;
//  * a force ends at forceUntil (now >= forceUntil);
//  * a forced OFF with a valid battery below the floor is cancelled: ON, 'floor';
//  * a forced ON: ON, 'forced_on' (ON is also what the fail-safe would give);
//  * a missing/stale reading: ON, 'failsafe' — or 'boot' until both readings have been
//    valid together once; this overrides a forced OFF;
//  * a forced OFF: OFF, 'forced_off';
//  * otherwise the wired-OR of the latches, except that a change the latches ask for
//    within minDwellS of the last charger change is held ('dwell').

interface RefState {
  batteryLow: boolean; sunDown: boolean; chargerOn: boolean; reason: ChargerReason;
  changedAt: number; force: ForceMode; forceUntil: number; seenValid: boolean;
}

function counts(v: number | null, at: number, now: number, maxAge: number): boolean {
  if (v === null || Number.isNaN(v)) return false;
  return now - at <= maxAge;
}

const LATCH_REASON: { [k: string]: ChargerReason } = {
  'low,down': 'bat_low_sun_down', 'low,up': 'bat_low', 'high,down': 'sun_down', 'high,up': 'released',
};

function reference(prev: RefState, s: ControllerSettings, inp: ControllerInputs): RefState {
  const next: RefState = { ...prev };
  const bOk = counts(inp.batteryV, inp.batteryAt, inp.now, s.staleAfterS);
  const sOk = counts(inp.solarV, inp.solarAt, inp.now, s.staleAfterS);
  if (bOk) {
    const v = inp.batteryV as number;
    next.batteryLow = v < s.batteryOnV ? true : v > s.batteryOffV ? false : prev.batteryLow;
  }
  if (sOk) {
    const v = inp.solarV as number;
    next.sunDown = v < s.sunDownV ? true : v > s.sunUpV ? false : prev.sunDown;
  }
  next.seenValid = prev.seenValid || (bOk && sOk);
  if (next.force !== 'auto' && inp.now >= next.forceUntil) { next.force = 'auto'; next.forceUntil = 0; }

  let on: boolean;
  let why: ChargerReason;
  let byLatches = false;
  if (next.force === 'off' && bOk && (inp.batteryV as number) < s.batteryFloorV) {
    next.force = 'auto'; next.forceUntil = 0; on = true; why = 'floor';
  } else if (next.force === 'on') {
    on = true; why = 'forced_on';
  } else if (!bOk || !sOk) {
    on = true; why = next.seenValid ? 'failsafe' : 'boot';
  } else if (next.force === 'off') {
    on = false; why = 'forced_off';
  } else {
    on = next.batteryLow || next.sunDown;
    why = LATCH_REASON[(next.batteryLow ? 'low' : 'high') + ',' + (next.sunDown ? 'down' : 'up')];
    byLatches = true;
  }
  if (byLatches && on !== prev.chargerOn && s.minDwellS > 0 && inp.now - prev.changedAt < s.minDwellS) {
    next.chargerOn = prev.chargerOn; next.changedAt = prev.changedAt; next.reason = 'dwell';
    return next;
  }
  next.changedAt = on !== prev.chargerOn ? inp.now : prev.changedAt;
  next.chargerOn = on;
  next.reason = why;
  return next;
}

function snapshot(st: ControllerState): RefState {
  return {
    batteryLow: st.batteryLow, sunDown: st.sunDown, chargerOn: st.chargerOn, reason: st.reason,
    changedAt: st.changedAt, force: st.force, forceUntil: st.forceUntil, seenValid: st.seenValid,
  };
}

const FIELDS: (keyof RefState)[] = ['chargerOn', 'reason', 'batteryLow', 'sunDown', 'force', 'forceUntil', 'changedAt', 'seenValid'];

// ---------------------------------------------------------------------------

describe('firmware controller: the LM393 board in software', () => {
  it('uses the comparator board defaults from hardware/ (sanity of the test inputs)', () => {
    assert.ok(FLOOR < ON && ON < OFF, `floor ${FLOOR} < ON ${ON} < OFF ${OFF}`);
    assert.ok(DN < UP, `sun down ${DN} < up ${UP}`);
    assert.equal(DEFAULT_THRESHOLDS.minDwellS, 0);
  });

  it('starts ON with reason boot, both latches set, in auto', () => {
    const st = initialControllerState(123);
    assert.deepEqual(snapshot(st), {
      batteryLow: true, sunDown: true, chargerOn: true, reason: 'boot',
      changedAt: 123, force: 'auto', forceUntil: 0, seenValid: false,
    });
  });

  it('setForce sets the mode and the end time; auto clears it', () => {
    const st = initialControllerState(0);
    setForce(st, 'on', 100, 60);
    assert.equal(st.force, 'on');
    assert.equal(st.forceUntil, 160);
    setForce(st, 'off', 200, 3600);
    assert.equal(st.force, 'off');
    assert.equal(st.forceUntil, 3800);
    setForce(st, 'auto', 300, 99);
    assert.equal(st.force, 'auto');
    assert.equal(st.forceUntil, 0);
  });

  describe('exhaustive table against an independent reference', () => {
    const NOW = 1000;
    const batteryValues: [string, number][] = [
      ['below floor', FLOOR - 0.3], ['exactly floor', FLOOR], ['below ON', (FLOOR + ON) / 2], ['exactly ON', ON],
      ['between', (ON + OFF) / 2], ['exactly OFF', OFF], ['above OFF', OFF + 0.5],
    ];
    const solarValues: [string, number][] = [
      ['below down', DN - 4], ['exactly down', DN], ['between', (DN + UP) / 2], ['exactly up', UP], ['above up', UP + 6],
    ];
    // How a reading arrives: its value (or null/NaN) and its age.
    const validity: [string, (v: number) => { v: number | null; at: number }][] = [
      ['fresh', (v) => ({ v, at: NOW - 1 })],
      ['age = staleAfterS', (v) => ({ v, at: NOW - STALE })],
      ['stale', (v) => ({ v, at: NOW - STALE - 0.5 })],
      ['null', () => ({ v: null, at: NOW })],
      ['NaN', () => ({ v: NaN, at: NOW })],
    ];
    const forces: [string, ForceMode, number][] = [
      ['auto', 'auto', 0], ['on, running', 'on', NOW + 10], ['on, ends now', 'on', NOW],
      ['off, running', 'off', NOW + 10], ['off, ends now', 'off', NOW], ['off, ended earlier', 'off', NOW - 5],
    ];
    const dwells: [string, number, number][] = [
      ['no dwell', 0, NOW - 30], ['dwell not elapsed', 60, NOW - 30], ['dwell just elapsed', 60, NOW - 60],
    ];

    it('controllerStep matches the reference in every combination', () => {
      const mismatches: string[] = [];
      const reasonsSeen = new Set<string>();
      const switches = new Set<string>();
      let cases = 0;
      for (const [bName, bValue] of batteryValues) for (const [bvName, bMake] of validity)
      for (const [sName, sValue] of solarValues) for (const [svName, sMake] of validity)
      for (let prior = 0; prior < 16; prior++)
      for (const [fName, fMode, fUntil] of forces)
      for (const [dName, dwell, changedAt] of dwells) {
        const b = bMake(bValue);
        const sol = sMake(sValue);
        const inp: ControllerInputs = { now: NOW, batteryV: b.v, batteryAt: b.at, solarV: sol.v, solarAt: sol.at };
        const before: RefState = {
          batteryLow: (prior & 1) !== 0, sunDown: (prior & 2) !== 0, chargerOn: (prior & 4) !== 0,
          seenValid: (prior & 8) !== 0, reason: 'dwell', changedAt, force: fMode, forceUntil: fUntil,
        };
        const s = settings(dwell);
        const st: ControllerState = { ...before };
        const returned = controllerStep(st, s, inp);
        const want = reference(before, s, inp);
        cases++;
        const bad = FIELDS.filter((k) => st[k] !== want[k]);
        if (returned !== st.chargerOn) bad.push('returned' as keyof RefState);
        if (bad.length > 0 && mismatches.length < 20) {
          mismatches.push(`battery ${bName}/${bvName}, solar ${sName}/${svName}, prior ${JSON.stringify(before)}, ` +
            `force ${fName}, ${dName}: ${bad.map((k) => `${k} got ${String(st[k])} want ${String(want[k])}`).join('; ')}`);
        }
        reasonsSeen.add(st.reason);
        if (st.chargerOn !== before.chargerOn) switches.add(`${before.chargerOn ? 'ON' : 'OFF'}->${st.chargerOn ? 'ON' : 'OFF'} ${st.reason}`);
      }
      assert.equal(cases, 7 * 5 * 5 * 5 * 16 * 6 * 3);
      assert.deepEqual(mismatches, []);
      // The table reaches every reason and every transition the spec allows.
      assert.deepEqual([...reasonsSeen].sort(), ['bat_low', 'bat_low_sun_down', 'boot', 'dwell', 'failsafe', 'floor',
        'forced_off', 'forced_on', 'released', 'sun_down']);
      assert.deepEqual([...switches].sort(), [
        'OFF->ON bat_low', 'OFF->ON bat_low_sun_down', 'OFF->ON boot', 'OFF->ON failsafe', 'OFF->ON floor',
        'OFF->ON forced_on', 'OFF->ON sun_down', 'ON->OFF forced_off', 'ON->OFF released',
      ]);
    });

    // A few rows written out by hand, so the reference itself is checked against the spec.
    const rows: { name: string; prior: Partial<RefState>; dwell?: number; b: number | null; bAt?: number; s: number | null; sAt?: number; on: boolean; why: ChargerReason; after?: Partial<RefState> }[] = [
      { name: 'battery below ON sets the latch', prior: { chargerOn: false, batteryLow: false, sunDown: false }, b: 11.9, s: 18, on: true, why: 'bat_low', after: { batteryLow: true } },
      { name: 'exactly ON does not set it', prior: { chargerOn: false, batteryLow: false, sunDown: false }, b: ON, s: 18, on: false, why: 'released' },
      { name: 'exactly OFF does not release it', prior: { chargerOn: true, batteryLow: true, sunDown: false }, b: OFF, s: 18, on: true, why: 'bat_low' },
      { name: 'above OFF releases it', prior: { chargerOn: true, batteryLow: true, sunDown: false }, b: OFF + 0.001, s: 18, on: false, why: 'released', after: { batteryLow: false, changedAt: 1000 } },
      { name: 'dark sets the sun latch', prior: { chargerOn: false, batteryLow: false, sunDown: false }, b: 13, s: DN - 0.001, on: true, why: 'sun_down' },
      { name: 'twilight holds it', prior: { chargerOn: true, batteryLow: false, sunDown: true }, b: 13, s: UP, on: true, why: 'sun_down' },
      { name: 'both set', prior: { chargerOn: true, batteryLow: false, sunDown: false }, b: 11, s: 1, on: true, why: 'bat_low_sun_down' },
      { name: 'missing solar after a valid pair: failsafe', prior: { chargerOn: false, batteryLow: false, sunDown: false, seenValid: true }, b: 13, s: null, on: true, why: 'failsafe' },
      { name: 'missing solar before any valid pair: boot', prior: { chargerOn: true, seenValid: false }, b: 13, s: null, on: true, why: 'boot' },
      { name: 'stale battery overrides a forced OFF', prior: { chargerOn: false, force: 'off', forceUntil: 2000, seenValid: true }, b: 13, bAt: 990, s: 18, on: true, why: 'failsafe', after: { force: 'off' } },
      { name: 'forced OFF below the floor: floor, force cancelled', prior: { chargerOn: false, force: 'off', forceUntil: 2000, seenValid: true }, b: 11.7, s: 18, on: true, why: 'floor', after: { force: 'auto', forceUntil: 0 } },
      { name: 'forced OFF at exactly the floor holds', prior: { chargerOn: false, force: 'off', forceUntil: 2000, seenValid: true }, b: FLOOR, s: 18, on: false, why: 'forced_off' },
      { name: 'force ends at forceUntil', prior: { chargerOn: true, force: 'on', forceUntil: 1000, batteryLow: false, sunDown: false, seenValid: true }, b: 13, s: 18, on: false, why: 'released', after: { force: 'auto', forceUntil: 0 } },
      { name: 'dwell holds a latch change', prior: { chargerOn: false, batteryLow: false, sunDown: false, changedAt: 990 }, dwell: 60, b: 11, s: 18, on: false, why: 'dwell', after: { batteryLow: true, changedAt: 990 } },
      { name: 'dwell does not delay the fail-safe', prior: { chargerOn: false, changedAt: 990, seenValid: true }, dwell: 60, b: null, s: 18, on: true, why: 'failsafe' },
      { name: 'dwell does not delay a force', prior: { chargerOn: true, changedAt: 990, force: 'off', forceUntil: 1500, seenValid: true }, dwell: 60, b: 13, s: 2, on: false, why: 'forced_off' },
    ];
    for (const row of rows) {
      it(`by hand: ${row.name}`, () => {
        const before: RefState = {
          batteryLow: true, sunDown: true, chargerOn: true, reason: 'boot', changedAt: 0, force: 'auto', forceUntil: 0, seenValid: true,
          ...row.prior,
        };
        const inp: ControllerInputs = { now: 1000, batteryV: row.b, batteryAt: row.bAt ?? 1000, solarV: row.s, solarAt: row.sAt ?? 1000 };
        const s = settings(row.dwell ?? 0);
        const st: ControllerState = { ...before };
        assert.equal(controllerStep(st, s, inp), row.on);
        assert.equal(st.chargerOn, row.on);
        assert.equal(st.reason, row.why);
        for (const [k, v] of Object.entries(row.after ?? {})) assert.equal(st[k as keyof ControllerState], v, k);
        // The reference agrees with the hand-written row.
        const ref = reference(before, s, inp);
        assert.equal(ref.chargerOn, row.on);
        assert.equal(ref.reason, row.why);
      });
    }
  });

  // -------------------------------------------------------------------------
  // Sequences: the firmware's loop, reduced to what the controller sees. Like the
  // firmware, a failed read keeps the last valid value and its time.

  class Loop {
    state: ControllerState;
    inp: ControllerInputs = { now: 0, batteryV: null, batteryAt: 0, solarV: null, solarAt: 0 };
    log: { t: number; on: boolean; why: ChargerReason; mode: ForceMode }[] = [];
    constructor(readonly s: ControllerSettings, t0 = 0) { this.state = initialControllerState(t0); }
    poll(t: number, bv: number | null, sv: number | null): boolean {
      this.inp.now = t;
      if (bv !== null) { this.inp.batteryV = bv; this.inp.batteryAt = t; }
      if (sv !== null) { this.inp.solarV = sv; this.inp.solarAt = t; }
      const on = controllerStep(this.state, this.s, this.inp);
      assert.equal(on, this.state.chargerOn);
      const last = this.log[this.log.length - 1];
      if (!last || last.on !== on || last.why !== this.state.reason || last.mode !== this.state.force) {
        this.log.push({ t, on, why: this.state.reason, mode: this.state.force });
      }
      return on;
    }
  }

  describe('sequences at a 1 s poll period', () => {
    it('a day: night, dawn, day, battery sag and recovery, dusk', () => {
      const H = 3600;
      // Piecewise-linear profiles; each segment is [t0, t1, v0, v1].
      const battery: [number, number, number, number][] = [
        [0, 5 * H, 13.0, 14.2],        // night: the mains charger lifts the battery past OFF
        [5 * H, 6 * H, 14.2, 14.2],
        [6 * H, 14 * H, 14.2, 11.9],   // a long day of heavy load: sags below ON
        [14 * H, 16 * H, 11.9, 14.3],  // the charger recovers it past OFF
        [16 * H, 24 * H, 14.3, 13.5],
      ];
      const solar: [number, number, number, number][] = [
        [0, 5 * H, 0.3, 0.3],
        [5 * H, 6 * H, 0.3, 18],       // dawn
        [6 * H, 18 * H, 18, 18],
        [18 * H, 19 * H, 18, 0.3],     // dusk
        [19 * H, 24 * H, 0.3, 0.3],
      ];
      const at = (p: [number, number, number, number][], t: number): number => {
        for (const [t0, t1, v0, v1] of p) if (t >= t0 && t < t1) return v0 + (v1 - v0) * (t - t0) / (t1 - t0);
        return p[p.length - 1][3];
      };
      // When a segment crosses a level, analytically.
      const crossing = (seg: [number, number, number, number], level: number): number => {
        const [t0, t1, v0, v1] = seg;
        return t0 + (level - v0) / (v1 - v0) * (t1 - t0);
      };
      const loop = new Loop(settings(0));
      for (let t = 0; t < 24 * H; t += PERIOD) {
        const bv = at(battery, t);
        const sv = at(solar, t);
        const on = loop.poll(t, bv, sv);
        // The wired-OR: OFF is only possible with the battery not below ON and the sun not below down.
        if (!on) assert.ok(bv >= ON && sv >= DN, `OFF at t=${t} with bv=${bv} sv=${sv}`);
      }
      const expected: [number, boolean, ChargerReason][] = [
        [0, true, 'bat_low_sun_down'],
        [crossing(battery[0], OFF), true, 'sun_down'],   // battery released at night: the sun keeps it ON
        [crossing(solar[1], UP), false, 'released'],     // dawn: both released, OFF
        [crossing(battery[2], ON), true, 'bat_low'],     // sag below ON in daylight
        [crossing(battery[3], OFF), false, 'released'],  // recovered above OFF
        [crossing(solar[3], DN), true, 'sun_down'],      // dusk
      ];
      assert.equal(loop.log.length, expected.length, JSON.stringify(loop.log));
      expected.forEach(([t, on, why], i) => {
        const got = loop.log[i];
        assert.equal(got.on, on, `event ${i}`);
        assert.equal(got.why, why, `event ${i}`);
        // At the first poll past the crossing.
        assert.ok(got.t >= t && got.t < t + PERIOD + 1e-9, `event ${i} (${why}) at ${got.t}, crossing at ${t}`);
      });
    });

    it('hysteresis: values wandering between the thresholds never switch', () => {
      let seed = 12345;
      const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
      // Within [ON, OFF] and [DN, UP], the exact thresholds included.
      const between = (lo: number, hi: number): number => {
        const r = rnd();
        return r < 0.1 ? lo : r < 0.2 ? hi : lo + (hi - lo) * rnd();
      };
      const cases: [string, number, number, boolean, ChargerReason][] = [
        ['released', 14.5, 18, false, 'released'],
        ['both set', 11.5, 5, true, 'bat_low_sun_down'],
        ['battery set, sun released', 11.5, 18, true, 'bat_low'],
        ['battery released, sun set', 14.5, 5, true, 'sun_down'],
      ];
      for (const [name, b0, s0, on, why] of cases) {
        const loop = new Loop(settings(0));
        let t = 0;
        loop.poll(t, b0, s0);
        assert.equal(loop.state.reason, why, name);
        for (let i = 0; i < 5000; i++) {
          t += PERIOD;
          loop.poll(t, between(ON, OFF), between(DN, UP));
          if (loop.state.chargerOn !== on || loop.state.reason !== why) {
            assert.fail(`${name}: switched at step ${i} to ${loop.state.chargerOn} ${loop.state.reason}`);
          }
        }
        assert.equal(loop.log.length, 1, name);
      }
    });

    it('a noisy battery crossing ON switches once, not per wobble', () => {
      const loop = new Loop(settings(0));
      let t = 0;
      loop.poll(t, 14.5, 18);
      // Falls from 12.6 to 11.9 with a ±0.08 V square wobble, then rises with it to 0.1 V short of OFF.
      for (let i = 0; i <= 700; i++) loop.poll(++t, 12.6 - i * 0.001 + (i % 2 ? 0.08 : -0.08), 18);
      for (let i = 0; 11.9 + i * 0.001 <= OFF - 0.1; i++) loop.poll(++t, 11.9 + i * 0.001 + (i % 2 ? 0.08 : -0.08), 18);
      const switches = loop.log.filter((e, i) => i > 0 && e.on !== loop.log[i - 1].on);
      assert.equal(switches.length, 1, JSON.stringify(loop.log));
      assert.equal(switches[0].why, 'bat_low');
      // And it releases once the wobble takes it above OFF.
      for (let i = 0; i < 3; i++) loop.poll(++t, OFF + 0.01, 18);
      assert.equal(loop.state.chargerOn, false);
      assert.equal(loop.state.reason, 'released');
    });

    for (const which of ['battery', 'solar'] as const) {
      it(`a failed ${which} sensor goes fail-safe ON within two polls and recovers`, () => {
        const loop = new Loop(settings(0));
        for (let t = 0; t < 10; t++) loop.poll(t, 14.5, 18);
        assert.equal(loop.state.chargerOn, false);
        // The sensor fails from the poll at t = 10: no fresh value.
        const read = (t: number): [number | null, number | null] =>
          t >= 10 && t < 20 ? (which === 'battery' ? [null, 18] : [14.5, null]) : [14.5, 18];
        let firstOn = -1;
        for (let t = 10; t < 20; t++) {
          const [b, s] = read(t);
          if (loop.poll(t, b, s) && firstOn < 0) firstOn = t;
          if (t >= 11) assert.equal(loop.state.reason, 'failsafe', `t=${t}`);
        }
        assert.ok(firstOn >= 10 && firstOn <= 11, `ON at t=${firstOn}, the failure began at t=10`);
        // Readings return.
        assert.equal(loop.poll(20, 14.5, 18), false);
        assert.equal(loop.state.reason, 'released');
      });
    }

    it('an invalid (NaN) reading is fail-safe like a missing one', () => {
      const loop = new Loop(settings(0));
      loop.poll(0, 14.5, 18);
      assert.equal(loop.state.chargerOn, false);
      loop.inp.solarV = NaN;
      loop.inp.solarAt = 1;
      loop.inp.now = 1;
      assert.equal(controllerStep(loop.state, loop.s, loop.inp), true);
      assert.equal(loop.state.reason, 'failsafe');
    });

    it('fail-safe is not delayed by the dwell, but the return to OFF is', () => {
      const loop = new Loop(settings(300));
      loop.poll(0, 14.5, 18);
      // Boot state is ON; the dwell holds it from t=0 until t=300.
      assert.equal(loop.state.chargerOn, true);
      assert.equal(loop.state.reason, 'dwell');
      for (let t = 1; t < 300; t++) loop.poll(t, 14.5, 18);
      assert.equal(loop.state.reason, 'dwell');
      loop.poll(300, 14.5, 18);
      assert.equal(loop.state.chargerOn, false);
      assert.equal(loop.state.reason, 'released');
      // Sensor fails at 310: ON by 311 despite the dwell.
      for (let t = 301; t < 310; t++) loop.poll(t, 14.5, 18);
      loop.poll(310, null, 18);
      assert.equal(loop.state.chargerOn, false);
      loop.poll(311, null, 18);
      assert.equal(loop.state.chargerOn, true);
      assert.equal(loop.state.reason, 'failsafe');
      // Back at 320: held ON by the dwell until 611, then OFF.
      for (let t = 320; t < 611; t++) {
        loop.poll(t, 14.5, 18);
        assert.equal(loop.state.chargerOn, true, `t=${t}`);
        assert.equal(loop.state.reason, 'dwell', `t=${t}`);
      }
      loop.poll(611, 14.5, 18);
      assert.equal(loop.state.chargerOn, false);
      assert.equal(loop.state.reason, 'released');
    });

    it('boot: no valid pair yet reports boot, then the latches decide', () => {
      const loop = new Loop(settings(0));
      loop.poll(0, 13.5, null);
      assert.equal(loop.state.reason, 'boot');
      loop.poll(1, 13.5, null);
      assert.equal(loop.state.reason, 'boot');
      loop.poll(2, 14.5, 18);
      assert.equal(loop.state.chargerOn, false);
      assert.equal(loop.state.reason, 'released');
      assert.equal(loop.state.seenValid, true);
      loop.poll(3, null, null);
      loop.poll(4, null, null);
      assert.equal(loop.state.reason, 'failsafe');
    });

    it('force OFF at night holds until it expires, then auto again', () => {
      const loop = new Loop(settings(0));
      loop.poll(0, 14.5, 0.5);
      for (let t = 1; t < 100; t++) loop.poll(t, 13.5, 0.5);
      assert.equal(loop.state.reason, 'sun_down');
      setForce(loop.state, 'off', 100, 60);
      for (let t = 100; t < 160; t++) {
        assert.equal(loop.poll(t, 13.5, 0.5), false, `t=${t}`);
        assert.equal(loop.state.reason, 'forced_off');
        assert.equal(loop.state.force, 'off');
      }
      assert.equal(loop.poll(160, 13.5, 0.5), true);
      assert.equal(loop.state.reason, 'sun_down');
      assert.equal(loop.state.force, 'auto');
      assert.equal(loop.state.forceUntil, 0);
    });

    it('force ON by day holds until it expires; force auto cancels early', () => {
      const loop = new Loop(settings(0));
      loop.poll(0, 14.5, 18);
      assert.equal(loop.state.chargerOn, false);
      setForce(loop.state, 'on', 1, 30);
      for (let t = 1; t < 31; t++) {
        assert.equal(loop.poll(t, 13.5, 18), true);
        assert.equal(loop.state.reason, 'forced_on');
      }
      assert.equal(loop.poll(31, 13.5, 18), false);
      assert.equal(loop.state.reason, 'released');
      setForce(loop.state, 'on', 40, 3600);
      assert.equal(loop.poll(40, 13.5, 18), true);
      setForce(loop.state, 'auto', 41, 0);
      assert.equal(loop.poll(41, 13.5, 18), false);
      assert.equal(loop.state.reason, 'released');
    });

    it('a force is not delayed by the dwell; after it the dwell counts from the forced change', () => {
      const loop = new Loop(settings(120));
      for (let t = 0; t <= 200; t++) loop.poll(t, 14.5, 18);
      assert.equal(loop.state.chargerOn, false);
      setForce(loop.state, 'on', 201, 10);
      assert.equal(loop.poll(201, 14.5, 18), true);
      assert.equal(loop.state.reason, 'forced_on');
      for (let t = 202; t < 321; t++) loop.poll(t, 14.5, 18);
      assert.equal(loop.state.reason, 'dwell');
      assert.equal(loop.state.chargerOn, true);
      assert.equal(loop.poll(321, 14.5, 18), false);
      assert.equal(loop.state.reason, 'released');
    });

    it('a stale reading overrides a forced OFF; the force resumes when readings return', () => {
      const loop = new Loop(settings(0));
      loop.poll(0, 13.5, 0.5);
      setForce(loop.state, 'off', 0, 100);
      assert.equal(loop.poll(1, 13.5, 0.5), false);
      loop.poll(2, 13.5, null);
      assert.equal(loop.poll(3, 13.5, null), true);
      assert.equal(loop.state.reason, 'failsafe');
      assert.equal(loop.state.force, 'off');
      assert.equal(loop.poll(4, 13.5, 0.5), false);
      assert.equal(loop.state.reason, 'forced_off');
    });

    it('floor: a forced OFF ends at the first poll below the floor', () => {
      const loop = new Loop(settings(0));
      loop.poll(0, 12.5, 18);
      setForce(loop.state, 'off', 0, 86400);
      // The battery sags 12.5 → 11.5 V at 1 mV per poll under the forced OFF.
      let floorAt = -1;
      for (let i = 1; i <= 1000; i++) {
        const bv = 12.5 - i * 0.001;
        const on = loop.poll(i, bv, 18);
        if (bv >= FLOOR) assert.equal(on, false, `bv=${bv}`);
        else if (floorAt < 0) {
          floorAt = i;
          assert.equal(on, true);
          assert.equal(loop.state.reason, 'floor');
          assert.equal(loop.state.force, 'auto');
        } else {
          assert.equal(on, true);
          assert.equal(loop.state.reason, 'bat_low');
        }
      }
      assert.equal(floorAt, 701);
    });

    it('floor needs a valid battery reading: stale is fail-safe and keeps the force', () => {
      const loop = new Loop(settings(0));
      loop.poll(0, 12.5, 18);
      setForce(loop.state, 'off', 0, 86400);
      loop.poll(1, 12.5, 18);
      loop.poll(2, null, 18);
      loop.poll(3, null, 18);
      assert.equal(loop.state.reason, 'failsafe');
      assert.equal(loop.state.force, 'off');
      loop.poll(4, 11.0, 18);
      assert.equal(loop.state.reason, 'floor');
      assert.equal(loop.state.force, 'auto');
    });
  });
});
