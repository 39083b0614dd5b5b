/** Test frames made with the protocol's own encoders. */
import { EventInfo, Reading, crc32, encodeEvent, encodeReading } from '../../../protocol';

export function reading(seq: number, boot = 7, overrides: Partial<Reading> = {}): Reading {
  return {
    seq, boot, up: 10 + seq * 1.0,
    bv: 12.5 + (seq % 100) / 1000, ba: -1.25 + (seq % 7) / 100, bw: -15.5,
    lv: 12.4, la: 1.78, lw: 22.07, sv: 18.2,
    chg: seq % 2 === 0 ? 1 : 0, why: seq % 2 === 0 ? 'sun_down' : 'released', mode: 'auto', flt: 0,
    bahi: 10.5, baho: 12.25 + seq / 10000, bwhi: 140, bwho: 155.5, lahi: 0, laho: 18, lwhi: 0, lwho: 230.25,
    ...overrides,
  } as Reading;
}

export function readingLine(seq: number, boot = 7, overrides: Partial<Reading> = {}): string {
  return encodeReading(reading(seq, boot, overrides));
}

export function eventLine(e: Partial<EventInfo> = {}): string {
  return encodeEvent({ boot: 7, up: 0.004, kind: 'boot', fw: '0.1.0', msg: 'Espruino 2v25 PICO', ...e } as EventInfo);
}

/** seq 1..n of one boot, newline-terminated. */
export function readingStream(n: number, boot = 7, from = 1): string {
  let s = '';
  for (let i = from; i < from + n; i++) s += readingLine(i, boot) + '\n';
  return s;
}

/** A frame with an extra key=value a newer firmware might send, sealed with a correct CRC. */
export function withExtraField(line: string, field: string): string {
  const body = line.slice(1, line.lastIndexOf('*')) + ',' + field;
  return '$' + body + '*' + crc32(body).toString(16).toUpperCase().padStart(8, '0');
}
