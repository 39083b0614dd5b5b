import { strict as assert } from 'node:assert';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  McuCommand, McuCommandError, formatFixed, frameLine, parseCommand, safeText,
} from '../../firmware/src/mcu-codec';
import { ReadingWriter, readingWriter, valueSource } from '../../firmware/src/reading-writer';
import type { Ina219Reading } from '../../drivers/ina219';
import type { EnergyCounters } from '../../firmware/src/energy';
import { generatedWriter } from './generated-writer';
import {
  Command, CommandFrame, DecodeResult, EventFrame, Reading, ReadingFrame, ReplyFrame,
  READING_FIELDS, crc32, decodeLine, encodeCommand, encodeReading, sanitizeText,
} from '../../protocol';
import { LIMITS } from '../../protocol/spec';
import { Settings, withChanges } from '../../firmware/src/settings';

// ---------------------------------------------------------------------------
// Helpers written for the test: a seeded PRNG (xorshift32), zlib's CRC as the reference
// CRC, and a sealer for hand-made bodies.

class Rand {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  next(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
}

function refCrcHex(body: string): string {
  return zlibCrc32(Buffer.from(body, 'latin1')).toString(16).toUpperCase().padStart(8, '0');
}

function seal(body: string): string {
  return '$' + body + '*' + refCrcHex(body);
}

function decodeOk(line: string): ReadingFrame | EventFrame | ReplyFrame | CommandFrame {
  const r = decodeLine(line);
  if (!r.ok) assert.fail(`${JSON.stringify(line)} rejected: ${r.reason} ${r.detail}`);
  return r.frame;
}

// ---------------------------------------------------------------------------

describe('firmware MCU codec', () => {
  describe('formatFixed: number formatting', () => {
    const cases: [number | null, number, number, number, string][] = [
      // value, decimals, lo, hi, expected
      [12.734, 3, 0, 40, '12.734'],
      [14.4999999, 3, 0, 40, '14.500'],    // Espruino's toFixed(3) would give 14.499
      [14.4994999, 3, 0, 40, '14.499'],
      [0.9999996, 3, 0, 40, '1.000'],
      [3.007, 3, 0, 40, '3.007'],
      [0.0001, 4, -250, 250, '0.0001'],
      [-1.25, 4, -250, 250, '-1.2500'],
      [-0.00004, 4, -250, 250, '0.0000'], // no "-0.0000"
      [-0, 3, 0, 40, '0.000'],
      [-0.0004, 3, 0, 40, '0.000'],      // rounds to zero: in range, unsigned
      [-0.0006, 3, 0, 40, '-'],          // rounds to -0.001: out of range
      [2.5, 0, -9, 9, '3'],              // half-up on the magnitude, not to even
      [-2.5, 0, -9, 9, '-3'],
      [0.5, 0, 0, 9, '1'],
      [0.125, 2, 0, 1, '0.13'],          // exactly representable halves
      [-0.125, 2, -1, 1, '-0.13'],
      [1.25, 1, 0, 9, '1.3'],
      [12.6, 0, 0, 100, '13'],
      [40.0004, 3, 0, 40, '40.000'],     // in range after rounding
      [40.0006, 3, 0, 40, '-'],
      [250, 4, -250, 250, '250.0000'],
      [-250.00006, 4, -250, 250, '-'],
      [999999999.9999, 4, 0, 1e9, '999999999.9999'],
      [1e9, 3, 0, 1e9, '1000000000.000'],
      [1e9 + 0.01, 3, 0, 1e9, '-'],
      [null, 3, 0, 40, '-'],
      [NaN, 3, 0, 40, '-'],
      [Infinity, 3, 0, 1e9, '-'],
      [-Infinity, 3, -1e9, 1e9, '-'],
    ];
    for (const [x, d, lo, hi, want] of cases) {
      it(`formatFixed(${x}, ${d}, ${lo}, ${hi}) = ${want}`, () => {
        assert.equal(formatFixed(x, d, lo, hi), want);
      });
    }

    it('the reading writers use the protocol decimals and ranges', () => {
      for (const [name, w] of [['table-walking', readingWriter(READING_FIELDS)], ['generated', generatedWriter(READING_FIELDS)]] as const) {
        const sensor = (busV: number | null, currentA: number | null, powerW: number | null): Ina219Reading =>
          ({ flags: 0, busV, shuntV: null, currentA, powerW, error: null });
        assert.equal(w.measurementsText(sensor(12.3456, 1.78, 22.605), sensor(-0.1, -250.1, -10000), 40.1),
          ',bv=12.346,ba=1.7800,bw=22.61,lv=-,la=-,lw=-10000.00,sv=-', name);
        assert.equal(w.measurementsText(sensor(null, null, 10000.01), sensor(40, 250, 0), null),
          ',bv=-,ba=-,bw=-,lv=40.000,la=250.0000,lw=0.00,sv=-', name);
        const energy = { bahi: 10.5, baho: -0.001, bwhi: 230.25, bwho: 1e9 + 1, lahi: 0, laho: 1e9, lwhi: 0.0004, lwho: 0.0005 };
        assert.equal(w.countersText(energy as EnergyCounters),
          ',bahi=10.5000,baho=-,bwhi=230.250,bwho=-,lahi=0.0000,laho=1000000000.0000,lwhi=0.000,lwho=0.001', name);
      }
    });

    it('matches an integer reference on 20,000 values away from the rounding ties', () => {
      const r = new Rand(7);
      for (let i = 0; i < 20000; i++) {
        const d = r.int(5);
        const k = r.int(1e6);
        // A fraction of the last digit clearly below or above one half.
        const u = r.chance(0.5) ? 0.02 + 0.46 * r.next() : 0.52 + 0.46 * r.next();
        const negative = r.chance(0.4);
        const x = (negative ? -1 : 1) * (k + u) / Math.pow(10, d);
        const n = u < 0.5 ? k : k + 1;
        let digits = String(n);
        while (digits.length <= d) digits = '0' + digits;
        const body = d === 0 ? digits : digits.slice(0, digits.length - d) + '.' + digits.slice(digits.length - d);
        const lo = -5000;
        const hi = 5000;
        const value = (negative ? -n : n) / Math.pow(10, d);
        const want = value < lo || value > hi ? '-' : (negative && n > 0 ? '-' : '') + body;
        assert.equal(formatFixed(x, d, lo, hi), want, `formatFixed(${x}, ${d})`);
      }
    });
  });

  describe('text', () => {
    it('replaces control, non-ASCII and framing characters with _', () => {
      assert.equal(safeText('Espruino 2v25 PICO'), 'Espruino 2v25 PICO');
      assert.equal(safeText('a$b*c,d\ne\tf\u00e9g~\u007f\u0000'), 'a_b_c_d_e_f_g~__');
      assert.equal(safeText('bon 14 must be below boff 13'), 'bon 14 must be below boff 13');
      assert.equal(safeText(''), '');
      assert.equal(safeText(' !"#%&()+-./:;<=>?@[\\]^`{|}'), ' !"#%&()+-./:;<=>?@[\\]^`{|}');
    });

    it('cuts to 120 characters', () => {
      assert.equal(safeText('x'.repeat(300)), 'x'.repeat(120));
      assert.equal(safeText('y'.repeat(120)), 'y'.repeat(120));
      assert.equal(safeText('$'.repeat(130)), '_'.repeat(120));
    });

    it('agrees with the full codec sanitizeText on random strings', () => {
      const r = new Rand(3);
      for (let i = 0; i < 3000; i++) {
        let s = '';
        const n = r.int(200);
        for (let j = 0; j < n; j++) s += String.fromCharCode(r.chance(0.7) ? 32 + r.int(95) : r.int(300));
        assert.equal(safeText(s), sanitizeText(s), JSON.stringify(s));
      }
    });
  });

  describe('frames built by the MCU decode with decodeLine', () => {
    it('frameLine() seals a body with the CRC-32 of exactly the body', () => {
      const body = 'A,v=1,id=3,ok=1';
      assert.equal(frameLine(body, crc32), '$' + body + '*' + refCrcHex(body));
      // E.CRC32 may hand back the signed form; the spelling must not change.
      assert.equal(frameLine(body, (t) => crc32(t) | 0), '$' + body + '*' + refCrcHex(body));
    });

    const sensor = (busV: number | null, currentA: number | null, powerW: number | null): Ina219Reading =>
      ({ flags: 0, busV, shuntV: null, currentA, powerW, error: null });

    /** The reading as app.ts writes it, with the table-walking writer or the bundle's generated one. */
    function mcuReading(x: Reading, w: ReadingWriter = readingWriter(READING_FIELDS)): string {
      return frameLine('R,v=1,seq=' + x.seq + ',boot=' + x.boot + ',up=' + formatFixed(x.up, 3, 0, 1e9) +
        w.measurementsText(sensor(x.bv, x.ba, x.bw), sensor(x.lv, x.la, x.lw), x.sv) +
        ',chg=' + x.chg + ',why=' + x.why + ',mode=' + x.mode + ',flt=' + x.flt.toString(16).toUpperCase().padStart(4, '0') +
        w.countersText(x as unknown as EnergyCounters), crc32);
    }

    /** Decimals and range of each value the MCU sends, from the protocol's field table. */
    const UNITS: { [k: string]: [number, number, number] } = {};
    for (const f of READING_FIELDS) if (valueSource(f)) UNITS[f.key] = [f.decimals, f.lo, f.hi];

    it('sends every required field of the table, and the optional ones it measures (none on this board)', () => {
      assert.deepEqual(Object.keys(UNITS), READING_FIELDS.filter((f) => !f.optional).map((f) => f.key));
    });

    it('the worked example of PROTOCOL.md comes out byte for byte', () => {
      const line = mcuReading({
        seq: 42, boot: 7, up: 3600.25, bv: 12.734, ba: -1.25, bw: -15.92, lv: 12.701, la: 1.78, lw: 22.61, sv: 0.412,
        chg: 1, why: 'sun_down', mode: 'auto', flt: 0,
        bahi: 10.5, baho: 12.25, bwhi: 140, bwho: 155.5, lahi: 0, laho: 18, lwhi: 0, lwho: 230.25,
      });
      assert.equal(line, '$R,v=1,seq=42,boot=7,up=3600.250,bv=12.734,ba=-1.2500,bw=-15.92,lv=12.701,la=1.7800,lw=22.61,' +
        'sv=0.412,chg=1,why=sun_down,mode=auto,flt=0000,bahi=10.5000,baho=12.2500,bwhi=140.000,bwho=155.500,' +
        'lahi=0.0000,laho=18.0000,lwhi=0.000,lwho=230.250*214A58A4');
    });

    for (const [writerName, writer] of [['table-walking', readingWriter(READING_FIELDS)], ['generated', generatedWriter(READING_FIELDS)]] as const) {
    it(`random readings (in range, out of range, null, NaN) decode to the value within half a digit, or null (${writerName} writer)`, () => {
      const r = new Rand(11);
      const whys = ['released', 'bat_low', 'sun_down', 'bat_low_sun_down', 'forced_on', 'forced_off', 'floor', 'dwell', 'failsafe', 'boot'] as const;
      for (let i = 0; i < 2000; i++) {
        const m: { [k: string]: number | null } = {};
        for (const [k, [, lo, hi]] of Object.entries(UNITS)) {
          const roll = r.next();
          m[k] = roll < 0.05 ? null : roll < 0.08 ? NaN : roll < 0.15 ? hi + (hi - lo) * r.next() * 0.1 + 0.01
            : roll < 0.2 ? lo - 1 - r.next() * 100 : lo + (hi - lo) * r.next() * (r.chance(0.5) ? 1 : 1e-4);
        }
        const reading = {
          seq: 1 + r.int(4294967295), boot: r.int(4294967296), up: r.next() * 1e6,
          chg: r.int(2) as 0 | 1, why: r.pick(whys), mode: r.pick(['auto', 'on', 'off'] as const), flt: r.int(0x1000),
          ...m,
        } as Reading;
        const line = mcuReading(reading, writer);
        const f = decodeOk(line) as ReadingFrame;
        assert.equal(f.type, 'R');
        assert.equal(f.seq, reading.seq);
        assert.equal(f.boot, reading.boot);
        assert.ok(Math.abs(f.up - reading.up) <= 0.0005 + 1e-9);
        assert.equal(f.chg, reading.chg);
        assert.equal(f.why, reading.why);
        assert.equal(f.mode, reading.mode);
        assert.equal(f.flt, reading.flt);
        for (const [k, [d, lo, hi]] of Object.entries(UNITS)) {
          const x = m[k];
          const got = (f as unknown as { [k: string]: number | null })[k];
          const half = 0.5 * Math.pow(10, -d) * (1 + 1e-9);
          if (x === null || Number.isNaN(x) || x < lo - half || x > hi + half) {
            assert.equal(got, null, `${k}: ${x} → ${got}`);
          } else {
            assert.notEqual(got, null, `${k}: ${x}`);
            assert.ok(Math.abs((got as number) - x) <= half, `${k}: ${x} → ${got}`);
          }
        }
        // The full codec's encoder gives the same frame content (ties aside, which random
        // doubles do not hit).
        const full = decodeOk(encodeReading(reading)) as ReadingFrame;
        assert.deepEqual(f, full);
      }
    });
    }

    it('E frames: boot, error with sanitized text', () => {
      const body = (kind: string, msg: string): string =>
        'E,v=1,boot=8,up=' + formatFixed(0.0041, 3, 0, 1e9) + ',kind=' + kind + ',fw=0.1.0,msg=' + safeText(msg);
      const boot = decodeOk(frameLine(body('boot', 'bon=12 boff=14.005 sdn=10 sup=12.001 dwell=0 period=1'), crc32)) as EventFrame;
      assert.deepEqual(boot, {
        type: 'E', boot: 8, up: 0.004, kind: 'boot', fw: '0.1.0', msg: 'bon=12 boff=14.005 sdn=10 sup=12.001 dwell=0 period=1',
      });
      const err = decodeOk(frameLine(body('error', 'Uncaught Error: x*y, at $line\n' + 'z'.repeat(200)), crc32)) as EventFrame;
      assert.equal(err.kind, 'error');
      assert.equal(err.msg, 'Uncaught Error: x_y_ at _line_' + 'z'.repeat(120 - 30));
    });

    it('A frames: get, refused set, status with null values', () => {
      const get = decodeOk(frameLine('A,v=1,id=1,ok=1,bon=12,boff=14.005,sdn=10,sup=12.001,dwell=0,period=1,floor=11.8', crc32)) as ReplyFrame;
      assert.deepEqual(get, { type: 'A', id: 1, ok: 1, data: { bon: 12, boff: 14.005, sdn: 10, sup: 12.001, dwell: 0, period: 1, floor: 11.8 } });
      const refused = decodeOk(frameLine('A,v=1,id=2,ok=0,err=bad_value,msg=' + safeText('bon must be below boff 13, really'), crc32)) as ReplyFrame;
      assert.deepEqual(refused, { type: 'A', id: 2, ok: 0, err: 'bad_value', msg: 'bon must be below boff 13_ really' });
      const status = decodeOk(frameLine('A,v=1,id=4294967295,ok=1,chg=1,why=failsafe,mode=off,left=' + formatFixed(59.6, 0, 0, 1e9) +
        ',bv=' + formatFixed(null, 3, 0, 40) + ',sv=' + formatFixed(0.4124, 3, 0, 40) + ',seq=9,bad=0', crc32)) as ReplyFrame;
      assert.deepEqual(status, {
        type: 'A', id: 4294967295, ok: 1, data: { chg: 1, why: 'failsafe', mode: 'off', left: 60, bv: null, sv: 0.412, seq: 9, bad: 0 },
      });
    });
  });

  // -------------------------------------------------------------------------
  // Differential: parseCommand (the MCU) against decodeLine (the full codec).

  describe('parseCommand against decodeLine (differential)', () => {
    const SET_ARGS = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period'];
    const SIMPLE = ['status', 'get', 'save', 'reset-energy'] as const;

    function argValue(r: Rand, k: string): number {
      const [lo, hi] = LIMITS[k];
      const roll = r.next();
      if (roll < 0.15) return lo;
      if (roll < 0.3) return hi;
      const d = r.int(5);
      const v = Math.round((lo + (hi - lo) * r.next()) * Math.pow(10, d)) / Math.pow(10, d);
      return Math.min(hi, Math.max(lo, v));
    }

    function validCommand(r: Rand): Command & { id: number } {
      const id = r.chance(0.1) ? 4294967295 : r.chance(0.1) ? 1 : 1 + r.int(4294967295);
      const kind = r.int(6);
      if (kind < 2) return { id, cmd: r.pick(SIMPLE) };
      if (kind < 4) {
        const c: { [k: string]: number } = {};
        for (const k of SET_ARGS) if (r.chance(0.4)) c[k] = argValue(r, k);
        if (Object.keys(c).length === 0) { const k = r.pick(SET_ARGS); c[k] = argValue(r, k); }
        // Same range within a pair, so swapping keeps both in range.
        for (const [a, b] of [['bon', 'boff'], ['sdn', 'sup']]) {
          if (c[a] !== undefined && c[b] !== undefined && c[a] >= c[b]) {
            if (c[a] === c[b]) delete c[a];
            else { const t = c[a]; c[a] = c[b]; c[b] = t; }
          }
        }
        return { id, cmd: 'set', ...c } as Command & { id: number };
      }
      const mode = r.pick(['on', 'off', 'auto'] as const);
      return mode === 'auto' ? { id, cmd: 'force', mode } : { id, cmd: 'force', mode, for: argValue(r, 'for') };
    }

    const VALUES = ['1e3', '+1', '.5', '5.', '1.2.3', '--1', '-', '0x10', 'NaN', 'Infinity', '-Infinity', ' 1', '1 ',
      '\u0001', '\u00e9', '00012', '-0', '0', '-0.0', '0.0', '1' + '0'.repeat(330), '9'.repeat(25), '4294967296',
      '4294967295', '0.0000001', '1*2', '=', 'a=b', 'on', 'off', 'auto', 'ON', 'Auto', 'status', 'set', '12', '14.5',
      '10', '15', '30', '0.1', '0.09', '3600', '3600.0001', '86400', '86401', '604800', '604801', '-5', '1', '0.5',
      '13.999999999999999999', '', '1,2', '12\u0000'];
    const IDS = ['0', '1', '2', '4294967295', '4294967296', '007', '-1', '1.0', '1e3', 'abc', '99999999999999999999', '',
      ' 1', '18446744073709551616', '+5', '00', '0x1F'];
    const CMDS = ['status', 'get', 'set', 'force', 'save', 'reset-energy', 'Status', 'reset_energy', 'stat', 'constructor',
      '', 'console', 'toString', 'force ', 'SET'];
    const KEYS = ['foo', 'x', 'id2', 'cmd2', 'Bon', '9x', 'a-b', '', 'v', 'mode', 'for', 'bon', 'boff', 'sdn', 'sup',
      'dwell', 'period', 'id', 'cmd', 'b_on', 'z9', 'ok', 'msg', 'constructor'];
    const NOISE = ['>', 'host: ', '\u0000\u001b[2K', 'garbage$', '$', '$C,v=1,id=9,cmd=get', '>>> $$', '=undefined\r', '*'];

    function setField(parts: string[], key: string, value: string): void {
      for (let i = 2; i < parts.length; i++) {
        if (parts[i].slice(0, parts[i].indexOf('=')) === key) { parts[i] = key + '=' + value; return; }
      }
      parts.push(key + '=' + value);
    }

    function mutate(r: Rand, parts: string[], ops: string[]): string[] {
      const fieldIndex = (): number => (parts.length > 2 ? 2 + r.int(parts.length - 2) : -1);
      const op = r.int(15);
      switch (op) {
        case 0: ops.push('type'); parts[0] = r.pick(['R', 'E', 'A', 'X', 'c', 'CC', '', 'C ']); break;
        case 1: {
          ops.push('version');
          const v = r.int(3);
          if (v === 0) parts[1] = r.pick(['v=2', 'v=0', 'v=01', 'v=1.0', 'v=', 'V=1', 'v', 'x=1', 'v=1 ']);
          else if (v === 1) parts.splice(1, 1);
          else if (parts.length > 2) { const t = parts[1]; parts[1] = parts[2]; parts[2] = t; }
          break;
        }
        case 2: {
          ops.push('duplicate');
          const i = fieldIndex();
          if (i > 0) parts.push(r.chance(0.5) ? parts[i] : parts[i].slice(0, parts[i].indexOf('=') + 1) + r.pick(VALUES));
          break;
        }
        case 3: { ops.push('drop'); const i = fieldIndex(); if (i > 0) parts.splice(i, 1); break; }
        case 4: ops.push('unknown-arg'); parts.push(r.pick(KEYS) + '=' + r.pick(VALUES.filter((v) => v !== ''))); break;
        case 5: {
          ops.push('bad-value');
          const i = fieldIndex();
          if (i > 0) parts[i] = parts[i].slice(0, parts[i].indexOf('=') + 1) + r.pick(VALUES);
          break;
        }
        case 6: ops.push('id'); if (r.chance(0.1)) parts.splice(2, 1); else setField(parts, 'id', r.pick(IDS)); break;
        case 7: ops.push('cmd'); setField(parts, 'cmd', r.pick(CMDS)); break;
        case 8: {
          ops.push('on>=off');
          const [a, b] = r.pick([['bon', 'boff'], ['sdn', 'sup']]);
          const lo = LIMITS[a][0] + 1;
          const x = lo + r.int(3);
          setField(parts, a, String(x + r.int(2)));
          setField(parts, b, String(x));
          break;
        }
        case 9: ops.push('empty-set'); parts.splice(2, parts.length, 'id=' + (1 + r.int(1000)), 'cmd=set'); break;
        case 10: {
          ops.push('force-args');
          setField(parts, 'cmd', 'force');
          const m = r.int(4);
          if (m < 3) setField(parts, 'mode', ['on', 'off', 'auto'][m]);
          if (r.chance(0.5)) setField(parts, 'for', r.pick(['1', '604800', '0', '604801', '60', '-1', '0.5', '1.5']));
          else { const i = parts.findIndex((p) => p.slice(0, 4) === 'for='); if (i > 1) parts.splice(i, 1); }
          break;
        }
        case 11: {
          ops.push('field-syntax');
          const i = fieldIndex();
          if (i < 0) break;
          const p = parts[i];
          const eq = p.indexOf('=');
          parts[i] = r.pick([p.replace('=', ''), p.replace('=', '=='), p.slice(eq), p.slice(0, eq + 1), ' ' + p,
            p.charAt(0).toUpperCase() + p.slice(1), p + ' ']);
          if (r.chance(0.2)) parts.push('');
          break;
        }
        case 12: {
          ops.push('boundary');
          const k = r.pick(['bon', 'boff', 'sdn', 'sup', 'dwell', 'period', 'for']);
          const [lo, hi] = LIMITS[k];
          const delta = r.pick([0, 0, 1, 0.1, 0.0001, 1e-9]);
          const x = r.chance(0.5) ? lo - delta : hi + delta;
          setField(parts, k, x.toFixed(10).replace(/0+$/, '').replace(/\.$/, ''));
          break;
        }
        case 13: {
          ops.push('shuffle');
          const fields = parts.slice(2);
          for (let i = fields.length - 1; i > 0; i--) { const j = r.int(i + 1); const t = fields[i]; fields[i] = fields[j]; fields[j] = t; }
          parts.splice(2, fields.length, ...fields);
          break;
        }
        default: {
          ops.push('char');
          const i = fieldIndex();
          if (i < 0) break;
          const p = parts[i];
          const at = r.int(p.length + 1);
          parts[i] = p.slice(0, at) + String.fromCharCode(r.chance(0.5) ? r.int(256) : 32 + r.int(95)) + p.slice(at);
        }
      }
      return parts;
    }

    function damage(r: Rand, line: string, ops: string[]): string {
      const kind = r.int(8);
      switch (kind) {
        case 0: ops.push('noise-prefix'); return r.pick(NOISE) + line;
        case 1: { // a character of the body changed after sealing
          ops.push('flip-body');
          const at = 1 + r.int(Math.max(1, line.length - 10));
          return line.slice(0, at) + String.fromCharCode(line.charCodeAt(at) ^ (1 + r.int(127))) + line.slice(at + 1);
        }
        case 2: { // one CRC digit changed
          ops.push('flip-crc');
          const at = line.length - 1 - r.int(8);
          const c = line.charAt(at);
          return line.slice(0, at) + (c === '0' ? '1' : '0') + line.slice(at + 1);
        }
        case 3: ops.push('lowercase-crc'); return line.slice(0, -8) + line.slice(-8).toLowerCase();
        case 4: ops.push('truncate'); return line.slice(0, line.length - 1 - r.int(Math.min(line.length, 20)));
        case 5: ops.push('junk-after'); return line + r.pick([' ', 'x', '*', '0', '$']);
        case 6: { // padded with console noise to exactly the limit or one past it
          ops.push('length');
          const target = r.chance(0.5) ? 512 : 513;
          return line.length >= target ? line : '>'.repeat(target - line.length) + line;
        }
        default: ops.push('no-dollar'); return line.replace('$', '');
      }
    }

    interface Case { line: string; ops: string[] }

    function generate(n: number): Case[] {
      const r = new Rand(20240601);
      const out: Case[] = [];
      while (out.length < n) {
        const ops: string[] = [];
        const c = validCommand(r);
        let line = encodeCommand(c, crc32);
        const roll = r.next();
        if (roll < 0.35) {
          ops.push('valid');
        } else if (roll < 0.97) {
          let parts = line.slice(1, -9).split(',');
          const count = 1 + r.int(3);
          for (let i = 0; i < count; i++) parts = mutate(r, parts, ops);
          line = seal(parts.join(','));
          if (r.chance(0.25)) line = damage(r, line, ops);
        } else {
          ops.push('random');
          let s = r.chance(0.7) ? '$' : '';
          const len = r.int(60);
          for (let i = 0; i < len; i++) s += r.pick(['C', ',', 'v=1', '=', 'id', 'cmd', 'set', '1', '*', '$', 'x', ' ']);
          line = r.chance(0.5) ? seal(s.replace(/^\$/, '')) : s;
        }
        if (r.chance(0.1)) line = r.pick(NOISE.filter((x) => x.indexOf('\r') < 0)) + line;
        out.push({ line, ops });
      }
      return out;
    }

    function isRefusal(p: McuCommand | McuCommandError): p is McuCommandError {
      return 'err' in p;
    }

    const N = 25000;
    let cases: Case[] = [];
    let results: { d: DecodeResult; p: McuCommand | McuCommandError }[] = [];
    let elapsedMs = 0;

    before(() => {
      const t0 = Date.now();
      cases = generate(N);
      results = cases.map((c) => ({ d: decodeLine(c.line), p: parseCommand(c.line, crc32) }));
      elapsedMs = Date.now() - t0;
    });

    function show(c: Case, d: DecodeResult, p: McuCommand | McuCommandError): string {
      return `${JSON.stringify(c.line)} [${c.ops.join(' ')}]\n      decodeLine: ${JSON.stringify(d)}\n      parseCommand: ${JSON.stringify(p)}`;
    }

    it(`generates ${N} lines covering every command and every reject reason`, () => {
      assert.equal(results.length, N);
      const accepted = new Map<string, number>();
      const reasons = new Set<string>();
      for (const { d } of results) {
        if (d.ok) { if (d.frame.type === 'C') accepted.set(d.frame.cmd, (accepted.get(d.frame.cmd) ?? 0) + 1); } else reasons.add(d.reason);
      }
      for (const cmd of ['status', 'get', 'set', 'force', 'save', 'reset-energy']) {
        assert.ok((accepted.get(cmd) ?? 0) >= 100, `${cmd} accepted ${accepted.get(cmd) ?? 0} times`);
      }
      for (const reason of ['bad_crc', 'bad_value', 'bad_version', 'duplicate_field', 'malformed', 'missing_field', 'noise',
        'out_of_range', 'too_long', 'truncated', 'unknown_type']) assert.ok(reasons.has(reason), `no line rejected as ${reason}`);
      const rejected = results.filter(({ d }) => !d.ok).length;
      assert.ok(rejected > N / 3 && rejected < (N * 3) / 4, `${rejected} of ${N} rejected`);
      // Informational: generation plus both parsers over every line.
      assert.ok(elapsedMs >= 0);
    });

    it('agree on accept vs reject for every line, and on id, cmd and every argument when both accept', () => {
      const problems: string[] = [];
      results.forEach(({ d, p }, i) => {
        const fullAccepts = d.ok && d.frame.type === 'C';
        const mcuAccepts = !isRefusal(p);
        if (fullAccepts !== mcuAccepts) {
          problems.push('accept/reject: ' + show(cases[i], d, p));
          return;
        }
        if (!fullAccepts || isRefusal(p) || !d.ok) return;
        const f = d.frame as CommandFrame;
        const fArgs: { [k: string]: unknown } = {};
        for (const [k, v] of Object.entries(f)) if (k !== 'type' && k !== 'id' && k !== 'cmd') fArgs[k] = v;
        const same = p.id === f.id && p.cmd === f.cmd &&
          Object.keys(fArgs).sort().join() === Object.keys(p.args).sort().join() &&
          Object.keys(fArgs).every((k) => fArgs[k] === p.args[k]); // === : -0 and 0 are the same setting
        if (!same) problems.push('values: ' + show(cases[i], d, p));
      });
      assert.equal(problems.length, 0, `${problems.length} disagreements, first ones:\n    ${problems.slice(0, 8).join('\n    ')}`);
    });

    it('a refused line carries an id exactly when the full decoder can identify the command\'s id', () => {
      const byOp = new Map<string, number>();
      const problems: string[] = [];
      results.forEach(({ d, p }, i) => {
        if (!isRefusal(p)) return;
        const expected = d.ok ? 0 : d.id ?? 0;
        if (p.id !== expected) {
          problems.push(`id ${p.id}, expected ${expected}: ` + show(cases[i], d, p));
          const key = d.ok ? 'accepted' : /constructor/.test(cases[i].line) ? 'a key named constructor'
            : /bad key/.test(d.detail) ? `${d.reason}: bad key` : /\* inside/.test(d.detail) ? `${d.reason}: * inside a value`
              : `${d.reason}: ${d.detail}`;
          byOp.set(key, (byOp.get(key) ?? 0) + 1);
        }
      });
      assert.equal(problems.length, 0, `${problems.length} disagreements by decodeLine reason: ${JSON.stringify([...byOp])}\n    ` +
        problems.slice(0, 6).join('\n    '));
    });

    it('every valid command and argument, at its range ends, is accepted by both alike', () => {
      const lines: string[] = [];
      let id = 1;
      for (const cmd of ['status', 'get', 'save', 'reset-energy'] as const) lines.push(encodeCommand({ id: id++, cmd }, crc32));
      for (const k of SET_ARGS) {
        for (const v of LIMITS[k]) {
          // A lone bon/sdn may be the top of its range: the MCU checks it against the stored pair.
          lines.push(encodeCommand({ id: id++, cmd: 'set', [k]: v } as Command & { id: number }, crc32));
        }
      }
      lines.push(encodeCommand({ id: id++, cmd: 'set', bon: 10, boff: 15, sdn: 0, sup: 30, dwell: 86400, period: 0.1 }, crc32));
      lines.push(encodeCommand({ id: id++, cmd: 'set', bon: 12.3456, boff: 12.3457 }, crc32));
      for (const mode of ['on', 'off'] as const) for (const s of LIMITS.for) lines.push(encodeCommand({ id: id++, cmd: 'force', mode, for: s }, crc32));
      lines.push(encodeCommand({ id: 4294967295, cmd: 'force', mode: 'auto' }, crc32));
      for (const line of lines) {
        const d = decodeLine(line);
        const p = parseCommand(line, crc32);
        assert.ok(d.ok, line);
        assert.ok(!isRefusal(p), `${line}: ${JSON.stringify(p)}`);
        const f = (d as { frame: CommandFrame }).frame;
        assert.equal(p.id, f.id);
        assert.equal(p.cmd, f.cmd);
        for (const [k, v] of Object.entries(p.args)) assert.equal((f as unknown as { [k: string]: unknown })[k], v, `${line} ${k}`);
      }
    });

    // Specific refusals, with the id the MCU must answer with (0 = silence).
    const refusals: [string, string, number][] = [
      ['bad CRC', '$C,v=1,id=5,cmd=status*00000000', 0],
      ['lowercase CRC', '$C,v=1,id=5,cmd=get*' + refCrcHex('C,v=1,id=5,cmd=get').toLowerCase(), 0],
      ['wrong type', seal('R,v=1,id=5,cmd=status'), 0],
      ['wrong version', seal('C,v=2,id=5,cmd=status'), 0],
      ['id 0', seal('C,v=1,id=0,cmd=status'), 0],
      ['id too big', seal('C,v=1,id=4294967296,cmd=status'), 0],
      ['id missing', seal('C,v=1,cmd=status'), 0],
      ['duplicate key', seal('C,v=1,id=5,cmd=status,cmd=get'), 0],
      ['unknown command', seal('C,v=1,id=5,cmd=reboot'), 5],
      ['unknown argument', seal('C,v=1,id=6,cmd=status,x=1'), 6],
      ['set takes no mode', seal('C,v=1,id=7,cmd=set,mode=on'), 7],
      ['out of range', seal('C,v=1,id=8,cmd=set,bon=9.9999'), 8],
      ['not a number', seal('C,v=1,id=9,cmd=set,dwell=1e3'), 9],
      ['empty set', seal('C,v=1,id=10,cmd=set'), 10],
      ['bon = boff', seal('C,v=1,id=11,cmd=set,bon=13,boff=13'), 11],
      ['sdn > sup', seal('C,v=1,id=12,cmd=set,sdn=12,sup=11'), 12],
      ['force on without for', seal('C,v=1,id=13,cmd=force,mode=on'), 13],
      ['force auto with for', seal('C,v=1,id=14,cmd=force,mode=auto,for=5'), 14],
      ['force without mode', seal('C,v=1,id=15,cmd=force,for=5'), 15],
      ['bad mode', seal('C,v=1,id=16,cmd=force,mode=maybe,for=5'), 16],
      ['for 0', seal('C,v=1,id=17,cmd=force,mode=off,for=0'), 17],
    ];
    for (const [name, line, id] of refusals) {
      it(`refuses ${name} (answer id ${id})`, () => {
        const d = decodeLine(line);
        const p = parseCommand(line, crc32);
        assert.ok(!d.ok, `decodeLine accepted ${line}`);
        assert.ok(isRefusal(p), `parseCommand accepted ${line}`);
        assert.equal(d.id ?? 0, id);
        assert.equal(p.id, id);
        if (id > 0) assert.ok(p.err.length > 0 && p.msg.length > 0);
      });
    }

    // Found by the differential test: framing damage behind a good CRC, where the full
    // decoder gives no id (so no reply) but the MCU answers, and the reverse.
    const framing: [string, string][] = [
      ['a key with an uppercase letter', seal('C,v=1,id=21,cmd=status,Bon=1')],
      ['a key starting with a digit', seal('C,v=1,id=22,cmd=set,9x=1')],
      ['a * inside a value', seal('C,v=1,id=23,cmd=set,bon=1*2')],
      ['a control character in a value', seal('C,v=1,id=24,cmd=st\u0001tus')],
      ['the key "constructor"', seal('C,v=1,id=25,cmd=status,constructor=1')],
    ];
    for (const [name, line] of framing) {
      it(`same reply id as decodeLine for ${name}`, () => {
        const d = decodeLine(line);
        const p = parseCommand(line, crc32);
        assert.ok(!d.ok && isRefusal(p));
        assert.equal(p.id, d.id ?? 0, `decodeLine ${JSON.stringify(d)}, parseCommand ${JSON.stringify(p)}`);
      });
    }

    it('a line ending in a lone \\r (what LineSplitter leaves of "\\r\\r\\n") is read alike', () => {
      const line = encodeCommand({ id: 30, cmd: 'status' }, crc32) + '\r';
      const d = decodeLine(line);
      const p = parseCommand(line, crc32);
      assert.equal(!isRefusal(p), d.ok, `decodeLine ${JSON.stringify(d)}, parseCommand ${JSON.stringify(p)}`);
    });
  });

  // -------------------------------------------------------------------------

  describe('withChanges: settings updates', () => {
    const current: Settings = { bon: 12, boff: 14.005, sdn: 10, sup: 12.001, dwell: 0, period: 1 };
    const apply = (changes: { [k: string]: unknown }): Settings | string => withChanges({ ...current }, changes);

    it('applies a change and keeps the rest', () => {
      assert.deepEqual(apply({ dwell: 300 }), { ...current, dwell: 300 });
      assert.deepEqual(apply({ bon: 11.5, boff: 13.8, sdn: 8, sup: 9, dwell: 60, period: 2.5 }),
        { bon: 11.5, boff: 13.8, sdn: 8, sup: 9, dwell: 60, period: 2.5 });
      assert.deepEqual(apply({}), current);
    });

    it('does not modify the current settings', () => {
      const cur = { ...current };
      withChanges(cur, { bon: 11 });
      withChanges(cur, { bon: 99 });
      assert.deepEqual(cur, current);
    });

    it('checks a lone bon against the stored boff, and a lone boff against the stored bon', () => {
      assert.deepEqual(apply({ bon: 14 }), { ...current, bon: 14 });
      assert.equal(typeof apply({ bon: 14.005 }), 'string');
      assert.equal(typeof apply({ bon: 14.5 }), 'string');
      assert.match(apply({ bon: 14.5 }) as string, /bon must be below boff 14\.005/);
      assert.equal(typeof apply({ boff: 12 }), 'string');
      assert.deepEqual(apply({ boff: 12.001 }), { ...current, boff: 12.001 });
      // Both moved together past the stored values: checked as a pair.
      assert.deepEqual(apply({ bon: 14.5, boff: 14.9 }), { ...current, bon: 14.5, boff: 14.9 });
      assert.equal(typeof apply({ bon: 13, boff: 13 }), 'string');
    });

    it('checks a lone sdn against the stored sup, and a lone sup against the stored sdn', () => {
      assert.deepEqual(apply({ sdn: 12 }), { ...current, sdn: 12 });
      assert.match(apply({ sdn: 12.001 }) as string, /sdn must be below sup 12\.001/);
      assert.equal(typeof apply({ sup: 10 }), 'string');
      assert.equal(typeof apply({ sup: 9 }), 'string');
      assert.deepEqual(apply({ sdn: 20, sup: 25 }), { ...current, sdn: 20, sup: 25 });
    });

    // Each limit from LIMITS, with the partner moved out of the way so only the range decides.
    const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
    const partner: { [k: string]: (v: number) => { [k: string]: number } } = {
      bon: () => ({ boff: 15 }),
      boff: (v) => ({ bon: clamp(v - 0.5, 10, 14.5) }),
      sdn: () => ({ sup: 30 }),
      sup: (v) => ({ sdn: clamp(v - 0.5, 0, 29.5) }),
      dwell: () => ({}),
      period: () => ({}),
    };
    for (const k of ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period']) {
      const [lo, hi] = LIMITS[k];
      it(`${k}: ${lo}..${hi} inclusive, nothing outside`, () => {
        for (const v of [lo, hi, (lo + hi) / 2]) {
          const r = apply({ [k]: v, ...partner[k](v) });
          const pairBlocks = (k === 'bon' && v >= 15) || (k === 'sdn' && v >= 30) || (k === 'boff' && v <= 10) || (k === 'sup' && v <= 0);
          if (pairBlocks) {
            // The range allows it but no partner can be above/below it: refused by the pair rule.
            assert.equal(typeof r, 'string');
            assert.match(r as string, /must be below/);
          } else {
            assert.equal(typeof r, 'object', `${k}=${v}: ${String(r)}`);
            assert.equal((r as unknown as { [k: string]: number })[k], v);
          }
        }
        for (const v of [lo - 1e-9, lo - 1, hi + 1e-9, hi + 1, -Infinity, Infinity, NaN]) {
          const r = apply({ [k]: v, ...partner[k](Number.isFinite(v) ? v : lo) });
          assert.equal(typeof r, 'string', `${k}=${v} accepted`);
          assert.match(r as string, new RegExp(`^${k} in ${lo}\\.\\.${hi}$`));
        }
      });
    }

    it('rejects values that are not numbers', () => {
      for (const v of ['12', '', null, true, false, {}, [12], NaN]) {
        const r = apply({ bon: v });
        assert.equal(typeof r, 'string', `bon=${JSON.stringify(v)} accepted`);
        assert.match(r as string, /^bon in 10\.\.15$/);
      }
    });

    it('treats undefined as unchanged and ignores keys it does not know', () => {
      assert.deepEqual(apply({ bon: undefined }), current);
      const r = apply({ id: 5, cmd: 'set', mode: 'on', for: 3, foo: 'x', floor: 1, dwell: 10 });
      assert.deepEqual(r, { ...current, dwell: 10 });
      assert.deepEqual(Object.keys(r as object).sort(), ['boff', 'bon', 'dwell', 'period', 'sdn', 'sup']);
    });

    it('validates a stored record as a whole (withChanges over the defaults)', () => {
      // app.ts restores stored settings this way: a record with a value out of range is refused.
      assert.deepEqual(withChanges(current, { bon: 11.9, boff: 14.4, sdn: 9, sup: 11, dwell: 30, period: 5 }),
        { bon: 11.9, boff: 14.4, sdn: 9, sup: 11, dwell: 30, period: 5 });
      assert.equal(typeof withChanges(current, { bon: 11.9, boff: 14.4, sdn: 9, sup: 11, dwell: -1, period: 5 }), 'string');
      // And current settings that are themselves broken are not waved through.
      assert.equal(typeof withChanges({ ...current, period: 0 }, {}), 'string');
    });
  });
});
