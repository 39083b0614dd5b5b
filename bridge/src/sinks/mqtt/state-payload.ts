/**
 * What a reading and an event look like on MQTT. Pure.
 *
 * The JSON state (one retained message per reading) nests values by channel with units
 * in the documentation, not in the keys:
 *   {"time":"2026-01-02T03:04:05.678Z","timestamp_ms":…,"boot":7,"seq":42,"uptime_s":3600.25,
 *    "battery":{"voltage":12.734,"current":-1.25,"power":-15.92,"charge_in":10.5,…},
 *    "load":{…},"solar":{"voltage":0.412},
 *    "charger":{"on":true,"state":"ON","reason":"sun_down","mode":"auto"},
 *    "faults":{"word":"0000","names":[]}}
 * A value the MCU could not measure is null. Per-value topics carry the same values as
 * plain text (`12.734`, `ON`, `sun_down`, `null`).
 */
import { EventFrame, ReadingFrame, faultNames } from '../../../../protocol';
import { CHANNELS, quantitiesOf } from '../../reading-model';

export interface StateJson {
  time: string;
  timestamp_ms: number;
  boot: number;
  seq: number;
  uptime_s: number;
  battery: { [name: string]: number | null };
  load: { [name: string]: number | null };
  solar: { [name: string]: number | null };
  charger: { on: boolean; state: 'ON' | 'OFF'; reason: string; mode: string };
  faults: { word: string; names: string[] };
  /** Keys the protocol version of this bridge does not know (newer firmware). */
  extra?: { [key: string]: number | string | null };
}

export function faultWord(flt: number): string {
  return flt.toString(16).toUpperCase().padStart(4, '0');
}

export function readingState(r: ReadingFrame, timestampMs: number): StateJson {
  const out: StateJson = {
    time: new Date(timestampMs).toISOString(),
    timestamp_ms: timestampMs,
    boot: r.boot,
    seq: r.seq,
    uptime_s: r.up,
    battery: {},
    load: {},
    solar: {},
    charger: { on: r.chg === 1, state: r.chg === 1 ? 'ON' : 'OFF', reason: r.why, mode: r.mode },
    faults: { word: faultWord(r.flt), names: faultNames(r.flt) },
  };
  for (const q of quantitiesOf(r)) out[q.channel][q.name] = r[q.wire] as number | null;
  if (r.extra) out.extra = { ...r.extra };
  return out;
}

/** [topic path under the base, payload] for every per-value topic of a reading. */
export function readingValues(r: ReadingFrame): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const q of quantitiesOf(r)) {
    const v = r[q.wire] as number | null;
    out.push([`${q.channel}/${q.name}`, v === null ? 'null' : String(v)]);
  }
  out.push(['charger/state', r.chg === 1 ? 'ON' : 'OFF']);
  out.push(['charger/reason', r.why]);
  out.push(['charger/mode', r.mode]);
  out.push(['faults', faultWord(r.flt)]);
  return out;
}

export interface EventJson {
  time: string;
  timestamp_ms: number;
  boot: number;
  uptime_s: number;
  kind: string;
  fw?: string;
  msg?: string;
  extra?: { [key: string]: number | string | null };
}

export function eventJson(e: EventFrame, timestampMs: number): EventJson {
  const out: EventJson = { time: new Date(timestampMs).toISOString(), timestamp_ms: timestampMs, boot: e.boot, uptime_s: e.up, kind: e.kind };
  if (e.fw !== undefined) out.fw = e.fw;
  if (e.msg !== undefined) out.msg = e.msg;
  if (e.extra) out.extra = { ...e.extra };
  return out;
}

/** Channels in the state JSON, in order (documentation and tests). */
export const STATE_CHANNELS = CHANNELS;
