/**
 * The bridge's fast reading decoder against the protocol's decodeLine, the reference: on
 * every line where the fast path answers, decodeLine must accept the line and give the
 * same frame with its keys in the same order (the spool stores its JSON). Lines are
 * random readings from the protocol's encoder, then mutated (characters changed, dropped,
 * inserted; fields swapped, repeated, respelled) and mostly sealed again with a correct
 * CRC, so the field checks are reached and not just the CRC.
 */
import assert from 'node:assert/strict';
import { READING_FIELDS, Reading, crc32, decodeLine, encodeReading } from '../../protocol';
import { MODES, REASONS } from '../../protocol/spec';
import { fastReading } from '../../protocol/fast-reading';
import { seededRandom } from '../../simulator/random';

const SEED = Number(process.env.FAST_READING_SEED ?? 20261125);
const LINES = 200000;

function seal(body: string): string {
  return '$' + body + '*' + crc32(body).toString(16).toUpperCase().padStart(8, '0');
}

function randomReading(rnd: () => number): Reading {
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const words = (list: string): string[] => list.split('|').filter((w) => w !== '');
  const val = (lo: number, hi: number): number | null => {
    const r = rnd();
    if (r < 0.05) return null;
    if (r < 0.1) return pick([lo, hi, 0, -0, lo - 1, hi + 1, NaN]);
    return lo + rnd() * (hi - lo);
  };
  const r = {
    seq: rnd() < 0.02 ? 4294967295 : 1 + int(rnd() < 0.5 ? 1000 : 4294967294), boot: rnd() < 0.02 ? 4294967295 : int(rnd() < 0.5 ? 100 : 4294967295), up: rnd() < 0.1 ? pick([0, 1e9, 0.0005]) : rnd() * 1e6,
    chg: rnd() < 0.5 ? 1 : 0, why: pick(words(REASONS)) as Reading['why'], mode: pick(words(MODES)) as Reading['mode'],
    flt: int(0x1000),
  } as Reading;
  // Every value of the protocol's field table, over its range or a small part of it (so
  // small and large magnitudes both occur); optional ones in about a third of the lines.
  const values = r as unknown as { [key: string]: number | null };
  for (const f of READING_FIELDS) {
    if (f.optional && rnd() >= 0.3) continue;
    values[f.key] = val(f.lo, f.lo + (f.hi - f.lo) * pick([1, 1, 1e-2, 1e-5]));
  }
  return r;
}

/** A changed line, sealed again (most of the time) so it gets past the CRC. */
function mutate(line: string, rnd: () => number): string {
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const body = line.slice(1, line.lastIndexOf('*'));
  const parts = body.split(',');
  const tricky = ['-', '--', '-0', '-0.000', '0', '00', '007.5', '1.', '.5', '1e3', '+1', '12.7340000000000000001', '99999999999999999999', '4294967295',
    '4294967296', '40', '40.001', '-250', '-250.0001', '1000000000', '1000000000.001', 'sun_down', 'SUN_DOWN', 'auto', 'on', 'x', '', '0F0F', '0fff', '1000', 'F000', '12345',
    '1', '2', '=', '*', '$', ' ', '12 ', '1,2'];
  let out: string;
  switch (int(9)) {
    case 0: { // one character changed anywhere (CRC kept: mostly a CRC failure)
      const i = int(line.length);
      return line.slice(0, i) + String.fromCharCode(32 + int(95)) + line.slice(i + 1);
    }
    case 1: { // a value replaced by a tricky one
      const i = 2 + int(parts.length - 2);
      const k = parts[i].slice(0, parts[i].indexOf('=') + 1);
      parts[i] = k + pick(tricky);
      out = parts.join(',');
      break;
    }
    case 2: { // two fields swapped
      const i = 2 + int(parts.length - 2);
      const j = 2 + int(parts.length - 2);
      [parts[i], parts[j]] = [parts[j], parts[i]];
      out = parts.join(',');
      break;
    }
    case 3: // a field repeated, or one from newer firmware added
      parts.splice(2 + int(parts.length - 2), 0, rnd() < 0.5 ? parts[2 + int(parts.length - 2)] : pick(['x=1', 'temp=21.5', 'sa=1.5', 'sw=-', 'v=1']));
      out = parts.join(',');
      break;
    case 4: // a field dropped
      parts.splice(2 + int(parts.length - 2), 1);
      out = parts.join(',');
      break;
    case 5: { // a character dropped or inserted inside the body
      const i = int(body.length);
      out = rnd() < 0.5 ? body.slice(0, i) + body.slice(i + 1) : body.slice(0, i) + pick([',', '=', '-', '.', '0', '9', 'a', 'Z', '\x7f', '\t']) + body.slice(i);
      break;
    }
    case 6: // console noise around the frame, a CR, a lower-case CRC
      return pick([`> ${line}`, `$$${line}`, `${line}\r`, `${line} `, line.slice(0, -8) + line.slice(-8).toLowerCase(), `junk$${line.slice(1)}`, `$R,v=2${line.slice(6)}`]);
    case 7: // the version or type changed
      out = pick(['E', 'A', 'C', 'r', 'RR']) + body.slice(1);
      if (rnd() < 0.5) out = body.replace('v=1', pick(['v=2', 'v=01', 'v=', 'v=1.0']));
      break;
    default: // a value's spelling changed but not its number
      {
        const i = 4 + int(parts.length - 4);
        const [k, v] = [parts[i].slice(0, parts[i].indexOf('=')), parts[i].slice(parts[i].indexOf('=') + 1)];
        parts[i] = k + '=' + (v === '-' ? '-' : pick(['0' + v, v + '0', v.includes('.') ? v : v + '.0', v.replace(/^-/, '-0')]));
        out = parts.join(',');
      }
  }
  return rnd() < 0.9 ? seal(out) : '$' + out + line.slice(line.lastIndexOf('*'));
}

describe('bridge fast reading decoder', () => {
  it('agrees with the protocol decodeLine on every line it answers, and answers every canonical reading', function () {
    // 200,000 lines through both decoders: about 15 s alone, more with other work on the
    // machine. Speed is the benchmark's business (npm run bench -- protocol), not this test's.
    this.timeout(120000);
    const rnd = seededRandom(SEED);
    let fast = 0;
    let canonical = 0;
    let mutants = 0;
    let mutantsFast = 0;
    let mutantsAccepted = 0;
    for (let n = 0; n < LINES; n++) {
      const base = encodeReading(randomReading(rnd));
      const line = n % 3 === 0 ? base : mutate(base, rnd);
      const f = fastReading(line);
      const d = decodeLine(line);
      if (line === base) {
        canonical++;
        // Every reading as the firmware sends it takes the fast path.
        assert.ok(f !== null, `fast path refused a canonical reading (seed ${SEED}): ${line}`);
      } else {
        mutants++;
        if (d.ok) mutantsAccepted++;
        if (f) mutantsFast++;
      }
      if (f === null) continue;
      fast++;
      assert.ok(d.ok, `fast path accepted what decodeLine rejects (seed ${SEED}): ${JSON.stringify(line)} -> ${d.ok ? '' : d.reason + ': ' + d.detail}`);
      assert.deepEqual(f, d.frame, `different frame (seed ${SEED}): ${JSON.stringify(line)}`);
      assert.equal(JSON.stringify(f), JSON.stringify(d.frame), `different key order (seed ${SEED}): ${JSON.stringify(line)}`);
    }
    // The mutations must reach both outcomes, or the comparison above proves little.
    if (process.env.FAST_READING_STATS) console.log({ fast, canonical, mutants, mutantsAccepted, mutantsFast });
    assert.ok(canonical > LINES / 4 && fast >= canonical, `fast ${fast}, canonical ${canonical}`);
    assert.ok(mutantsAccepted > mutants / 20, `only ${mutantsAccepted} of ${mutants} mutants were valid readings`);
    assert.ok(mutantsFast > 0 && mutantsFast < mutantsAccepted, `fast path took ${mutantsFast} of ${mutantsAccepted} valid mutants`);
  });

  it('reads the same numbers as parseFloat for every spelling with up to 15 digits and beyond', () => {
    const rnd = seededRandom(SEED + 1);
    const body = (bv: string): string => `R,v=1,seq=1,boot=0,up=1.000,bv=${bv},ba=-,bw=-,lv=-,la=-,lw=-,sv=-,chg=0,why=boot,mode=auto,flt=0000,bahi=-,baho=-,bwhi=-,bwho=-,lahi=-,laho=-,lwhi=-,lwho=-`;
    for (let i = 0; i < 50000; i++) {
      const digits = 1 + Math.floor(rnd() * 20);
      let s = '';
      for (let j = 0; j < digits; j++) s += String(Math.floor(rnd() * 10));
      const dot = Math.floor(rnd() * digits);
      const v = dot === 0 ? s : s.slice(0, dot) + '.' + s.slice(dot);
      const f = fastReading(seal(body(v)));
      const x = parseFloat(v);
      if (x > 40) {
        assert.equal(f, null, v);
        continue;
      }
      assert.ok(f, v);
      assert.ok(Object.is(f.bv, x), `${v}: ${f.bv} vs ${x}`);
    }
  });
});
