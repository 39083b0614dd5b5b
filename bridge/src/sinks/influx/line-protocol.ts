/**
 * Spooled frames as InfluxDB line protocol. Pure.
 *
 * Designed for Grafana: one measurement per kind of thing, tags for what a panel groups
 * or filters by, fields for the numbers.
 *
 *   power,channel=battery,device=D voltage=12.734,current=-1.25,power=-15.92,
 *         charge_in=10.5,charge_out=12.25,energy_in=140,energy_out=155.5,seq=42i,boot=7i T
 *   power,channel=load,device=D …           power,channel=solar,device=D voltage=…,seq=42i,boot=7i T
 *   charger,device=D on=1i,reason="sun_down",mode="auto",faults=0i,uptime=3600.25,seq=42i,boot=7i T
 *   event,device=D,kind=boot message="…",fw="0.1.0",uptime=0.004,boot=8i T
 *   derived,device=D battery_soc=78.2,night_ok=true T     values features compute
 *
 * T is the boot-anchored timestamp in milliseconds (write with precision=ms). A point's
 * identity is measurement + tags + T, and T is a pure function of (boot, uptime), so a
 * reading written twice (retry, replay, restart) overwrites itself. seq and boot are
 * fields (not tags: one series per boot would bloat the index) so every reading can be
 * counted and found. A value the MCU could not measure is simply absent from the point.
 * Unknown reading keys from newer firmware go to `charger` as x_<key>.
 */
import type { EventFrame, ReadingFrame } from '../../../../protocol';
import { CHANNELS, QUANTITIES } from '../../reading-model';
import { SpooledFrame, decodeSpooledFrame } from '../../spool/spooled-frame';

function escapeKey(s: string): string {
  // Measurement names, tag keys/values and field keys: commas, equals signs, spaces.
  let out = '';
  for (const ch of s) out += ch === ',' || ch === '=' || ch === ' ' ? '\\' + ch : ch === '\n' ? ' ' : ch;
  return out;
}

function stringField(s: string): string {
  // Tokens (reason, mode) need no escaping: skip the three regex passes.
  if (s.indexOf('\\') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0) return '"' + s + '"';
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, ' ') + '"';
}

function floatField(x: number): string {
  // String(x) never uses an exponent for the protocol's ranges; guard anyway.
  const s = '' + x;
  return s.indexOf('e') >= 0 ? x.toFixed(6) : s;
}

/** The quantities of each channel, in QUANTITIES order (computed once, not per reading). */
const BY_CHANNEL: ReadonlyArray<{ channel: string; quantities: ReadonlyArray<{ wire: keyof ReadingFrame; prefix: string; optional: boolean }> }> =
  CHANNELS.map((c) => ({
    channel: c,
    quantities: QUANTITIES.filter((q) => q.channel === c).map((q) => ({ wire: q.wire as keyof ReadingFrame, prefix: q.name + '=', optional: q.optional === true })),
  }));

let lastDevice = '';
let lastDeviceEscaped = '';

function escapedDevice(device: string): string {
  if (device !== lastDevice || lastDeviceEscaped === '') {
    lastDevice = device;
    lastDeviceEscaped = escapeKey(device);
  }
  return lastDeviceEscaped;
}

/** Appends the 4 lines of a reading to `out` (no intermediate arrays or per-reading maps). */
function pushReadingLines(out: string[], r: ReadingFrame, dev: string, ts: number): void {
  const idFields = 'seq=' + r.seq + 'i,boot=' + r.boot + 'i ' + ts;
  for (let i = 0; i < BY_CHANNEL.length; i++) {
    const ch = BY_CHANNEL[i];
    let fields = '';
    for (let j = 0; j < ch.quantities.length; j++) {
      const q = ch.quantities[j];
      const v = r[q.wire];
      // An optional quantity the reading does not carry, or a value the MCU could not measure.
      if (v === null || v === undefined) continue;
      fields += q.prefix + floatField(v as number) + ',';
    }
    out.push('power,channel=' + ch.channel + ',device=' + dev + ' ' + fields + idFields);
  }
  let charger = 'charger,device=' + dev + ' on=' + r.chg + 'i,reason=' + stringField(r.why) + ',mode=' + stringField(r.mode) + ',faults=' + r.flt + 'i,uptime=' + floatField(r.up) + ',seq=' + r.seq + 'i,boot=' + r.boot + 'i';
  if (r.extra) {
    for (const k of Object.keys(r.extra)) {
      const v = r.extra[k];
      if (v === null) continue;
      charger += `,x_${escapeKey(k)}=${typeof v === 'number' ? floatField(v) : stringField(v)}`;
    }
  }
  out.push(charger + ' ' + ts);
}

export function readingLines(r: ReadingFrame, device: string, ts: number): string[] {
  const out: string[] = [];
  pushReadingLines(out, r, escapedDevice(device), ts);
  return out;
}

export function eventLine(e: EventFrame, device: string, ts: number): string {
  let fields = `uptime=${floatField(e.up)},boot=${e.boot}i`;
  if (e.msg !== undefined) fields += `,message=${stringField(e.msg)}`;
  if (e.fw !== undefined) fields += `,fw=${stringField(e.fw)}`;
  if (e.extra) {
    for (const k of Object.keys(e.extra)) {
      const v = e.extra[k];
      if (v === null) continue;
      fields += `,x_${escapeKey(k)}=${typeof v === 'number' ? floatField(v) : stringField(v)}`;
    }
  }
  return `event,device=${escapeKey(device)},kind=${escapeKey(e.kind)} ${fields} ${ts}`;
}

/** One point of values features computed (core/derived-values.ts); null when all are null. */
export function derivedLine(values: { readonly [key: string]: number | boolean | string | null }, device: string, ts: number): string | null {
  let fields = '';
  for (const k of Object.keys(values)) {
    const v = values[k];
    if (v === null || (typeof v === 'number' && !Number.isFinite(v))) continue;
    fields += (fields ? ',' : '') + escapeKey(k) + '=' + (typeof v === 'number' ? floatField(v) : typeof v === 'boolean' ? String(v) : stringField(v));
  }
  return fields ? `derived,device=${escapedDevice(device)} ${fields} ${ts}` : null;
}

/** Appends the lines of one spooled frame to `out`. */
export function appendRecordLines(out: string[], rec: SpooledFrame, device: string): void {
  const f = rec.frame;
  if (f.type === 'R') pushReadingLines(out, f, escapedDevice(device), rec.ts);
  else out.push(eventLine(f, device, rec.ts));
}

/** Lines for spooled payloads; `bad` counts payloads that could not be read (damaged disk). */
export function payloadLines(payloads: readonly string[], device: string): { lines: string[]; bad: number } {
  const lines: string[] = [];
  let bad = 0;
  for (const p of payloads) {
    const rec = decodeSpooledFrame(p);
    if (!rec) {
      bad++;
      continue;
    }
    const f = rec.frame;
    if (f.type === 'R') pushReadingLines(lines, f, escapedDevice(device), rec.ts);
    else lines.push(eventLine(f, device, rec.ts));
  }
  return { lines, bad };
}
