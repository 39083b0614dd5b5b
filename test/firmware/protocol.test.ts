import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  CommandFrame, DecodeFailure, EventFrame, Frame, LineSplitter, MAX_LINE_LENGTH, MAX_TEXT_LENGTH,
  PROTOCOL_VERSION, Reading, ReadingFrame, RejectReason, ReplyFrame,
  FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_RESET, FLT_BAT_STALE, FLT_ERROR, FLT_LOAD_COMM, FLT_LOAD_OVF,
  FLT_LOAD_RESET, FLT_LOAD_STALE, FLT_RESERVED, FLT_SOLAR_INVALID, FLT_SOLAR_STALE, FLT_STORAGE,
  WHY_BAT_LOW, WHY_BAT_LOW_SUN_DOWN, WHY_BOOT, WHY_DWELL, WHY_FAILSAFE, WHY_FLOOR, WHY_FORCED_OFF,
  WHY_FORCED_ON, WHY_RELEASED, WHY_SUN_DOWN,
  crc32, decodeLine, encodeCommand, encodeEvent, encodeReading, encodeReply, faultNames,
  sanitizeText, validateCommand,
} from '../../protocol';

// ---------------------------------------------------------------------------
// Independent references: zlib's CRC-32 over the body's bytes, and frames written by
// hand from the spec, so no expected line is produced by the code under test.

function refCrc(body: string): string {
  return zlibCrc32(Buffer.from(body, 'latin1')).toString(16).toUpperCase().padStart(8, '0');
}

/** A frame with a correct CRC around a hand-written body. */
function frame(body: string): string {
  return `$${body}*${refCrc(body)}`;
}

function decodeOk(line: string): Frame {
  const r = decodeLine(line);
  if (!r.ok) assert.fail(`expected ${JSON.stringify(line)} to decode, got ${r.reason}: ${r.detail}`);
  return r.frame;
}

function decodeFail(line: string): DecodeFailure {
  const r = decodeLine(line);
  if (r.ok) assert.fail(`expected ${JSON.stringify(line)} to be rejected, got ${JSON.stringify(r.frame)}`);
  return r;
}

function bodyOf(line: string): string {
  return line.slice(line.lastIndexOf('$') + 1, line.length - 9);
}

const ALL_REASONS: RejectReason[] = [
  'empty', 'noise', 'too_long', 'truncated', 'bad_crc', 'bad_version', 'unknown_type',
  'malformed', 'missing_field', 'duplicate_field', 'bad_value', 'out_of_range',
];

function typical(): Reading {
  return {
    seq: 42, boot: 7, up: 3600.25,
    bv: 12.734, ba: -1.25, bw: -15.92, lv: 12.701, la: 1.78, lw: 22.61, sv: 0.412,
    chg: 1, why: 'sun_down', mode: 'auto', flt: 0,
    bahi: 10.5, baho: 12.25, bwhi: 140, bwho: 155.5, lahi: 0, laho: 18, lwhi: 0, lwho: 230.25,
  };
}

// The same reading written out by hand from the spec's formats
// (V 3 decimals, A 4, W 2, Ah 4, Wh 3, up 3, flt 4 uppercase hex digits).
const TYPICAL_BODY = 'R,v=1,seq=42,boot=7,up=3600.250,bv=12.734,ba=-1.2500,bw=-15.92,lv=12.701,la=1.7800,lw=22.61,'
  + 'sv=0.412,chg=1,why=sun_down,mode=auto,flt=0000,bahi=10.5000,baho=12.2500,bwhi=140.000,bwho=155.500,'
  + 'lahi=0.0000,laho=18.0000,lwhi=0.000,lwho=230.250';

const R_REQUIRED = ['seq', 'boot', 'up', 'bv', 'ba', 'bw', 'lv', 'la', 'lw', 'sv', 'chg', 'why', 'mode', 'flt',
  'bahi', 'baho', 'bwhi', 'bwho', 'lahi', 'laho', 'lwhi', 'lwho'];

/** TYPICAL_BODY with one field's value replaced (or the field removed when value is null). */
function typicalWith(key: string, value: string | null): string {
  const parts = TYPICAL_BODY.split(',');
  const i = parts.findIndex((p) => p.startsWith(key + '='));
  assert.ok(i > 1, `no field ${key}`);
  if (value === null) parts.splice(i, 1);
  else parts[i] = `${key}=${value}`;
  return parts.join(',');
}

function roundTrip<T extends Frame>(line: string, expected: T): void {
  assert.ok(line.length <= MAX_LINE_LENGTH, `line too long: ${line.length}`);
  assert.equal(line.slice(-8), refCrc(bodyOf(line)), 'CRC differs from zlib');
  assert.deepStrictEqual(decodeOk(line), expected);
}

// ---------------------------------------------------------------------------

describe('protocol: CRC-32', () => {
  it('gives the standard check value for "123456789"', () => {
    assert.equal(crc32('123456789'), 0xcbf43926);
  });

  it('matches zlib on empty, ASCII, every byte value and random strings', () => {
    const samples = ['', 'a', 'R,v=1,seq=1', TYPICAL_BODY];
    let all = '';
    for (let b = 0; b < 256; b++) all += String.fromCharCode(b);
    samples.push(all);
    let x = 12345;
    for (let n = 0; n < 200; n++) {
      let s = '';
      const len = n % 97;
      for (let i = 0; i < len; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        s += String.fromCharCode((x >>> 16) & 0xff);
      }
      samples.push(s);
    }
    for (const s of samples) assert.equal(crc32(s), zlibCrc32(Buffer.from(s, 'latin1')), JSON.stringify(s));
  });

  it('is always an unsigned 32-bit number', () => {
    for (const s of ['', 'x', 'hello', '\xff\xff\xff\xff']) {
      const c = crc32(s);
      assert.ok(Number.isInteger(c) && c >= 0 && c <= 0xffffffff, String(c));
    }
  });

  it('uses a supplied CRC function (E.CRC32 on the MCU), signed or unsigned', () => {
    const fake = (): number => 0x1234;
    const line = encodeEvent({ boot: 1, up: 0, kind: 'boot' }, fake);
    assert.ok(line.endsWith('*00001234'), line);
    assert.equal(decodeLine(line).ok, false); // the real CRC disagrees
    assert.equal(decodeLine(line, fake).ok, true);
    // A CRC function that returns the signed form must give the same line.
    const signed = (t: string): number => zlibCrc32(Buffer.from(t, 'latin1')) | 0;
    assert.equal(encodeReading(typical(), signed), encodeReading(typical()));
    assert.equal(decodeLine(encodeReading(typical()), signed).ok, true);
  });
});

describe('protocol: constants', () => {
  it('has version 1 and a 512-character line limit', () => {
    assert.equal(PROTOCOL_VERSION, 1);
    assert.equal(MAX_LINE_LENGTH, 512);
    assert.equal(MAX_TEXT_LENGTH, 120);
  });

  it('numbers the fault bits as the spec does and names them', () => {
    const bits = [FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_RESET, FLT_BAT_STALE, FLT_LOAD_COMM, FLT_LOAD_OVF,
      FLT_LOAD_RESET, FLT_LOAD_STALE, FLT_SOLAR_INVALID, FLT_SOLAR_STALE, FLT_STORAGE, FLT_ERROR];
    const names = ['BAT_COMM', 'BAT_OVF', 'BAT_RESET', 'BAT_STALE', 'LOAD_COMM', 'LOAD_OVF', 'LOAD_RESET',
      'LOAD_STALE', 'SOLAR_INVALID', 'SOLAR_STALE', 'STORAGE', 'ERROR'];
    bits.forEach((b, i) => {
      assert.equal(b, 2 ** i);
      assert.deepStrictEqual(faultNames(b), [names[i]]);
    });
    assert.equal(FLT_RESERVED, 0xf000);
    assert.deepStrictEqual(faultNames(0), []);
    assert.deepStrictEqual(faultNames(FLT_BAT_STALE | FLT_SOLAR_STALE | FLT_ERROR), ['BAT_STALE', 'SOLAR_STALE', 'ERROR']);
    assert.deepStrictEqual(faultNames(0x8001), ['BAT_COMM', 'BIT15']);
  });

  it('exports the ten reason tokens', () => {
    assert.deepStrictEqual(
      [WHY_RELEASED, WHY_BAT_LOW, WHY_SUN_DOWN, WHY_BAT_LOW_SUN_DOWN, WHY_FORCED_ON, WHY_FORCED_OFF, WHY_FLOOR,
        WHY_DWELL, WHY_FAILSAFE, WHY_BOOT],
      ['released', 'bat_low', 'sun_down', 'bat_low_sun_down', 'forced_on', 'forced_off', 'floor', 'dwell',
        'failsafe', 'boot']);
  });
});

describe('protocol: readings', () => {
  it('encodes exactly the hand-written line, in the fixed field order', () => {
    assert.equal(encodeReading(typical()), frame(TYPICAL_BODY));
  });

  it('round-trips a typical reading', () => {
    roundTrip(encodeReading(typical()), { type: 'R', ...typical() } as ReadingFrame);
  });

  it('round-trips nulls in every nullable field, and the optional solar current', () => {
    const r: Reading = {
      ...typical(), bv: null, ba: null, bw: null, lv: null, la: null, lw: null, sv: null, sa: null, sw: null,
      bahi: null, baho: null, bwhi: null, bwho: null, lahi: null, laho: null, lwhi: null, lwho: null,
      why: 'failsafe', flt: FLT_BAT_COMM | FLT_LOAD_STALE | FLT_SOLAR_INVALID,
    };
    const line = encodeReading(r);
    assert.ok(line.includes(',bv=-,ba=-,bw=-,lv=-,la=-,lw=-,sv=-,sa=-,sw=-,'), line);
    assert.ok(line.includes(',flt=0181,'), line);
    roundTrip(line, { type: 'R', ...r } as ReadingFrame);
  });

  it('sends sa and sw only when present', () => {
    const without = encodeReading(typical());
    assert.ok(!without.includes('sa=') && !without.includes('sw='));
    const withSolar: Reading = { ...typical(), sa: 3.5, sw: -0.25 };
    const line = encodeReading(withSolar);
    assert.ok(line.includes(',sv=0.412,sa=3.5000,sw=-0.25,chg='), line);
    roundTrip(line, { type: 'R', ...withSolar } as ReadingFrame);
    const decoded = decodeOk(without) as ReadingFrame;
    assert.ok(!('sa' in decoded) && !('sw' in decoded));
  });

  it('round-trips the minimum and maximum of every range', () => {
    const min: Reading = {
      seq: 1, boot: 0, up: 0, bv: 0, ba: -250, bw: -10000, lv: 0, la: -250, lw: -10000, sv: 0, sa: -250, sw: -10000,
      chg: 0, why: 'released', mode: 'off', flt: 0,
      bahi: 0, baho: 0, bwhi: 0, bwho: 0, lahi: 0, laho: 0, lwhi: 0, lwho: 0,
    };
    const max: Reading = {
      seq: 4294967295, boot: 4294967295, up: 1e9, bv: 40, ba: 250, bw: 10000, lv: 40, la: 250, lw: 10000, sv: 40,
      sa: 250, sw: 10000, chg: 1, why: 'bat_low_sun_down', mode: 'on', flt: 0x0fff,
      bahi: 1e9, baho: 1e9, bwhi: 1e9, bwho: 1e9, lahi: 1e9, laho: 1e9, lwhi: 1e9, lwho: 1e9,
    };
    roundTrip(encodeReading(min), { type: 'R', ...min } as ReadingFrame);
    const line = encodeReading(max);
    assert.ok(line.includes('seq=4294967295,boot=4294967295,up=1000000000.000,bv=40.000,ba=250.0000,bw=10000.00'), line);
    assert.ok(line.includes('flt=0FFF,bahi=1000000000.0000,baho=1000000000.0000,bwhi=1000000000.000'), line);
    roundTrip(line, { type: 'R', ...max } as ReadingFrame);
    // The widest reading the encoder can make (negative extremes, longest reason) fits
    // the line limit with room for a few more fields.
    const widest: Reading = { ...max, ba: -250, bw: -10000, la: -250, lw: -10000, sa: -250, sw: -10000, mode: 'auto' };
    const w = encodeReading(widest);
    roundTrip(w, { type: 'R', ...widest } as ReadingFrame);
    assert.ok(w.length < 400, String(w.length));
  });

  it('round-trips every reason with every mode, and every fault bit', () => {
    for (const why of ['released', 'bat_low', 'sun_down', 'bat_low_sun_down', 'forced_on', 'forced_off', 'floor',
      'dwell', 'failsafe', 'boot'] as const) {
      for (const mode of ['auto', 'on', 'off'] as const) {
        const r: Reading = { ...typical(), why, mode };
        roundTrip(encodeReading(r), { type: 'R', ...r } as ReadingFrame);
      }
    }
    for (let b = 0; b < 12; b++) {
      const r: Reading = { ...typical(), flt: 1 << b };
      const line = encodeReading(r);
      assert.ok(line.includes(`,flt=${(1 << b).toString(16).toUpperCase().padStart(4, '0')},`), line);
      roundTrip(line, { type: 'R', ...r } as ReadingFrame);
    }
  });

  it('rounds to each unit\'s decimals', () => {
    const r: Reading = {
      ...typical(), up: 1.23456, bv: 12.34567, ba: -0.123456, bw: 99.999, bahi: 0.000049, bwho: 7.00051,
    };
    const line = encodeReading(r);
    for (const f of ['up=1.235', 'bv=12.346', 'ba=-0.1235', 'bw=100.00', 'bahi=0.0000', 'bwho=7.001']) {
      assert.ok(line.includes(`,${f},`) || line.includes(`,${f}*`), `${f} in ${line}`);
    }
    const d = decodeOk(line) as ReadingFrame;
    assert.equal(d.bv, 12.346);
    assert.equal(d.ba, -0.1235);
    assert.equal(d.bw, 100);
  });

  it('never sends NaN, Infinity or -0, and sends unrepresentable values as null', () => {
    const r: Reading = {
      ...typical(), bv: NaN, ba: Infinity, bw: -Infinity, lv: 40.0006, la: -250.00004, lw: 10000.006, sv: -0.0004,
      bahi: -0.00004, baho: -1, bwhi: 1e9 + 1, bwho: 1e21, lahi: -0,
    };
    const line = encodeReading(r);
    assert.ok(!/NaN|Infinity|e\+|-0\.0+[,*]/.test(line), line);
    const d = decodeOk(line) as ReadingFrame;
    assert.equal(d.bv, null);
    assert.equal(d.ba, null);
    assert.equal(d.bw, null);
    assert.equal(d.lv, null); // 40.0006 rounds to 40.001, above 40
    assert.equal(d.la, -250); // -250.00004 rounds to -250.0000, inside
    assert.equal(d.lw, null);
    assert.ok(line.includes(',sv=0.000,'), line);
    assert.ok(Object.is(d.sv, 0));
    assert.ok(line.includes(',bahi=0.0000,'), line);
    assert.equal(d.baho, null);
    assert.equal(d.bwhi, null);
    assert.equal(d.bwho, null);
    assert.ok(Object.is(d.lahi, 0));
  });

  it('decodes -0 as 0', () => {
    const d = decodeOk(frame(typicalWith('ba', '-0.0000'))) as ReadingFrame;
    assert.ok(Object.is(d.ba, 0));
  });

  it('refuses to encode what the protocol cannot carry', () => {
    const bad: Array<[string, Partial<Record<keyof Reading, unknown>>]> = [
      ['seq 0', { seq: 0 }], ['seq 1.5', { seq: 1.5 }], ['seq 2^32', { seq: 4294967296 }], ['seq NaN', { seq: NaN }],
      ['boot -1', { boot: -1 }], ['up NaN', { up: NaN }], ['up -1', { up: -1 }], ['up null', { up: null }],
      ['chg 2', { chg: 2 }], ['chg true', { chg: true }], ['why', { why: 'nope' }], ['mode', { mode: 'AUTO' }],
      ['flt reserved', { flt: 0x1000 }], ['flt negative', { flt: -1 }], ['flt fraction', { flt: 1.5 }],
    ];
    for (const [name, patch] of bad) {
      assert.throws(() => encodeReading({ ...typical(), ...patch } as Reading), /protocol/, name);
    }
  });
});

describe('protocol: events', () => {
  it('encodes the hand-written line', () => {
    assert.equal(encodeEvent({ boot: 7, up: 0.5, kind: 'boot', fw: '0.1.0+g3f2a', msg: 'Espruino 2v25 pico' }),
      frame('E,v=1,boot=7,up=0.500,kind=boot,fw=0.1.0+g3f2a,msg=Espruino 2v25 pico'));
  });

  it('round-trips every kind, with and without fw and msg', () => {
    for (const kind of ['boot', 'error', 'warn', 'info', 'saved', 'reset'] as const) {
      const plain = { boot: 0, up: 1e9, kind };
      roundTrip(encodeEvent(plain), { type: 'E', ...plain } as EventFrame);
      const full = { boot: 4294967295, up: 12.5, kind, fw: 'v1.2.3', msg: ' spaces, kept: =|\\ "q" ' };
      const expected = { type: 'E', ...full, msg: ' spaces_ kept: =|\\ "q" ' } as EventFrame;
      roundTrip(encodeEvent(full), expected);
    }
  });

  it('replaces forbidden characters in text and trims it to 120', () => {
    assert.equal(sanitizeText('a$b*c,d\te\nf\u00e9g\ud800h\x7f'), 'a_b_c_d_e_f_g_h_');
    const long = 'x'.repeat(200);
    const line = encodeEvent({ boot: 1, up: 1, kind: 'info', msg: long });
    const d = decodeOk(line) as EventFrame;
    assert.equal(d.msg, 'x'.repeat(120));
    // Text made only of forbidden characters still goes out, as underscores.
    assert.equal((decodeOk(encodeEvent({ boot: 1, up: 1, kind: 'warn', msg: '$$**,,' })) as EventFrame).msg, '______');
  });

  it('omits an empty msg', () => {
    const line = encodeEvent({ boot: 1, up: 1, kind: 'info', msg: '' });
    assert.ok(!line.includes('msg='), line);
  });

  it('refuses a bad kind, fw or uptime', () => {
    assert.throws(() => encodeEvent({ boot: 1, up: 1, kind: 'oops' as 'info' }), /kind/);
    assert.throws(() => encodeEvent({ boot: 1, up: 1, kind: 'info', fw: '1.0 beta' }), /fw/);
    assert.throws(() => encodeEvent({ boot: 1, up: 1, kind: 'info', fw: '' }), /fw/);
    assert.throws(() => encodeEvent({ boot: 1, up: Infinity, kind: 'info' }), /up/);
  });
});

describe('protocol: commands', () => {
  it('encodes the hand-written lines, arguments in the fixed order', () => {
    assert.equal(encodeCommand({ id: 9, cmd: 'set', period: 2, sup: 12.5, bon: 12 }), frame('C,v=1,id=9,cmd=set,bon=12,sup=12.5,period=2'));
    assert.equal(encodeCommand({ id: 10, cmd: 'force', mode: 'off', for: 3600 }), frame('C,v=1,id=10,cmd=force,mode=off,for=3600'));
    assert.equal(encodeCommand({ id: 11, cmd: 'reset-energy' }), frame('C,v=1,id=11,cmd=reset-energy'));
  });

  it('round-trips every command and the edges of every argument', () => {
    const commands: CommandFrame[] = [
      { type: 'C', id: 1, cmd: 'status' },
      { type: 'C', id: 4294967295, cmd: 'get' },
      { type: 'C', id: 3, cmd: 'save' },
      { type: 'C', id: 4, cmd: 'reset-energy' },
      { type: 'C', id: 5, cmd: 'set', bon: 10, boff: 15, sdn: 0, sup: 30, dwell: 0, period: 0.1 },
      { type: 'C', id: 6, cmd: 'set', bon: 14.999, boff: 15, dwell: 86400, period: 3600 },
      { type: 'C', id: 7, cmd: 'set', sdn: 9.875 },
      { type: 'C', id: 8, cmd: 'set', period: 0.25 },
      { type: 'C', id: 9, cmd: 'force', mode: 'on', for: 1 },
      { type: 'C', id: 10, cmd: 'force', mode: 'off', for: 604800 },
      { type: 'C', id: 11, cmd: 'force', mode: 'on', for: 90.5 },
      { type: 'C', id: 12, cmd: 'force', mode: 'auto' },
    ];
    for (const c of commands) roundTrip(encodeCommand(c), c);
  });

  it('refuses to encode a command the decoder would reject', () => {
    assert.throws(() => encodeCommand({ id: 0, cmd: 'status' }), /id/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'set' }), /missing_field/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'set', bon: 14, boff: 13 }), /bad_value/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'set', bon: NaN }), /bad_value/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'set', period: 0.05 }), /out_of_range/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'force', mode: 'on' }), /missing_field/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'force', mode: 'auto', for: 5 }), /bad_value/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'bogus' } as never), /bad_value/);
    assert.throws(() => encodeCommand({ id: 1, cmd: 'status', mode: 'on' } as never), /bad_value/);
  });
});

describe('protocol: replies', () => {
  it('encodes the hand-written lines', () => {
    assert.equal(encodeReply({ id: 9, ok: 1, data: { bon: 12, boff: 14.25, fw: 'v1', last: null } }),
      frame('A,v=1,id=9,ok=1,bon=12,boff=14.25,fw=v1,last=-'));
    assert.equal(encodeReply({ id: 9, ok: 0, err: 'bad_value', msg: 'bon 14 must be below boff 13' }),
      frame('A,v=1,id=9,ok=0,err=bad_value,msg=bon 14 must be below boff 13'));
  });

  it('round-trips success with data, failure with err and msg, and the id range', () => {
    const replies: ReplyFrame[] = [
      { type: 'A', id: 1, ok: 1 },
      { type: 'A', id: 0, ok: 1, msg: 'saved' },
      { type: 'A', id: 4294967295, ok: 0, err: 'storage' },
      { type: 'A', id: 5, ok: 0, err: 'out_of_range', msg: 'field bon: 9 outside 10..15', data: { bon: 9 } },
      { type: 'A', id: 6, ok: 1, data: { bon: 12, boff: 14.012, neg: -3.5, zero: 0, none: null, mode: 'auto', ver: '1.2.3', t: 'a:b/c+d' } },
      { type: 'A', id: 7, ok: 1, data: { tiny: 1.5e-7, big: 123456789012 } },
    ];
    for (const r of replies) roundTrip(encodeReply(r), r);
  });

  it('refuses inconsistent or unrepresentable replies', () => {
    assert.throws(() => encodeReply({ id: 1, ok: 0 }), /err/);
    assert.throws(() => encodeReply({ id: 1, ok: 1, err: 'x' }), /err/);
    assert.throws(() => encodeReply({ id: 1, ok: 2 as 1 }), /ok/);
    assert.throws(() => encodeReply({ id: 1, ok: 0, err: 'not a token' }), /err/);
    assert.throws(() => encodeReply({ id: 1, ok: 1, data: { id: 3 } }), /data/);
    assert.throws(() => encodeReply({ id: 1, ok: 1, data: { Bad: 3 } }), /data/);
    assert.throws(() => encodeReply({ id: 1, ok: 1, data: { s: '12' } }), /non-numeric token/);
    assert.throws(() => encodeReply({ id: 1, ok: 1, data: { s: '-' } }), /non-numeric token/);
    assert.throws(() => encodeReply({ id: 1, ok: 1, data: { s: 'two words' } }), /non-numeric token/);
    const many: Record<string, number> = {};
    for (let i = 0; i < 60; i++) many[`key${i}`] = 1000 + i;
    assert.throws(() => encodeReply({ id: 1, ok: 1, data: many }), /exceeds 512/);
  });

  it('sends non-finite data as null', () => {
    const d = decodeOk(encodeReply({ id: 1, ok: 1, data: { a: NaN, b: Infinity } })) as ReplyFrame;
    assert.deepStrictEqual(d.data, { a: null, b: null });
  });
});

describe('protocol: decoding what surrounds a frame', () => {
  const line = frame(TYPICAL_BODY);
  const expected = { type: 'R', ...typical() };

  it('ignores console prompts, echo and half lines before the last $', () => {
    for (const prefix of ['>', '> ', '\x1b[J>', '=undefined ', '$R,v=1,seq=4', 'garbage $$ more', '\x00\xff\u2603 ', '*ABCDEF12 ']) {
      assert.deepStrictEqual(decodeOk(prefix + line), expected, JSON.stringify(prefix));
    }
  });

  it('tolerates CRLF, LF and a lone CR at the end', () => {
    for (const end of ['\r\n', '\n', '\r']) assert.deepStrictEqual(decodeOk(line + end), expected);
  });

  it('accepts any field order after v and keeps unknown keys', () => {
    const parts = TYPICAL_BODY.split(',');
    const shuffled = [parts[0], parts[1], ...parts.slice(2).reverse(), 'zz=1.5', 'note=ok:ready', 'gone=-', 'neg=-0'];
    const d = decodeOk(frame(shuffled.join(','))) as ReadingFrame;
    assert.deepStrictEqual(d, { ...expected, extra: { zz: 1.5, note: 'ok:ready', gone: null, neg: 0 } });
    const ev = decodeOk(frame('E,v=1,msg=hi,kind=info,future_key=42,up=1.000,boot=3')) as EventFrame;
    assert.deepStrictEqual(ev, { type: 'E', boot: 3, up: 1, kind: 'info', msg: 'hi', extra: { future_key: 42 } });
  });

  it('keeps keys that collide with Object.prototype names as plain data', () => {
    const d = decodeOk(frame('A,v=1,id=1,ok=1,constructor=1,hasownproperty=x,tostring=-')) as ReplyFrame;
    assert.deepStrictEqual(d, { type: 'A', id: 1, ok: 1, data: { constructor: 1, hasownproperty: 'x', tostring: null } });
  });

  it('accepts a line of exactly 512 characters and rejects 513', () => {
    const pad = (n: number): string => '>'.repeat(n - line.length);
    assert.equal(decodeLine(pad(512) + line).ok, true);
    assert.equal(decodeLine(pad(512) + line + '\r\n').ok, true);
    assert.equal(decodeFail(pad(513) + line).reason, 'too_long');
  });
});

describe('protocol: every reject reason', () => {
  const seen = new Set<RejectReason>();
  const good = frame(TYPICAL_BODY);

  function expectReject(line: string, reason: RejectReason, detail?: RegExp): DecodeFailure {
    const r = decodeFail(line);
    assert.equal(r.reason, reason, `${JSON.stringify(line)}: ${r.detail}`);
    assert.ok(typeof r.detail === 'string' && r.detail.length > 0 && r.detail.length < 200);
    if (detail) assert.match(r.detail, detail);
    seen.add(r.reason);
    return r;
  }

  it('empty', () => {
    for (const l of ['', ' ', '\t \t', '\r\n', '\n', '\r']) expectReject(l, 'empty');
  });

  it('noise', () => {
    for (const l of ['>', 'hello world', 'R,v=1,seq=1*00000000', bodyOf(good) + '*' + refCrc(bodyOf(good)), '\x00\x01']) {
      expectReject(l, 'noise');
    }
  });

  it('too_long', () => {
    expectReject('x'.repeat(513), 'too_long', /513/);
    expectReject(' '.repeat(513), 'too_long');
    expectReject('>'.repeat(600) + good, 'too_long');
    expectReject('$'.repeat(1_000_000), 'too_long');
  });

  it('truncated', () => {
    for (let cut = 1; cut <= 10; cut++) expectReject(good.slice(0, good.length - cut), 'truncated');
    expectReject(good.slice(0, 40), 'truncated');
    expectReject('$', 'truncated');
    expectReject(good + ' ', 'truncated');
    expectReject(good + 'X', 'truncated');
    expectReject(good.slice(0, -8) + 'GGGGGGGG', 'truncated');
    expectReject(good.slice(0, -9) + '-' + good.slice(-8), 'truncated');
  });

  it('bad_crc', () => {
    const body = bodyOf(good);
    const crc = refCrc(body);
    const wrong = ((parseInt(crc, 16) ^ 1) >>> 0).toString(16).toUpperCase().padStart(8, '0');
    expectReject(`$${body}*${wrong}`, 'bad_crc', new RegExp(wrong));
    // The right CRC in lowercase is still refused: one canonical spelling.
    if (/[A-F]/.test(crc)) expectReject(`$${body}*${crc.toLowerCase()}`, 'bad_crc', /uppercase/);
    expectReject(`$${body.replace('seq=42', 'seq=43')}*${crc}`, 'bad_crc');
    expectReject(`$${body}x*${crc}`, 'bad_crc');
  });

  it('bad_version', () => {
    for (const v of ['2', '0', '1.0', '01', 'x']) {
      expectReject(frame(TYPICAL_BODY.replace('v=1', `v=${v}`)), 'bad_version', /version/);
    }
    // A future version is refused before its (possibly new) type is judged.
    expectReject(frame('Z,v=2,anything'), 'bad_version');
  });

  it('missing v', () => {
    expectReject(frame('R'), 'missing_field', /\bv\b/);
    expectReject(frame(TYPICAL_BODY.replace('v=1,', '')), 'missing_field', /\bv\b/);
    expectReject(frame(TYPICAL_BODY.replace('v=1,seq=42', 'seq=42,v=1')), 'missing_field', /\bv\b/);
  });

  it('unknown_type', () => {
    for (const t of ['X', 'r', 'RR', '', ' R', 'Q']) expectReject(frame(`${t},v=1,seq=1`), 'unknown_type');
  });

  it('malformed', () => {
    expectReject(frame(TYPICAL_BODY + ',noequals'), 'malformed', /no =/);
    expectReject(frame(TYPICAL_BODY + ','), 'malformed');
    expectReject(frame(TYPICAL_BODY + ',Bad=1'), 'malformed', /key/);
    expectReject(frame(TYPICAL_BODY + ',1a=1'), 'malformed', /key/);
    expectReject(frame(TYPICAL_BODY + ',a-b=1'), 'malformed', /key/);
    expectReject(frame(TYPICAL_BODY + ',_a=1'), 'malformed', /key/);
    expectReject(frame(TYPICAL_BODY + ',=1'), 'malformed', /key/);
    expectReject(frame(typicalWith('bv', '')), 'malformed', /bv.*empty/);
    expectReject(frame(TYPICAL_BODY + ',msg=a*b'), 'malformed', /\*/);
    expectReject(frame(TYPICAL_BODY + ',msg=tab\there'), 'malformed', /character/);
    expectReject(frame(TYPICAL_BODY + ',msg=caf\u00e9'), 'malformed', /character/);
    expectReject(frame(TYPICAL_BODY + ',msg=del\x7f'), 'malformed', /character/);
    const r = decodeLine(null as unknown as string);
    assert.equal(r.ok, false);
    assert.equal((r as DecodeFailure).reason, 'malformed');
  });

  it('missing_field: every required field of every frame type', () => {
    for (const k of R_REQUIRED) expectReject(frame(typicalWith(k, null)), 'missing_field', new RegExp(`\\b${k}\\b`));
    const ev = 'E,v=1,boot=1,up=2.000,kind=info';
    for (const k of ['boot', 'up', 'kind']) {
      expectReject(frame(ev.split(',').filter((p) => !p.startsWith(k + '=')).join(',')), 'missing_field', new RegExp(k));
    }
    expectReject(frame('C,v=1,cmd=status'), 'missing_field', /id/);
    expectReject(frame('C,v=1,id=1'), 'missing_field', /cmd/);
    expectReject(frame('A,v=1,ok=1'), 'missing_field', /id/);
    expectReject(frame('A,v=1,id=1'), 'missing_field', /ok/);
    expectReject(frame('A,v=1,id=1,ok=0,msg=no'), 'missing_field', /err/);
  });

  it('duplicate_field', () => {
    expectReject(frame(TYPICAL_BODY + ',seq=43'), 'duplicate_field', /seq/);
    expectReject(frame(TYPICAL_BODY + ',v=1'), 'duplicate_field', /\bv\b/);
    expectReject(frame(TYPICAL_BODY + ',zz=1,zz=1'), 'duplicate_field', /zz/);
    expectReject(frame('C,v=1,id=1,cmd=status,cmd=status'), 'duplicate_field', /cmd/);
  });

  it('bad_value: syntax of every kind of field', () => {
    const cases: Array<[string, string]> = [
      ['bv', 'abc'], ['bv', '1e3'], ['bv', '+1'], ['bv', 'NaN'], ['bv', 'Infinity'], ['bv', '.5'], ['bv', '5.'],
      ['bv', '1.2.3'], ['bv', '--1'], ['bv', ' 12'], ['bv', '0x10'], ['ba', '1x'],
      ['seq', '1.5'], ['seq', '-'], ['seq', '-1'], ['seq', '+1'], ['boot', '1e3'], ['up', '-'], ['up', 'soon'],
      ['chg', '2'], ['chg', 'on'], ['chg', '-'], ['why', 'nope'], ['why', 'RELEASED'], ['why', '-'],
      ['mode', 'AUTO'], ['mode', 'forced'], ['flt', '0fff'], ['flt', 'FFF'], ['flt', '0FFFF'], ['flt', '-'],
      ['flt', 'G000'], ['bahi', 'lots'],
    ];
    for (const [k, v] of cases) expectReject(frame(typicalWith(k, v)), 'bad_value', new RegExp(`field ${k}`));
    expectReject(frame('E,v=1,boot=1,up=1,kind=panic'), 'bad_value', /kind/);
    expectReject(frame('E,v=1,boot=1,up=1,kind=info,fw=1.0 beta'), 'bad_value', /fw/);
    expectReject(frame(TYPICAL_BODY + ',note=free text'), 'bad_value', /note/);
    expectReject(frame('A,v=1,id=1,ok=1,err=x'), 'bad_value', /err/);
    expectReject(frame('A,v=1,id=1,ok=2'), 'bad_value', /ok/);
    expectReject(frame('A,v=1,id=1,ok=0,err=no way'), 'bad_value', /err/);
    expectReject(frame('A,v=1,id=x,ok=1'), 'bad_value', /id/);
    expectReject(frame('A,v=1,id=1,ok=1,data=a=b'), 'bad_value', /data/);
  });

  it('out_of_range: just outside both ends of every range, naming key and value', () => {
    const cases: Array<[string, string, string]> = [
      ['bv', '-0.001', '0..40'], ['bv', '40.001', '0..40'], ['lv', '41', '0..40'], ['sv', '-1', '0..40'],
      ['ba', '-250.0001', '-250..250'], ['ba', '-300', '-250..250'], ['la', '250.0001', '-250..250'],
      ['bw', '-10000.01', '-10000..10000'], ['lw', '10000.01', '-10000..10000'],
      ['up', '-0.001', '0..1000000000'], ['up', '1000000000.001', '0..1000000000'],
      ['seq', '0', '1..4294967295'], ['seq', '4294967296', '1..4294967295'], ['boot', '4294967296', '0..4294967295'],
      ['bv', '1' + '0'.repeat(40), '0..40'],
    ];
    for (const k of ['bahi', 'baho', 'bwhi', 'bwho', 'lahi', 'laho', 'lwhi', 'lwho']) {
      cases.push([k, '-0.0001', '0..1000000000'], [k, '1000000000.0001', '0..1000000000']);
    }
    for (const [k, v, range] of cases) {
      const detail = `field ${k}: ${v.length > 24 ? v.slice(0, 24) + '...' : v} outside ${range}`;
      assert.equal(expectReject(frame(typicalWith(k, v)), 'out_of_range').detail, detail);
    }
    assert.equal(expectReject(frame(typicalWith('ba', '-300')), 'out_of_range').detail, 'field ba: -300 outside -250..250');
  });

  it('out_of_range: optional fields, reserved fault bits, huge extras', () => {
    const withSolar = TYPICAL_BODY.replace(',chg=', ',sa=251,sw=0,chg=');
    expectReject(frame(withSolar), 'out_of_range', /field sa: 251/);
    for (const flt of ['1000', '8000', 'F000', 'FFFF']) expectReject(frame(typicalWith('flt', flt)), 'out_of_range', /reserved/);
    expectReject(frame('E,v=1,boot=1,up=1,kind=info,zz=1' + '0'.repeat(320)), 'out_of_range', /zz/);
    expectReject(frame('E,v=1,boot=4294967296,up=1,kind=info'), 'out_of_range', /boot/);
    expectReject(frame('A,v=1,id=4294967296,ok=1'), 'out_of_range', /id/);
  });

  it('produced every reason', () => {
    assert.deepStrictEqual([...seen].sort(), [...ALL_REASONS].sort());
  });
});

describe('protocol: command validation', () => {
  function bad(input: unknown, reason: RejectReason, detail: RegExp): void {
    const r = validateCommand(input);
    assert.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) {
      assert.equal(r.reason, reason, `${JSON.stringify(input)}: ${r.detail}`);
      assert.match(r.detail, detail);
    }
  }

  it('accepts and normalizes valid commands, numbers given as numbers or decimal strings', () => {
    assert.deepStrictEqual(validateCommand({ cmd: 'status' }), { ok: true, command: { cmd: 'status' } });
    assert.deepStrictEqual(validateCommand({ cmd: 'set', bon: '12.0', boff: 14.2, period: '5' }),
      { ok: true, command: { cmd: 'set', bon: 12, boff: 14.2, period: 5 } });
    assert.deepStrictEqual(validateCommand({ cmd: 'force', mode: 'on', for: '600' }),
      { ok: true, command: { cmd: 'force', mode: 'on', for: 600 } });
    assert.deepStrictEqual(validateCommand({ cmd: 'force', mode: 'auto', for: undefined }),
      { ok: true, command: { cmd: 'force', mode: 'auto' } });
  });

  it('rejects what is not a command object', () => {
    for (const x of [null, undefined, 5, 'status', true]) bad(x, 'malformed', /object/);
    bad({}, 'missing_field', /cmd/);
    bad([], 'missing_field', /cmd/);
    bad({ cmd: 'reboot' }, 'bad_value', /cmd/);
    bad({ cmd: 5 }, 'bad_value', /cmd/);
    bad({ cmd: 'STATUS' }, 'bad_value', /cmd/);
  });

  it('rejects arguments a command does not take', () => {
    bad({ cmd: 'status', bon: 12 }, 'bad_value', /status does not take bon/);
    bad({ cmd: 'get', mode: 'on' }, 'bad_value', /get does not take mode/);
    bad({ cmd: 'save', for: 5 }, 'bad_value', /save does not take for/);
    bad({ cmd: 'reset-energy', all: 1 }, 'bad_value', /reset-energy does not take all/);
    bad({ cmd: 'set', bon: 12, mode: 'on' }, 'bad_value', /set does not take mode/);
    bad({ cmd: 'force', mode: 'on', for: 5, bon: 12 }, 'bad_value', /force does not take bon/);
    bad({ cmd: 'status', 'a,b': 1 }, 'bad_value', /does not take/);
    bad({ cmd: 'status', id: 1 }, 'bad_value', /does not take id/);
  });

  it('set: needs an argument, each in its range and a number', () => {
    bad({ cmd: 'set' }, 'missing_field', /at least one/);
    const ranges: Array<[string, number, number]> = [
      ['bon', 10, 15], ['boff', 10, 15], ['sdn', 0, 30], ['sup', 0, 30], ['dwell', 0, 86400], ['period', 0.1, 3600],
    ];
    for (const [k, lo, hi] of ranges) {
      assert.equal(validateCommand({ cmd: 'set', [k]: lo }).ok, true, `${k}=${lo}`);
      assert.equal(validateCommand({ cmd: 'set', [k]: hi }).ok, true, `${k}=${hi}`);
      const below = lo === 0 ? -0.001 : lo - lo / 1000;
      bad({ cmd: 'set', [k]: below }, 'out_of_range', new RegExp(`field ${k}: .* outside ${lo}\\.\\.${hi}`));
      bad({ cmd: 'set', [k]: hi + 0.001 }, 'out_of_range', new RegExp(`field ${k}`));
      bad({ cmd: 'set', [k]: String(hi + 1) }, 'out_of_range', new RegExp(`field ${k}`));
      for (const junk of ['abc', '', '1e3', '+12', NaN, true, null, {}, [12]]) {
        bad({ cmd: 'set', [k]: junk }, 'bad_value', new RegExp(`field ${k}`));
      }
    }
    bad({ cmd: 'set', bon: Infinity }, 'out_of_range', /bon/);
  });

  it('set: bon below boff and sdn below sup, with a message saying which', () => {
    bad({ cmd: 'set', bon: 14, boff: 13 }, 'bad_value', /bon 14 must be below boff 13/);
    bad({ cmd: 'set', bon: 13, boff: 13 }, 'bad_value', /bon 13 must be below boff 13/);
    bad({ cmd: 'set', sdn: 12, sup: 10 }, 'bad_value', /sdn 12 must be below sup 10/);
    bad({ cmd: 'set', sdn: 5, sup: 5 }, 'bad_value', /sdn/);
    // One of a pair alone is fine: the MCU checks it against its stored partner.
    assert.equal(validateCommand({ cmd: 'set', bon: 14.9 }).ok, true);
    assert.equal(validateCommand({ cmd: 'set', sup: 0 }).ok, true);
  });

  it('force: mode required, for required for on/off and forbidden for auto', () => {
    bad({ cmd: 'force' }, 'missing_field', /mode/);
    bad({ cmd: 'force', for: 5 }, 'missing_field', /mode/);
    bad({ cmd: 'force', mode: 'maybe', for: 5 }, 'bad_value', /mode/);
    bad({ cmd: 'force', mode: 'on' }, 'missing_field', /force on needs for/);
    bad({ cmd: 'force', mode: 'off' }, 'missing_field', /force off needs for/);
    bad({ cmd: 'force', mode: 'auto', for: 60 }, 'bad_value', /auto takes no for/);
    bad({ cmd: 'force', mode: 'on', for: 0 }, 'out_of_range', /field for: 0 outside 1\.\.604800/);
    bad({ cmd: 'force', mode: 'on', for: 604801 }, 'out_of_range', /for/);
    bad({ cmd: 'force', mode: 'on', for: 'later' }, 'bad_value', /for/);
  });

  it('applies the same rules to C frames, and names the id so the MCU can answer', () => {
    const cases: Array<[string, RejectReason, RegExp]> = [
      ['C,v=1,id=77,cmd=set', 'missing_field', /at least one/],
      ['C,v=1,id=77,cmd=set,bon=14,boff=13', 'bad_value', /bon 14 must be below boff 13/],
      ['C,v=1,id=77,cmd=set,sdn=20,sup=10', 'bad_value', /sdn/],
      ['C,v=1,id=77,cmd=set,period=0', 'out_of_range', /period/],
      ['C,v=1,id=77,cmd=set,dwell=-', 'bad_value', /dwell/],
      ['C,v=1,id=77,cmd=force,mode=on', 'missing_field', /for/],
      ['C,v=1,id=77,cmd=force,mode=auto,for=9', 'bad_value', /for/],
      ['C,v=1,id=77,cmd=status,bon=12', 'bad_value', /status does not take bon/],
      ['C,v=1,id=77,cmd=status,future=1', 'bad_value', /future/],
      ['C,v=1,id=77,cmd=launch', 'bad_value', /cmd/],
    ];
    for (const [body, reason, detail] of cases) {
      const r = decodeFail(frame(body));
      assert.equal(r.reason, reason, `${body}: ${r.detail}`);
      assert.match(r.detail, detail);
      assert.equal(r.type, 'C');
      assert.equal(r.id, 77);
    }
    const noId = decodeFail(frame('C,v=1,id=0,cmd=status'));
    assert.equal(noId.reason, 'out_of_range');
    assert.equal(noId.id, undefined);
  });
});

describe('protocol: decodeLine never throws', () => {
  it('on odd inputs', () => {
    const odd: unknown[] = [
      undefined, null, 0, {}, [], '$', '*', '$*', '$*00000000', '$$$$$$$$$$', '**********', '\ud800', '\udfff$\ud800',
      '$R,v=1*' + refCrc('R,v=1'), '$A,v=1*' + refCrc('A,v=1'), '$C,v=1*' + refCrc('C,v=1'), '$E,v=1*' + refCrc('E,v=1'),
      frame('R,v=1,,,,'), frame(',v=1'), frame('R,v='), frame('R,v=1,='), frame('R,v=1,a=='), 'x'.repeat(10_000_000),
    ];
    for (const x of odd) {
      const r = decodeLine(x as string);
      assert.equal(r.ok, false, JSON.stringify(x)?.slice(0, 50));
      if (!r.ok) assert.ok(ALL_REASONS.includes(r.reason), r.reason);
    }
  });

  it('when the CRC function throws', () => {
    const r = decodeLine(frame(TYPICAL_BODY), () => { throw new Error('boom'); });
    assert.equal(r.ok, false);
  });
});

describe('protocol: LineSplitter', () => {
  function collect(max: number): { lines: string[]; overflows: number; s: LineSplitter } {
    const out = { lines: [] as string[], overflows: 0, s: null as unknown as LineSplitter };
    out.s = new LineSplitter(max, (l) => out.lines.push(l), () => { out.overflows++; });
    return out;
  }

  // max 16. Written out by hand: which lines come out and which overflow.
  const MAX = 16;
  const STREAM = 'abc\n' + '\r\n' + 'de\r\n' + '\n' + 'x'.repeat(16) + '\r\n' + 'y'.repeat(16) + '\n'
    + 'z'.repeat(17) + '\n' + 'w'.repeat(16) + '\r\r\n' + 'q'.repeat(40) + '\r\n' + 'r'.repeat(15) + '\r\r\n'
    + 'mid\rcr\n' + 'tail\r\n' + 'partial';
  const LINES = ['abc', '', 'de', '', 'x'.repeat(16), 'y'.repeat(16), 'r'.repeat(15) + '\r', 'mid\rcr', 'tail'];
  const OVERFLOWS = 3; // z×17, w×16 plus a kept \r, q×40

  it('splits a whole stream', () => {
    const c = collect(MAX);
    c.s.push(STREAM);
    assert.deepStrictEqual(c.lines, LINES);
    assert.equal(c.overflows, OVERFLOWS);
    assert.equal(c.s.bufferedLength(), 'partial'.length);
    c.s.push('\n');
    assert.deepStrictEqual(c.lines.slice(-1), ['partial']);
  });

  it('gives the same result for a split at every position and every pair of positions', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      const c = collect(MAX);
      c.s.push(STREAM.slice(0, i));
      assert.ok(c.s.bufferedLength() <= MAX);
      c.s.push(STREAM.slice(i));
      assert.deepStrictEqual(c.lines, LINES, `split at ${i}`);
      assert.equal(c.overflows, OVERFLOWS, `split at ${i}`);
    }
    for (let i = 0; i <= STREAM.length; i++) {
      for (let j = i; j <= STREAM.length; j++) {
        const c = collect(MAX);
        c.s.push(STREAM.slice(0, i));
        c.s.push(STREAM.slice(i, j));
        c.s.push(STREAM.slice(j));
        assert.deepStrictEqual(c.lines, LINES, `split at ${i}, ${j}`);
        assert.equal(c.overflows, OVERFLOWS, `split at ${i}, ${j}`);
      }
    }
  });

  it('gives the same result one character at a time, never holding more than maxLength', () => {
    const c = collect(MAX);
    for (const ch of STREAM) {
      c.s.push(ch);
      assert.ok(c.s.bufferedLength() <= MAX);
    }
    assert.deepStrictEqual(c.lines, LINES);
    assert.equal(c.overflows, OVERFLOWS);
  });

  it('accepts a full-length line whose CR and LF arrive in separate chunks', () => {
    const c = collect(8);
    c.s.push('12345678');
    c.s.push('\r');
    assert.equal(c.s.bufferedLength(), 8);
    c.s.push('\n');
    assert.deepStrictEqual(c.lines, ['12345678']);
    c.s.push('12345678\r');
    c.s.push('9\n');
    assert.deepStrictEqual(c.lines, ['12345678']);
    assert.equal(c.overflows, 1);
  });

  it('discards an endless line once, and recovers at the next newline', () => {
    const c = collect(64);
    for (let i = 0; i < 1000; i++) {
      c.s.push('#'.repeat(97));
      assert.ok(c.s.bufferedLength() <= 64);
    }
    assert.equal(c.overflows, 1);
    c.s.push('still the same line\nok\r\n');
    assert.deepStrictEqual(c.lines, ['ok']);
    assert.equal(c.overflows, 1);
  });

  it('works without an overflow callback, ignores empty chunks, and resets', () => {
    const lines: string[] = [];
    const s = new LineSplitter(4, (l) => lines.push(l));
    s.push('');
    s.push('toolong\nab');
    s.push('');
    s.reset();
    s.push('cd\n');
    assert.deepStrictEqual(lines, ['cd']);
  });

  it('feeds decodeLine from a noisy console stream', () => {
    const r1 = encodeReading(typical());
    const r2 = encodeReading({ ...typical(), seq: 43 });
    const stream = `\r\n>${r1}\r\n=undefined\r\n> echo $partial ${r2}\r\n\r\n${r1.slice(0, 50)}`;
    const results: Array<string> = [];
    const s = new LineSplitter(MAX_LINE_LENGTH, (l) => {
      const r = decodeLine(l);
      results.push(r.ok ? `R${(r.frame as ReadingFrame).seq}` : r.reason);
    });
    for (let i = 0; i < stream.length; i += 7) s.push(stream.slice(i, i + 7));
    assert.deepStrictEqual(results, ['empty', 'R42', 'noise', 'R43', 'empty']);
  });

  it('splits and decodes 20,000 readings streamed in 4 KiB chunks, none lost (speed: npm run bench)', () => {
    const lines: string[] = [];
    for (let i = 1; i <= 20000; i++) lines.push(encodeReading({ ...typical(), seq: i, ba: (i % 5000) / 100 - 25 }));
    const stream = lines.join('\r\n') + '\r\n';
    const seqs: number[] = [];
    const s = new LineSplitter(MAX_LINE_LENGTH, (l) => { const r = decodeLine(l); if (r.ok) seqs.push((r.frame as ReadingFrame).seq); });
    for (let i = 0; i < stream.length; i += 4096) s.push(stream.slice(i, i + 4096));
    assert.equal(seqs.length, 20000);
    assert.ok(seqs.every((q, i) => q === i + 1));
  });
});

describe('protocol: PROTOCOL.md', () => {
  let doc = '';
  before(() => { doc = fs.readFileSync(path.join(__dirname, '..', '..', 'protocol', 'PROTOCOL.md'), 'utf8'); });

  it('shows the worked example exactly as the encoder writes it, with a CRC zlib agrees on', () => {
    const m = /<!-- example-reading -->\s*```\s*\n(\$R,[^\n]*)\n/.exec(doc);
    assert.ok(m, 'example reading block not found');
    const line = m[1];
    assert.equal(line, encodeReading(typical()));
    assert.equal(line, frame(TYPICAL_BODY));
    const crcLine = /CRC-32 of that text is `([0-9A-F]{8})`/.exec(doc);
    assert.ok(crcLine, 'stated CRC not found');
    assert.equal(crcLine[1], refCrc(TYPICAL_BODY));
  });

  it('has every frame in its session example decode, and refused commands answered as the decoder says', () => {
    const m = /<!-- example-session -->\s*```[a-z]*\n([\s\S]*?)```/.exec(doc);
    assert.ok(m, 'session block not found');
    const lines = m[1].split('\n').filter((l) => l.includes('$'));
    let frames = 0;
    let refused = 0;
    lines.forEach((l, i) => {
      const r = decodeLine(l);
      if (r.ok) {
        frames++;
        return;
      }
      // Only a command may fail, and the next line must be the reply the MCU owes it.
      assert.equal(r.type, 'C', `${l}: ${r.reason} ${r.detail}`);
      const reply = decodeOk(lines[i + 1]) as ReplyFrame;
      assert.deepStrictEqual(reply, { type: 'A', id: r.id, ok: 0, err: r.reason, msg: r.detail });
      refused++;
    });
    assert.equal(refused, 1);
    assert.ok(frames >= 6, String(frames));
  });
});
