/**
 * The page's event list: what the MCU said (boots, errors, resets) and what the readings
 * show happened (faults raised and cleared, mains outages, threshold changes). Pure: fed
 * in time order, from the spool at start and live afterwards; keeps the newest `limit`.
 *
 * A mains outage is not measured (nothing senses the mains): it is inferred when the
 * charger has been ON for MAINS_SUSPECT_MS and the battery is still discharging, which a
 * working charger (40 A into the bank) never lets happen.
 */
import { faultWords } from './words';
import { KEY_INDEX, ScannedReading } from './scanned-reading';

export type WebEventKind = 'boot' | 'error' | 'warn' | 'reset' | 'fault' | 'fault_cleared' | 'mains_out' | 'mains_back' | 'thresholds';

export interface WebEvent {
  ts: number;
  kind: WebEventKind;
  text: string;
}

export const MAINS_SUSPECT_MS = 60000;
/** Below this battery current (A) with the charger ON, the charger is delivering nothing. */
export const DISCHARGE_A = -0.5;

const THRESHOLD_KEYS = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period'];

export type Thresholds = { [key: string]: number };

/** bon=12.2 boff=13.1 … (boot event text, or a get/set reply's data) → numbers. */
export function parseThresholds(src: string | { [k: string]: number | string | null }): Thresholds | null {
  const out: Thresholds = {};
  if (typeof src === 'string') {
    for (const part of src.split(/[ ,]+/)) {
      const eq = part.indexOf('=');
      if (eq > 0 && THRESHOLD_KEYS.includes(part.slice(0, eq))) {
        const n = Number(part.slice(eq + 1));
        if (Number.isFinite(n)) out[part.slice(0, eq)] = n;
      }
    }
  } else {
    for (const k of THRESHOLD_KEYS) if (typeof src[k] === 'number') out[k] = src[k] as number;
  }
  return Object.keys(out).length > 0 ? out : null;
}

function describeChange(before: Thresholds | null, after: Thresholds): string {
  const parts: string[] = [];
  for (const k of THRESHOLD_KEYS) {
    if (after[k] === undefined) continue;
    if (before && before[k] !== undefined && before[k] !== after[k]) parts.push(`${k} ${before[k]} → ${after[k]}`);
    else if (!before) parts.push(`${k} ${after[k]}`);
  }
  return parts.join(', ');
}

export class EventLog {
  private readonly events: WebEvent[] = [];
  private lastFlt = 0;
  private chargerOnSince = -1;
  private outage = false;
  private thresholds: Thresholds | null = null;
  private listeners: Array<(e: WebEvent) => void> = [];

  constructor(private readonly limit = 200) {}

  onEvent(f: (e: WebEvent) => void): void {
    this.listeners.push(f);
  }

  private push(e: WebEvent): void {
    this.events.push(e);
    if (this.events.length > this.limit) this.events.splice(0, this.events.length - this.limit);
    for (const f of this.listeners) f(e);
  }

  reading(r: ScannedReading): void {
    const flt = r.v[KEY_INDEX.flt];
    if (flt === flt) {
      const raised = flt & ~this.lastFlt;
      const cleared = this.lastFlt & ~flt;
      if (raised) this.push({ ts: r.ts, kind: 'fault', text: `Fault: ${faultWords(raised).join(', ')}` });
      if (cleared) this.push({ ts: r.ts, kind: 'fault_cleared', text: `Cleared: ${faultWords(cleared).join(', ')}` });
      this.lastFlt = flt;
    }
    const on = r.v[KEY_INDEX.chg] === 1;
    const ba = r.v[KEY_INDEX.ba];
    if (!on) {
      this.chargerOnSince = -1;
      if (this.outage) {
        this.outage = false;
        this.push({ ts: r.ts, kind: 'mains_back', text: 'Charger switched OFF during the suspected mains outage' });
      }
      return;
    }
    if (this.chargerOnSince < 0) this.chargerOnSince = r.ts;
    if (!this.outage && ba < DISCHARGE_A && r.ts - this.chargerOnSince >= MAINS_SUSPECT_MS) {
      this.outage = true;
      this.push({ ts: r.ts, kind: 'mains_out', text: `Mains outage? The charger is ON but the battery is discharging (${ba.toFixed(1)} A)` });
    } else if (this.outage && ba > 0) {
      this.outage = false;
      this.push({ ts: r.ts, kind: 'mains_back', text: `Mains back: the charger is delivering again (+${ba.toFixed(1)} A)` });
    }
  }

  /** An event frame from the MCU. */
  mcuEvent(ts: number, kind: string, msg: string | undefined, fw: string | undefined): void {
    if (kind === 'boot') {
      const t = msg ? parseThresholds(msg) : null;
      this.push({ ts, kind: 'boot', text: `MCU started${fw ? ` (firmware ${fw})` : ''}${msg ? `: ${msg}` : ''}` });
      if (t) this.settings(ts, t, 'after the MCU started');
      // The MCU forgets its fault word and outage state across a boot.
      this.lastFlt = 0;
      return;
    }
    if (kind === 'error' || kind === 'warn' || kind === 'reset') this.push({ ts, kind, text: `MCU ${kind}: ${msg ?? ''}`.trim() });
    // saved/info are routine (every energy save) and would drown the list.
  }

  /** Thresholds the MCU reported (boot text, a get or set reply); an event when they changed. */
  settings(ts: number, t: Thresholds, how: string): void {
    const before = this.thresholds;
    const merged = { ...(before ?? {}), ...t };
    const changed = !before || THRESHOLD_KEYS.some((k) => merged[k] !== before[k]);
    this.thresholds = merged;
    if (changed && before) this.push({ ts, kind: 'thresholds', text: `Thresholds changed ${how}: ${describeChange(before, merged)}` });
  }

  currentThresholds(): Thresholds | null {
    return this.thresholds ? { ...this.thresholds } : null;
  }

  /** Newest first. */
  list(): WebEvent[] {
    return this.events.slice().reverse();
  }
}
