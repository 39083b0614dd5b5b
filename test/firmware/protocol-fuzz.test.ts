import { strict as assert } from 'node:assert';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  Command, CommandFrame, DecodeResult, EventFrame, EventKind, ForceMode, Frame, LineSplitter, Reading,
  ReadingFrame, RejectReason, ReplyFrame, ChargerReason, SetCommand, Value,
  decodeLine, encodeCommand, encodeEvent, encodeReading, encodeReply, sanitizeText,
} from '../../protocol';
import { seededRandom } from '../../simulator/random';

// Deterministic (seeded), so a failure reproduces exactly.
const prng = seededRandom;

class Rand {
  private next: () => number;
  constructor(seed: number) { this.next = prng(seed); }
  float(): number { return this.next(); }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  /** Any UTF-16 unit, weighted toward the ones that matter to the parser. */
  char(): string {
    const k = this.int(10);
    if (k < 3) return String.fromCharCode(this.int(256)); // a raw byte as latin1
    if (k < 6) return this.pick(FRAME_ALPHABET);
    if (k < 7) return String.fromCharCode(0xd800 + this.int(0x800)); // lone surrogates
    if (k < 8) return String.fromCharCode(this.int(0x10000));
    return String.fromCharCode(32 + this.int(95));
  }
  string(maxLen: number): string {
    const n = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < n; i++) s += this.char();
    return s;
  }
  printable(maxLen: number): string {
    const n = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(32 + this.int(95));
    return s;
  }
  token(maxLen: number): string {
    const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/+-';
    let s = '';
    const n = 1 + this.int(maxLen);
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)];
    return s;
  }
}

const FRAME_ALPHABET = [...'$*,=-.0123456789ABCDEFabcdefRECAvxyz_ \r\n\t'];
const REASONS: RejectReason[] = [
  'empty', 'noise', 'too_long', 'truncated', 'bad_crc', 'bad_version', 'unknown_type',
  'malformed', 'missing_field', 'duplicate_field', 'bad_value', 'out_of_range',
];
const WHYS: ChargerReason[] = ['released', 'bat_low', 'sun_down', 'bat_low_sun_down', 'forced_on', 'forced_off',
  'floor', 'dwell', 'failsafe', 'boot'];
const MODES: ForceMode[] = ['auto', 'on', 'off'];
const KINDS: EventKind[] = ['boot', 'error', 'warn', 'info', 'saved', 'reset'];

function refCrc(body: string): string {
  return zlibCrc32(Buffer.from(body, 'latin1')).toString(16).toUpperCase().padStart(8, '0');
}

/** Calls decodeLine and turns a throw into a test failure that shows the input. */
function safeDecode(line: string): DecodeResult {
  try {
    return decodeLine(line);
  } catch (e) {
    assert.fail(`decodeLine threw ${String(e)} on ${JSON.stringify(line.slice(0, 200))}`);
  }
}

function assertRejected(r: DecodeResult, line: string): void {
  if (r.ok) assert.fail(`accepted ${JSON.stringify(line.slice(0, 200))}`);
  assert.ok(REASONS.includes(r.reason), r.reason);
  assert.ok(typeof r.detail === 'string' && r.detail.length > 0);
}

// ---------------------------------------------------------------------------
// Random valid frames. Values are drawn on each unit's decimal grid, so they survive the
// encoder's rounding exactly and the decoded frame must equal what was encoded.

function measured(r: Rand, decimals: number, lo: number, hi: number): Value {
  if (r.chance(0.08)) return null;
  if (r.chance(0.05)) return r.chance(0.5) ? lo : hi;
  const scale = 10 ** decimals;
  return Math.round((lo + r.float() * (hi - lo)) * scale) / scale;
}

function randomReading(r: Rand): Reading {
  const reading: Reading = {
    seq: 1 + r.int(4294967295), boot: r.int(4294967296), up: r.int(1e12) / 1000,
    bv: measured(r, 3, 0, 40), ba: measured(r, 4, -250, 250), bw: measured(r, 2, -10000, 10000),
    lv: measured(r, 3, 0, 40), la: measured(r, 4, -250, 250), lw: measured(r, 2, -10000, 10000),
    sv: measured(r, 3, 0, 40),
    chg: r.chance(0.5) ? 1 : 0, why: r.pick(WHYS), mode: r.pick(MODES), flt: r.int(0x1000),
    bahi: measured(r, 4, 0, 1e6), baho: measured(r, 4, 0, 1e6), bwhi: measured(r, 3, 0, 1e6), bwho: measured(r, 3, 0, 1e6),
    lahi: measured(r, 4, 0, 1e6), laho: measured(r, 4, 0, 1e6), lwhi: measured(r, 3, 0, 1e9), lwho: measured(r, 3, 0, 1e9),
  };
  if (r.chance(0.3)) {
    reading.sa = measured(r, 4, -250, 250);
    reading.sw = measured(r, 2, -10000, 10000);
  }
  return reading;
}

function randomCommand(r: Rand): Command {
  switch (r.int(4)) {
    case 0: return { cmd: r.pick(['status', 'get', 'save', 'reset-energy'] as const) };
    case 1: {
      const c: SetCommand = { cmd: 'set' };
      const bon = 10 + r.int(4000) / 1000;
      if (r.chance(0.6)) c.bon = bon;
      if (r.chance(0.6)) c.boff = bon + 0.5 + r.int(500) / 1000;
      const sdn = r.int(15000) / 1000;
      if (r.chance(0.5)) c.sdn = sdn;
      if (r.chance(0.5)) c.sup = sdn + 1 + r.int(10000) / 1000;
      if (r.chance(0.4)) c.dwell = r.int(86401);
      if (r.chance(0.4) || c.bon === undefined && c.boff === undefined && c.sdn === undefined && c.sup === undefined && c.dwell === undefined) {
        c.period = (1 + r.int(36000)) / 10;
      }
      return c;
    }
    case 2: return { cmd: 'force', mode: 'auto' };
    default: return { cmd: 'force', mode: r.pick(['on', 'off'] as const), for: 1 + r.int(604800) };
  }
}

/** A valid line and the frame it must decode to. */
function randomValid(r: Rand): { line: string; frame: Frame } {
  switch (r.int(4)) {
    case 0: {
      const reading = randomReading(r);
      return { line: encodeReading(reading), frame: { type: 'R', ...reading } as ReadingFrame };
    }
    case 1: {
      const e: EventFrame = { type: 'E', boot: r.int(4294967296), up: r.int(1e12) / 1000, kind: r.pick(KINDS) };
      if (r.chance(0.5)) e.fw = r.token(12);
      if (r.chance(0.7)) {
        // Any text at all: the encoder must make it safe, and say so by sanitizing.
        const raw = r.chance(0.5) ? r.printable(150) : r.string(150);
        const clean = sanitizeText(raw);
        if (clean.length > 0) e.msg = clean;
        return { line: encodeEvent({ ...e, msg: raw }), frame: e };
      }
      return { line: encodeEvent(e), frame: e };
    }
    case 2: {
      const c = { type: 'C', id: 1 + r.int(4294967295), ...randomCommand(r) } as CommandFrame;
      return { line: encodeCommand(c), frame: c };
    }
    default: {
      const a: ReplyFrame = { type: 'A', id: r.int(4294967296), ok: r.chance(0.5) ? 1 : 0 };
      if (a.ok === 0) a.err = r.pick(['bad_value', 'out_of_range', 'storage', 'internal']);
      if (r.chance(0.5)) a.msg = sanitizeText(r.printable(60)) || 'x';
      if (r.chance(0.6)) {
        a.data = {};
        const n = 1 + r.int(6);
        for (let i = 0; i < n; i++) {
          const k = r.pick(['bon', 'boff', 'sdn', 'sup', 'dwell', 'period', 'state', 'x1', 'long_key_name']);
          a.data[k] = r.chance(0.2) ? null : r.chance(0.3) ? 'tok_' + r.token(8) : Math.round((r.float() - 0.3) * 1e6) / 1000;
        }
      }
      return { line: encodeReply(a), frame: a };
    }
  }
}

function reencode(f: Frame): string {
  if (f.type === 'R') return encodeReading(f);
  if (f.type === 'E') return encodeEvent(f);
  if (f.type === 'C') return encodeCommand(f);
  return encodeReply(f);
}

// ---------------------------------------------------------------------------

describe('protocol fuzz: random input', () => {
  it('rejects 25,000 random lines without throwing', () => {
    const r = new Rand(0xc0ffee);
    const counts: Partial<Record<RejectReason, number>> = {};
    for (let n = 0; n < 25000; n++) {
      let line: string;
      switch (n % 5) {
        case 0: line = r.string(80); break;
        case 1: line = r.string(700); break;
        case 2: line = r.string(40) + '$' + r.string(200) + '*' + r.string(8); break;
        case 3: {
          // Frame-shaped: right start and end, random hex where the CRC goes.
          const hex = '0123456789ABCDEF';
          let crc = '';
          for (let i = 0; i < 8; i++) crc += hex[r.int(16)];
          line = '$' + r.pick(['R', 'E', 'C', 'A']) + ',v=1,' + r.printable(200) + '*' + crc;
          break;
        }
        default: line = r.printable(600);
      }
      const res = safeDecode(line);
      assertRejected(res, line);
      const reason = (res as { reason: RejectReason }).reason;
      counts[reason] = (counts[reason] ?? 0) + 1;
    }
    // The generator reaches the early checks; deep ones need a valid CRC (next test).
    for (const reason of ['noise', 'too_long', 'truncated', 'bad_crc'] as const) {
      assert.ok((counts[reason] ?? 0) > 100, `${reason}: ${JSON.stringify(counts)}`);
    }
  });

  it('parses 20,000 random bodies with a valid CRC without throwing, and only accepts what it can re-encode', () => {
    const r = new Rand(0xbeef);
    const keys = ['seq', 'boot', 'up', 'bv', 'ba', 'bw', 'lv', 'la', 'lw', 'sv', 'sa', 'sw', 'chg', 'why', 'mode', 'flt',
      'bahi', 'baho', 'bwhi', 'bwho', 'lahi', 'laho', 'lwhi', 'lwho', 'kind', 'fw', 'msg', 'id', 'cmd', 'ok', 'err',
      'bon', 'boff', 'sdn', 'sup', 'dwell', 'period', 'for', 'x', 'v'];
    const values = ['0', '1', '-', '-1', '12.5', '1e3', '40.000', '40.001', 'FFFF', '0FFF', 'auto', 'on', 'off',
      'sun_down', 'boot', 'set', 'force', 'status', 'reset-energy', 'hello world', '', '4294967296', '007', '1.', '.5',
      '-250.0001', '10000.01', '1000000000.001', '99999', '604801', '0.05', '1000'];
    const reasons: Partial<Record<RejectReason, number>> = {};
    let accepted = 0;
    for (let n = 0; n < 20000; n++) {
      const parts: string[] = [r.chance(0.9) ? r.pick(['R', 'E', 'C', 'A']) : r.token(2)];
      if (r.chance(0.95)) parts.push(r.chance(0.95) ? 'v=1' : 'v=' + r.pick(values));
      const fields = r.int(12);
      // Start from a valid frame's fields half the time, so deep checks get reached.
      if (r.chance(0.5)) {
        const valid = randomValid(r).line;
        const vparts = valid.slice(1, -9).split(',');
        parts.length = 0;
        parts.push(...vparts);
        for (let i = 0; i < 1 + r.int(3); i++) {
          const j = 2 + r.int(Math.max(1, vparts.length - 2));
          const k = r.float();
          if (k < 0.7 && parts[j]) parts[j] = `${parts[j].split('=')[0]}=${r.pick(values)}`; // same key, new value
          else if (k < 0.85) parts[j] = `${r.pick(keys)}=${r.pick(values)}`;
          else parts.splice(j, 1);
        }
      } else {
        for (let i = 0; i < fields; i++) {
          parts.push(r.chance(0.9) ? `${r.pick(keys)}=${r.chance(0.8) ? r.pick(values) : r.printable(6)}` : r.printable(8));
        }
      }
      const body = parts.join(',');
      const line = `$${body}*${refCrc(body)}`;
      const res = safeDecode(line);
      if (!res.ok) {
        assertRejected(res, line);
        reasons[res.reason] = (reasons[res.reason] ?? 0) + 1;
        continue;
      }
      accepted++;
      // Whatever the decoder accepts, the encoders must be able to say again: the same
      // data, except that measurements sent with more decimals than the unit's format
      // come back rounded to it (at most 0.005, for W), and unknown keys of R and E
      // frames, which the decoder keeps but encoders never send.
      const again = reencode(res.frame);
      const back = safeDecode(again);
      assert.ok(back.ok, `${line} -> ${again}`);
      const want: Record<string, unknown> = { ...res.frame };
      delete want.extra;
      const got = back.frame as unknown as Record<string, unknown>;
      assert.deepStrictEqual(Object.keys(got).sort(), Object.keys(want).sort(), line);
      for (const k of Object.keys(want)) {
        const a = want[k];
        const b = got[k];
        if (typeof a === 'number' && typeof b === 'number') assert.ok(Math.abs(a - b) <= 0.005 + 1e-12 * Math.abs(a), `${k}: ${a} vs ${b}`);
        else assert.deepStrictEqual(b, a, `${k} in ${line}`);
      }
      // And once said in canonical form, saying it again changes nothing.
      assert.equal(reencode(back.frame), again);
    }
    assert.ok(accepted > 500, `only ${accepted} accepted`);
    for (const reason of ['missing_field', 'duplicate_field', 'bad_value', 'out_of_range', 'malformed', 'unknown_type', 'bad_version'] as const) {
      assert.ok((reasons[reason] ?? 0) > 20, `${reason}: ${JSON.stringify(reasons)}`);
    }
  });
});

describe('protocol fuzz: mutations of valid frames', () => {
  const r = new Rand(20240611);
  const samples: Array<{ line: string; frame: Frame }> = [];
  for (let i = 0; i < 240; i++) samples.push(randomValid(r));

  /** Either rejected with a reason, or exactly the original frame: never other data. */
  function check(line: string, original: Frame): boolean {
    const res = safeDecode(line);
    if (!res.ok) {
      assertRejected(res, line);
      return false;
    }
    assert.deepStrictEqual(res.frame, original, `mutation decoded to different data: ${JSON.stringify(line)}`);
    return true;
  }

  it('round-trips every sample', () => {
    for (const s of samples) {
      assert.ok(s.line.length <= 512);
      assert.equal(s.line.slice(-8), refCrc(s.line.slice(1, -9)));
      assert.deepStrictEqual(safeDecode(s.line), { ok: true, frame: s.frame }, s.line);
    }
  });

  it('never turns 24,000 single and multiple byte mutations into different data', () => {
    let total = 0;
    let accepted = 0;
    for (const s of samples) {
      for (let m = 0; m < 100; m++) {
        let line = s.line;
        const ops = m % 10 === 9 ? 2 + r.int(3) : 1;
        let benign = true; // stays true only if every op kept the text between '$' and the end
        for (let o = 0; o < ops; o++) {
          const pos = r.int(line.length + 1);
          const at = Math.min(pos, line.length - 1);
          const before = line;
          switch (r.int(4)) {
            case 0: line = line.slice(0, at) + r.char() + line.slice(at + 1); break; // substitute
            case 1: line = line.slice(0, pos) + r.char() + line.slice(pos); break; // insert
            case 2: line = line.slice(0, at) + line.slice(at + 1); break; // delete
            default: line = line.slice(0, at) + String.fromCharCode(line.charCodeAt(at) ^ (1 << r.int(8))) + line.slice(at + 1); // bit flip
          }
          if (line !== before) benign = false;
        }
        total++;
        if (check(line, s.frame)) {
          accepted++;
          assert.ok(benign || line.endsWith(s.line) || [s.line + '\r', s.line + '\n', s.line + '\r\n'].includes(line),
            `accepted a real change: ${JSON.stringify(line)}`);
        }
      }
    }
    assert.ok(total >= 24000, String(total));
    // Almost every mutation touches the frame; the few accepted ones changed nothing or only noise.
    assert.ok(accepted < total / 20, `${accepted} of ${total} accepted`);
  });

  it('rejects every truncation at every length', () => {
    let total = 0;
    for (const s of samples) {
      for (let len = 0; len < s.line.length; len++) {
        const res = safeDecode(s.line.slice(0, len));
        assertRejected(res, s.line.slice(0, len));
        total++;
        // Cutting the front off removes the '$' (noise) or leaves a frame that is not it.
        const tail = s.line.slice(len + 1);
        if (len < s.line.length - 1) {
          const resTail = safeDecode(tail);
          assertRejected(resTail, tail);
          total++;
        }
      }
    }
    assert.ok(total > 20000, String(total));
  });

  it('accepts noise before the frame and a CR/LF after it, unchanged', () => {
    for (const s of samples) {
      for (let k = 0; k < 20; k++) {
        // Noise may contain anything, '$' included, as long as the real frame comes last.
        const noise = r.string(40);
        const end = r.pick(['', '\r', '\n', '\r\n']);
        const line = noise + s.line + end;
        if (line.length - (end === '\r\n' ? 2 : end.length) > 512) {
          assert.equal(safeDecode(line).ok, false);
          continue;
        }
        const res = safeDecode(line);
        assert.ok(res.ok, `${JSON.stringify(line)}: ${res.ok ? '' : res.reason}`);
        assert.deepStrictEqual(res.frame, s.frame);
      }
    }
  });

  it('accepts swapped fields only with a new CRC and only after v; rejects duplicated fields', () => {
    let reordered = 0;
    for (const s of samples) {
      const parts = s.line.slice(1, -9).split(',');
      if (parts.length < 4) continue;
      for (let k = 0; k < 10; k++) {
        const i = r.int(parts.length);
        let j = r.int(parts.length);
        if (j === i) j = (i + 1) % parts.length;
        const swapped = parts.slice();
        [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
        const body = swapped.join(',');
        // The old CRC no longer matches the reordered text.
        assertRejected(safeDecode(`$${body}*${s.line.slice(-8)}`), body);
        const resealed = `$${body}*${refCrc(body)}`;
        if (i >= 2 && j >= 2) {
          assert.deepStrictEqual(safeDecode(resealed), { ok: true, frame: s.frame }, resealed);
          reordered++;
        } else {
          assertRejected(safeDecode(resealed), resealed);
        }
      }
      const dupBody = [...parts, parts[2 + r.int(parts.length - 2)]].join(',');
      const dup = safeDecode(`$${dupBody}*${refCrc(dupBody)}`);
      assert.equal(dup.ok ? 'accepted' : dup.reason, 'duplicate_field', dupBody);
    }
    assert.ok(reordered > 500, String(reordered));
  });
});

describe('protocol fuzz: LineSplitter', () => {
  /** The same split done the obvious way on the whole stream. */
  function reference(stream: string, max: number): { lines: string[]; overflows: number } {
    const pieces = stream.split('\n');
    const tail = pieces.pop() as string;
    const lines: string[] = [];
    let overflows = 0;
    for (const p of pieces) {
      const line = p.endsWith('\r') ? p.slice(0, -1) : p;
      if (line.length > max) overflows++;
      else lines.push(line);
    }
    // An unfinished line is reported as soon as it cannot fit, even before its '\n'.
    if (tail.length > max + 1 || (tail.length === max + 1 && !tail.endsWith('\r'))) overflows++;
    return { lines, overflows };
  }

  it('matches the whole-stream split for 3,000 random streams in random chunks, never holding more than maxLength', () => {
    const r = new Rand(7);
    const alphabet = ['\n', '\r', '\r\n', 'a', 'b', '$', ' ', '\u00ff', '\ud800'];
    let chunksPushed = 0;
    for (let n = 0; n < 3000; n++) {
      const max = r.pick([1, 2, 3, 8, 16, 40, 512]);
      let stream = '';
      const len = r.int(n % 10 === 0 ? 3000 : 300);
      while (stream.length < len) {
        if (r.chance(0.05)) stream += 'x'.repeat(r.int(2 * max + 3)); // lines near and over the limit
        else if (r.chance(0.3)) stream += r.pick(alphabet);
        else stream += r.char();
      }
      const got: string[] = [];
      let overflows = 0;
      const s = new LineSplitter(max, (l) => got.push(l), () => { overflows++; });
      for (let i = 0; i < stream.length;) {
        const size = r.chance(0.1) ? 0 : 1 + r.int(r.chance(0.5) ? 4 : 100);
        s.push(stream.slice(i, i + size));
        chunksPushed++;
        assert.ok(s.bufferedLength() <= max, `holding ${s.bufferedLength()} > ${max}`);
        i += size;
      }
      const want = reference(stream, max);
      assert.deepStrictEqual(got, want.lines, JSON.stringify({ max, stream }));
      assert.equal(overflows, want.overflows, JSON.stringify({ max, stream }));
      for (const l of got) assert.ok(l.length <= max && !l.includes('\n'));
    }
    assert.ok(chunksPushed > 20000, String(chunksPushed));
  });
});
