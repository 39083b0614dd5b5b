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
 *
 * T is the boot-anchored timestamp in milliseconds (write with precision=ms). A point's
 * identity is measurement + tags + T, and T is a pure function of (boot, uptime), so a
 * reading written twice (retry, replay, restart) overwrites itself. seq and boot are
 * fields (not tags: one series per boot would bloat the index) so every reading can be
 * counted and found. A value the MCU could not measure is simply absent from the point.
 * Unknown reading keys from newer firmware go to `charger` as x_<key>.
 */
import type { EventFrame, ReadingFrame } from '../../../../firmware/src/protocol';
import { CHANNELS, quantitiesOf } from '../../reading-model';
import { decodeSpooledFrame } from '../../spool/spooled-frame';

function escapeKey(s: string): string {
  // Measurement names, tag keys/values and field keys: commas, equals signs, spaces.
  let out = '';
  for (const ch of s) out += ch === ',' || ch === '=' || ch === ' ' ? '\\' + ch : ch === '\n' ? ' ' : ch;
  return out;
}

function stringField(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, ' ') + '"';
}

function floatField(x: number): string {
  // String(x) never uses an exponent for the protocol's ranges; guard anyway.
  const s = String(x);
  return /e/i.test(s) ? x.toFixed(6) : s;
}

export function readingLines(r: ReadingFrame, device: string, ts: number): string[] {
  const dev = escapeKey(device);
  const idFields = `seq=${r.seq}i,boot=${r.boot}i`;
  const byChannel: { [c: string]: string } = {};
  for (const q of quantitiesOf(r)) {
    const v = r[q.wire];
    if (v === null || v === undefined) continue;
    byChannel[q.channel] = (byChannel[q.channel] ?? '') + `${q.name}=${floatField(v as number)},`;
  }
  const out: string[] = [];
  for (const c of CHANNELS) {
    out.push(`power,channel=${c},device=${dev} ${byChannel[c] ?? ''}${idFields} ${ts}`);
  }
  let charger = `charger,device=${dev} on=${r.chg}i,reason=${stringField(r.why)},mode=${stringField(r.mode)},faults=${r.flt}i,uptime=${floatField(r.up)},${idFields}`;
  if (r.extra) {
    for (const k of Object.keys(r.extra)) {
      const v = r.extra[k];
      if (v === null) continue;
      charger += `,x_${escapeKey(k)}=${typeof v === 'number' ? floatField(v) : stringField(v)}`;
    }
  }
  out.push(`${charger} ${ts}`);
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
    if (f.type === 'R') for (const l of readingLines(f, device, rec.ts)) lines.push(l);
    else lines.push(eventLine(f, device, rec.ts));
  }
  return { lines, bad };
}
