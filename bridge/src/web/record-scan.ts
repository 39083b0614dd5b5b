/**
 * Reads the few values the page needs straight from a spool record's bytes, without
 * JSON.parse: a week of readings is 600,000 records and parsing each whole one is most of
 * the cost of a chart. Pure.
 *
 * A record is what spool/spooled-frame.ts writes: `{"ts":<ms>,"frame":{"type":"R",…}}`,
 * flat `"key":value` pairs whose values are numbers, null or plain tokens (the protocol's
 * values never contain quotes or backslashes; the `extra` object is flattened into the
 * same walk, which is how a key a newer firmware adds, such as `soc`, reaches the page).
 */

/** The reading keys the page charts or derives events from; index into ScannedReading.v. */
export const SCANNED_KEYS = ['bv', 'ba', 'la', 'lw', 'sv', 'sa', 'chg', 'flt', 'boot', 'soc'] as const;
export type ScannedKey = typeof SCANNED_KEYS[number];
export const KEY_INDEX: { [k in ScannedKey]: number } = Object.fromEntries(SCANNED_KEYS.map((k, i) => [k, i])) as { [k in ScannedKey]: number };

export interface ScannedReading {
  ts: number;
  /** Values by KEY_INDEX; NaN when absent or null. Reused between calls: copy what you keep. */
  v: Float64Array;
  /** The charger reason token (for events). */
  why: string;
  mode: string;
}

const Q = 0x22; // "
const TS_PREFIX = '{"ts":';
const FRAME_TYPE = ',"frame":{"type":"';

/** Milliseconds from the record's start; -1 when it is not a spooled frame. */
export function recordTs(buf: Uint8Array, start: number, end: number): number {
  let p = start + TS_PREFIX.length;
  let ts = 0;
  let digits = 0;
  while (p < end) {
    const c = buf[p];
    if (c < 0x30 || c > 0x39) break;
    ts = ts * 10 + (c - 0x30);
    digits++;
    p++;
  }
  return digits > 0 && digits < 17 && buf[p] === 0x2c ? ts : -1;
}

/** 'R', 'E' or '' for a record whose ts was at `tsEnd` (the comma after it). */
export function recordType(buf: Uint8Array, start: number, end: number): string {
  let p = start + TS_PREFIX.length;
  while (p < end && buf[p] !== 0x2c) p++;
  const t = p + FRAME_TYPE.length;
  if (t >= end) return '';
  const c = buf[t];
  return c === 0x52 ? 'R' : c === 0x45 ? 'E' : '';
}

function keyIndex(buf: Uint8Array, a: number, n: number): number {
  const c0 = buf[a];
  const c1 = n > 1 ? buf[a + 1] : 0;
  if (n === 2) {
    if (c0 === 0x62 /* b */) return c1 === 0x76 ? 0 : c1 === 0x61 ? 1 : -1;
    if (c0 === 0x6c /* l */) return c1 === 0x61 ? 2 : c1 === 0x77 ? 3 : -1;
    if (c0 === 0x73 /* s */) return c1 === 0x76 ? 4 : c1 === 0x61 ? 5 : -1;
    return -1;
  }
  if (n === 3) {
    const c2 = buf[a + 2];
    if (c0 === 0x63 && c1 === 0x68 && c2 === 0x67) return 6; // chg
    if (c0 === 0x66 && c1 === 0x6c && c2 === 0x74) return 7; // flt
    if (c0 === 0x77 && c1 === 0x68 && c2 === 0x79) return 100; // why
    if (c0 === 0x73 && c1 === 0x6f && c2 === 0x63) return 9; // soc
    return -1;
  }
  if (n === 4) {
    if (c0 === 0x62 && c1 === 0x6f && buf[a + 2] === 0x6f && buf[a + 3] === 0x74) return 8; // boot
    if (c0 === 0x6d && c1 === 0x6f && buf[a + 2] === 0x64 && buf[a + 3] === 0x65) return 101; // mode
  }
  return -1;
}

function token(buf: Uint8Array, a: number, b: number): string {
  let s = '';
  for (let i = a; i < b; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/**
 * Fills `out` from a reading record buf[start, end) whose timestamp is `ts`. Numbers are
 * parsed by hand: digits into an integer, then one division, which rounds exactly as
 * Number() would for the protocol's few decimals.
 */
export function scanReading(buf: Uint8Array, start: number, end: number, ts: number, out: ScannedReading): void {
  out.ts = ts;
  out.v.fill(NaN);
  out.why = '';
  out.mode = '';
  let p = start + TS_PREFIX.length;
  while (p < end && buf[p] !== 0x2c) p++;
  p += FRAME_TYPE.length + 2; // past R"
  while (p < end) {
    // Next key.
    while (p < end && buf[p] !== Q) p++;
    const ka = ++p;
    while (p < end && buf[p] !== Q) p++;
    const idx = keyIndex(buf, ka, p - ka);
    p += 2; // past ":
    if (p >= end) break;
    const c = buf[p];
    if (c === Q) {
      const va = ++p;
      while (p < end && buf[p] !== Q) p++;
      if (idx === 100) out.why = token(buf, va, p);
      else if (idx === 101) out.mode = token(buf, va, p);
      p++;
      continue;
    }
    if (c === 0x7b /* { nested extra: walk into it */) { p++; continue; }
    let neg = false;
    if (c === 0x2d) { neg = true; p++; }
    let int = 0;
    let scale = 1;
    let frac = false;
    let ok = false;
    while (p < end) {
      const d = buf[p];
      if (d >= 0x30 && d <= 0x39) { int = int * 10 + (d - 0x30); if (frac) scale *= 10; ok = true; p++; }
      else if (d === 0x2e && !frac) { frac = true; p++; }
      else break;
    }
    if (idx >= 0 && idx < 100 && ok) {
      // Exponent forms never occur on the wire: such a value is left out rather than misread.
      if (buf[p] === 0x65 || buf[p] === 0x45) {
        out.v[idx] = NaN;
      } else {
        const x = int / scale;
        out.v[idx] = neg ? -x : x;
      }
    }
    // null or anything else: skip to the next pair.
    while (p < end && buf[p] !== 0x2c && buf[p] !== 0x7d) p++;
  }
}

export function newScannedReading(): ScannedReading {
  return { ts: 0, v: new Float64Array(SCANNED_KEYS.length), why: '', mode: '' };
}
