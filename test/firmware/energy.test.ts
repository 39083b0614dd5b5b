import { strict as assert } from 'node:assert';
import {
  ENERGY_KEYS, EnergyCounters, accumulate, emptySample, energyFromRecord, splitArea, zeroEnergy,
} from '../../firmware/src/energy';
import { openRecord, sealRecord } from '../../firmware/src/stored-record';
import { crc32 } from '../../protocol/crc32';

type Channel = 'b' | 'l';

/** Feeds samples (t, a, w) of one channel into fresh counters. */
function integrate(channel: Channel, samples: [number, number | null, number | null][], maxGapS = 10): EnergyCounters {
  const c = zeroEnergy();
  const prev = emptySample();
  for (const [t, a, w] of samples) accumulate(c, channel, prev, a, w, t, maxGapS);
  return c;
}

function sampled(f: (t: number) => number, volts: number, t0: number, t1: number, step: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  const n = Math.round((t1 - t0) / step);
  for (let i = 0; i <= n; i++) {
    const t = t0 + i * step;
    const a = f(t);
    out.push([t, a, a * volts]);
  }
  return out;
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance ${tol})`);
}

describe('firmware energy counters', () => {
  it('starts from zero: eight counters under their wire names', () => {
    assert.deepEqual(ENERGY_KEYS, ['bahi', 'baho', 'bwhi', 'bwho', 'lahi', 'laho', 'lwhi', 'lwho']);
    assert.deepEqual(zeroEnergy(), { bahi: 0, baho: 0, bwhi: 0, bwho: 0, lahi: 0, laho: 0, lwhi: 0, lwho: 0 });
    assert.deepEqual(emptySample(), { at: 0, a: 0, w: 0, valid: false });
  });

  describe('constant currents', () => {
    // 1 s samples for one hour: n-1 trapezoids of a constant are exact; what remains is
    // float rounding over 3600 additions, far below 1e-9.
    const hour = (a: number, w: number): [number, number, number][] => {
      const s: [number, number, number][] = [];
      for (let t = 0; t <= 3600; t++) s.push([t, a, w]);
      return s;
    };

    it('battery charging at 2 A / 26 W for an hour: 2 Ah and 26 Wh in', () => {
      const c = integrate('b', hour(2, 26));
      close(c.bahi, 2, 1e-9, 'bahi');
      close(c.bwhi, 26, 1e-9, 'bwhi');
      assert.equal(c.baho, 0);
      assert.equal(c.bwho, 0);
      for (const k of ['lahi', 'laho', 'lwhi', 'lwho'] as const) assert.equal(c[k], 0, k);
    });

    it('battery discharging at -1.25 A / -15.9 W for an hour: out', () => {
      const c = integrate('b', hour(-1.25, -15.9));
      close(c.baho, 1.25, 1e-9, 'baho');
      close(c.bwho, 15.9, 1e-9, 'bwho');
      assert.equal(c.bahi, 0);
      assert.equal(c.bwhi, 0);
    });

    it('load: positive current is delivered (out), negative is back-fed (in)', () => {
      const delivered = integrate('l', hour(1.8, 24.12));
      close(delivered.laho, 1.8, 1e-9, 'laho');
      close(delivered.lwho, 24.12, 1e-9, 'lwho');
      assert.equal(delivered.lahi, 0);
      assert.equal(delivered.lwhi, 0);
      for (const k of ['bahi', 'baho', 'bwhi', 'bwho'] as const) assert.equal(delivered[k], 0, k);
      const backfed = integrate('l', hour(-0.5, -6.5));
      close(backfed.lahi, 0.5, 1e-9, 'lahi');
      close(backfed.lwhi, 6.5, 1e-9, 'lwhi');
      assert.equal(backfed.laho, 0);
      assert.equal(backfed.lwho, 0);
    });

    it('zero current adds nothing', () => {
      assert.deepEqual(integrate('b', hour(0, 0)), zeroEnergy());
    });
  });

  describe('against analytic integrals', () => {
    it('sinusoid sampled at 1 s over whole periods: positive and negative parts', () => {
      // a(t) = A sin(2πt/P + φ). P = 37.5 s and φ = 0.3 rad put the zero crossings between
      // samples, so the split at the crossing is exercised. 8 periods = 300 s.
      const A = 7;
      const P = 37.5;
      const phi = 0.3;
      const periods = 8;
      const V = 13;
      const c = integrate('b', sampled((t) => A * Math.sin(2 * Math.PI * t / P + phi), V, 0, periods * P, 1), 2);
      // Analytic: over a whole period ∫ max(a, 0) dt = ∫ max(-a, 0) dt = A·P/π.
      const exactAh = periods * A * P / Math.PI / 3600;
      // Tolerance: the trapezoid rule's error bound on each half-wave, (b−a)·h²·max|a''|/12,
      // with b−a = P/2, h = 1 s, max|a''| = A(2π/P)², relative to the half-wave's A·P/π,
      // is π³h²/(6P²) ≈ 3.7e-3. The cut at the zero crossing is a straight line where sin
      // is straight to first order, so the bound still holds there.
      const rel = Math.pow(Math.PI, 3) / (6 * P * P);
      close(c.bahi, exactAh, rel * exactAh, 'bahi');
      close(c.baho, exactAh, rel * exactAh, 'baho');
      close(c.bwhi, V * exactAh, rel * V * exactAh, 'bwhi');
      close(c.bwho, V * exactAh, rel * V * exactAh, 'bwho');
      // The trapezoid rule undercounts a concave half-wave: both parts come out a little low.
      assert.ok(c.bahi < exactAh && c.baho < exactAh);
      // The net charge, uniformly sampled over whole periods, is zero to rounding.
      close(c.bahi - c.baho, 0, 1e-12, 'bahi - baho');
    });

    it('the sinusoid error shrinks as h² (halving the step quarters it)', () => {
      const A = 3;
      const P = 40;
      const exact = 4 * A * P / Math.PI / 3600;
      const err = (h: number): number => {
        const c = integrate('b', sampled((t) => A * Math.sin(2 * Math.PI * t / P + 0.1), 12, 0, 4 * P, h), 2);
        return exact - c.bahi;
      };
      const ratio = err(1) / err(0.5);
      assert.ok(ratio > 3.8 && ratio < 4.2, `error ratio ${ratio}`);
    });

    it('a triangle wave with its corners and zero crossings on the samples is exact', () => {
      // Period 8 s, amplitude 3 A: 0, 1.5, 3, 1.5, 0, -1.5, -3, -1.5, 0 …
      const tri = (t: number): number => {
        const x = ((t % 8) + 8) % 8;
        return x <= 2 ? 1.5 * x : x <= 6 ? 3 - 1.5 * (x - 2) : -3 + 1.5 * (x - 6);
      };
      const c = integrate('b', sampled(tri, 12.5, 0, 8 * 45, 1));
      // Each period has a triangle of 4 s × 3 A above and one below: 6 A·s each.
      close(c.bahi, 45 * 6 / 3600, 1e-14, 'bahi');
      close(c.baho, 45 * 6 / 3600, 1e-14, 'baho');
      close(c.bwhi, 45 * 6 * 12.5 / 3600, 1e-12, 'bwhi');
      close(c.bwho, 45 * 6 * 12.5 / 3600, 1e-12, 'bwho');
    });

    it('an offset triangle crossing zero between samples is exact too (piecewise linear)', () => {
      // From -1 to +3 and back, corners on the samples every 2 s: crossings at 0.5 s of each rise/fall.
      const samples: [number, number, number][] = [];
      for (let i = 0; i <= 100; i++) samples.push([2 * i, i % 2 === 0 ? -1 : 3, 0]);
      const c = integrate('l', samples);
      // Each 2 s leg: above zero 1.5 s under a triangle of height 3 → 2.25; below 0.5 s of depth 1 → 0.25.
      close(c.laho, 100 * 2.25 / 3600, 1e-14, 'laho');
      close(c.lahi, 100 * 0.25 / 3600, 1e-14, 'lahi');
      assert.equal(c.lwho, 0);
      assert.equal(c.lwhi, 0);
    });
  });

  describe('sign change split', () => {
    it('splitArea cuts the trapezoid at the zero crossing (hand calculation)', () => {
      const out = [NaN, NaN];
      // +3 → -1 over 2 s: zero at 1.5 s; above 1.5·3/2 = 2.25, below 0.5·1/2 = 0.25.
      splitArea(3, -1, 2, out);
      close(out[0], 2.25, 1e-15, 'positive');
      close(out[1], 0.25, 1e-15, 'negative');
      // -1 → +3: the mirror image.
      splitArea(-1, 3, 2, out);
      close(out[0], 2.25, 1e-15, 'positive');
      close(out[1], 0.25, 1e-15, 'negative');
      // Same sign: the whole trapezoid on one side.
      splitArea(2, 4, 3, out);
      assert.deepEqual(out, [9, 0]);
      splitArea(-2, -4, 3, out);
      assert.deepEqual(out, [0, 9]);
      // Touching zero.
      splitArea(0, -4, 2, out);
      assert.deepEqual(out, [0, 4]);
      splitArea(4, 0, 2, out);
      assert.deepEqual(out, [4, 0]);
      splitArea(0, 0, 5, out);
      assert.deepEqual(out, [0, 0]);
    });

    it('accumulate applies the split to both A and W, in Ah and Wh', () => {
      const c = integrate('b', [[100, 3, 39], [102, -1, -13]]);
      close(c.bahi, 2.25 / 3600, 1e-18, 'bahi');
      close(c.baho, 0.25 / 3600, 1e-18, 'baho');
      close(c.bwhi, 2.25 * 13 / 3600, 1e-16, 'bwhi');
      close(c.bwho, 0.25 * 13 / 3600, 1e-16, 'bwho');
    });

    it('both parts are never negative and add up to the area under |y| (random lines)', () => {
      let seed = 99;
      const rnd = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296; };
      const out = [0, 0];
      for (let i = 0; i < 20000; i++) {
        const y0 = (rnd() - 0.5) * 200;
        const y1 = (rnd() - 0.5) * 200;
        const dt = rnd() * 10;
        splitArea(y0, y1, dt, out);
        // Area under |y| of a straight line: by its two triangles when it crosses zero.
        const abs = y0 * y1 >= 0 ? Math.abs(y0 + y1) / 2 * dt : (y0 * y0 + y1 * y1) / (2 * (Math.abs(y0) + Math.abs(y1))) * dt;
        const tol = 1e-9 * (1 + abs);
        if (!(out[0] >= 0 && out[1] >= 0 && Math.abs(out[0] + out[1] - abs) <= tol && Math.abs(out[0] - out[1] - (y0 + y1) / 2 * dt) <= tol)) {
          assert.fail(`splitArea(${y0}, ${y1}, ${dt}) = [${out}], |area| ${abs}, net ${(y0 + y1) / 2 * dt}`);
        }
      }
    });

    it('a vanishing value next to a sign change still splits correctly (no negative part)', () => {
      // Reported: with |y0| below ~1e-162, y0·t0/2 underflows to 0 and the
      // negative area is credited to the positive side with a minus sign.
      const out = [NaN, NaN];
      splitArea(1e-200, -1, 1, out);
      assert.ok(out[0] >= 0 && out[0] < 1e-100, `positive part ${out[0]}`);
      close(out[1], 0.5, 1e-12, 'negative part');
      splitArea(-1e-200, 1, 1, out);
      close(out[0], 0.5, 1e-12, 'positive part');
      assert.ok(out[1] >= 0 && out[1] < 1e-100, `negative part ${out[1]}`);
    });
  });

  describe('gaps and missing readings', () => {
    it('a gap longer than maxGapS is not integrated; integration restarts after it', () => {
      const c = integrate('b', [[0, 2, 26], [10, 2, 26], [11, 2, 26]], 5);
      // Only 10 → 11 counts.
      close(c.bahi, 2 / 3600, 1e-18, 'bahi');
      close(c.bwhi, 26 / 3600, 1e-16, 'bwhi');
    });

    it('a gap of exactly maxGapS is integrated', () => {
      const c = integrate('b', [[0, 2, 26], [5, 2, 26]], 5);
      close(c.bahi, 10 / 3600, 1e-18, 'bahi');
    });

    it('the firmware rule (5 periods + 1 s) bridges a few missed polls, not a stall', () => {
      const maxGap = 1 * 5 + 1;
      const c = integrate('b', [[0, 1, 13], [6, 1, 13], [13, 1, 13], [14, 1, 13]], maxGap);
      close(c.bahi, 7 / 3600, 1e-18, 'bahi');
    });

    it('null readings are skipped: the next valid one integrates from the last valid one', () => {
      const c = integrate('b', [[0, 1, 13], [1, null, 13], [2, 1, null], [3, null, null], [4, 1, 13]], 10);
      close(c.bahi, 4 / 3600, 1e-18, 'bahi');
      close(c.bwhi, 52 / 3600, 1e-16, 'bwhi');
    });

    it('null readings do not bridge a gap longer than maxGapS', () => {
      const c = integrate('b', [[0, 1, 13], [1, null, null], [2, null, null], [3, 1, 13], [4, 1, 13]], 2);
      close(c.bahi, 1 / 3600, 1e-18, 'bahi');
    });

    it('the first valid reading only starts the integration', () => {
      const c = zeroEnergy();
      const prev = emptySample();
      accumulate(c, 'b', prev, 5, 60, 1000, 10);
      assert.deepEqual(c, zeroEnergy());
      assert.deepEqual(prev, { at: 1000, a: 5, w: 60, valid: true });
    });

    it('time going backwards or standing still adds nothing', () => {
      const c = integrate('b', [[10, 2, 26], [10, 2, 26], [9, 2, 26], [10, 2, 26]], 10);
      close(c.bahi, 2 / 3600, 1e-18, 'bahi');
    });

    it('counters keep adding to what they hold', () => {
      const c = zeroEnergy();
      c.bahi = 10.5;
      c.laho = 18;
      const pb = emptySample();
      const pl = emptySample();
      for (let t = 0; t <= 3600; t += 1) {
        accumulate(c, 'b', pb, 1, 13, t, 10);
        accumulate(c, 'l', pl, 2, 26, t, 10);
      }
      close(c.bahi, 11.5, 1e-9, 'bahi');
      close(c.laho, 20, 1e-9, 'laho');
      close(c.lwho, 26, 1e-9, 'lwho');
    });
  });

  describe('stored record', () => {
    const counters = (): EnergyCounters => ({
      bahi: 10.5, baho: 12.25, bwhi: 140, bwho: 155.5, lahi: 0, laho: 18.0001, lwhi: 1e9, lwho: 230.25,
    });

    it('round-trips through sealRecord / openRecord', () => {
      const text = sealRecord(counters(), crc32);
      assert.match(text, /^\{.*\}\*[0-9A-F]{8}$/);
      assert.deepEqual(energyFromRecord(openRecord(text, crc32)), counters());
    });

    it('ignores extra keys in the record', () => {
      const text = sealRecord({ ...counters(), version: 3, note: 'x' }, crc32);
      assert.deepEqual(energyFromRecord(openRecord(text, crc32)), counters());
    });

    it('accepts the range ends 0 and 1e9', () => {
      const c = counters();
      c.bahi = 0;
      c.baho = 1e9;
      assert.deepEqual(energyFromRecord(openRecord(sealRecord(c, crc32), crc32)), c);
    });

    const bad: [string, (o: { [k: string]: unknown }) => void][] = [
      ['a missing key', (o) => { delete o.bwho; }],
      ['a negative value', (o) => { o.lahi = -0.0001; }],
      ['a huge value', (o) => { o.bwhi = 1e9 + 1; }],
      ['a numeric string', (o) => { o.bahi = '10.5'; }],
      ['null (what JSON makes of NaN and Infinity)', (o) => { o.baho = NaN; }],
      ['Infinity', (o) => { o.baho = Infinity; }],
      ['a boolean', (o) => { o.laho = true; }],
      ['an object', (o) => { o.lwho = { v: 1 }; }],
      ['an array', (o) => { o.bahi = [1]; }],
    ];
    for (const [name, spoil] of bad) {
      it(`rejects ${name}`, () => {
        const o: { [k: string]: unknown } = { ...counters() };
        spoil(o);
        const opened = openRecord(sealRecord(o, crc32), crc32);
        assert.notEqual(opened, null, 'the record itself is intact');
        assert.equal(energyFromRecord(opened), null);
      });
    }

    it('rejects a null or non-record input', () => {
      assert.equal(energyFromRecord(null), null);
      assert.equal(energyFromRecord({}), null);
      assert.equal(openRecord(undefined, crc32), null);
      assert.equal(openRecord('', crc32), null);
      assert.equal(openRecord('[1,2]', crc32), null);
      // Intact records whose JSON is not an object.
      for (const json of ['null', '12345', '"text"', 'true']) {
        const sealed = json + '*' + crc32(json).toString(16).toUpperCase().padStart(8, '0');
        assert.equal(openRecord(sealed, crc32), null, json);
      }
    });

    it('rejects a record with any one byte changed', () => {
      const text = sealRecord(counters(), crc32);
      let checked = 0;
      for (let i = 0; i < text.length; i++) {
        for (const delta of [1, 0x20, 0x80]) {
          const code = text.charCodeAt(i) ^ delta;
          const spoiled = text.slice(0, i) + String.fromCharCode(code) + text.slice(i + 1);
          const opened = openRecord(spoiled, crc32);
          assert.equal(opened, null, `byte ${i} (${JSON.stringify(text[i])} → ${JSON.stringify(String.fromCharCode(code))}) accepted`);
          assert.equal(energyFromRecord(opened), null);
          checked++;
        }
      }
      assert.equal(checked, text.length * 3);
    });

    it('rejects a torn (truncated) record and trailing junk', () => {
      const text = sealRecord(counters(), crc32);
      for (let n = 0; n < text.length; n++) assert.equal(openRecord(text.slice(0, n), crc32), null, `cut at ${n}`);
      assert.equal(openRecord(text + '\n', crc32), null);
      assert.equal(openRecord(text + '0', crc32), null);
    });

    it('rejects a record whose CRC is spelled in lowercase', () => {
      const text = sealRecord(counters(), crc32);
      const lower = text.slice(0, -8) + text.slice(-8).toLowerCase();
      assert.notEqual(lower, text, 'this record\'s CRC has hex letters');
      assert.equal(openRecord(lower, crc32), null);
    });
  });
});
