/**
 * Values a feature computes from the readings (state of charge, time to go...), declared
 * once with what a sink needs to carry them, and set as they change. The sinks publish
 * every declared value without knowing the feature: MQTT as retained topics and Home
 * Assistant entities, InfluxDB as `derived` points, /metrics as gauges. Pure bookkeeping:
 * no I/O, and the time of each value is the reading's, not a clock here.
 */
import { Listeners } from './listeners';

export type DerivedValue = number | boolean | string | null;

export interface DerivedValueSpec {
  /** snake_case, unique: the InfluxDB field, the MQTT topic <base>/derived/<key>, the HA object id. */
  key: string;
  /** For people: Home Assistant's entity name, the metric's help. */
  label: string;
  unit?: string;
  /** Shown precision (Home Assistant's suggested_display_precision). */
  decimals?: number;
  homeassistant?: {
    component?: 'sensor' | 'binary_sensor';
    device_class?: string;
    state_class?: string;
    entity_category?: 'diagnostic' | 'config';
    icon?: string;
  };
}

export type DerivedListener = (ts: number, changed: { readonly [key: string]: DerivedValue }) => void;
export type DeclareListener = (specs: readonly DerivedValueSpec[]) => void;

const KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;

export class DerivedValues {
  private readonly byKey = new Map<string, { spec: DerivedValueSpec; owner: string; ts: number | null; value: DerivedValue }>();
  private readonly changeListeners = new Listeners<[number, { readonly [key: string]: DerivedValue }]>();
  private readonly declareListeners = new Listeners<[readonly DerivedValueSpec[]]>();

  /** Declares values before they are set; throws on a bad or taken key. */
  declare(owner: string, specs: readonly DerivedValueSpec[]): void {
    for (const s of specs) {
      if (!KEY_RE.test(s.key)) throw new Error(`derived value key ${JSON.stringify(s.key)} (from ${owner}): expected snake_case, at most 64 characters`);
      const taken = this.byKey.get(s.key);
      if (taken) throw new Error(`derived value ${s.key} (from ${owner}) is already declared by ${taken.owner}`);
    }
    for (const s of specs) this.byKey.set(s.key, { spec: s, owner, ts: null, value: null });
    this.declareListeners.emit(null, this.specs());
  }

  /** Sets some declared values as of `ts` (ms, the reading's time); throws on an undeclared key. */
  set(ts: number, values: { readonly [key: string]: DerivedValue }): void {
    // All checked before any is set, so a bad call changes nothing.
    for (const k in values) if (!this.byKey.has(k)) throw new Error(`derived value ${k} was never declared`);
    for (const k in values) {
      const e = this.byKey.get(k)!;
      e.ts = ts;
      e.value = values[k];
    }
    this.changeListeners.emit(null, ts, values);
  }

  specs(): DerivedValueSpec[] {
    return [...this.byKey.values()].map((e) => e.spec);
  }

  latest(key: string): { ts: number; value: DerivedValue } | undefined {
    const e = this.byKey.get(key);
    return e && e.ts !== null ? { ts: e.ts, value: e.value } : undefined;
  }

  /** Every value that has been set, by key. */
  snapshot(): { [key: string]: DerivedValue } {
    const out: { [key: string]: DerivedValue } = {};
    for (const [k, e] of this.byKey) if (e.ts !== null) out[k] = e.value;
    return out;
  }

  /** Called on each set(); returns the unsubscribe. */
  onChange(listener: DerivedListener): () => void {
    return this.changeListeners.add(listener);
  }

  /** Called when values are declared (a sink re-announces them); returns the unsubscribe. */
  onDeclare(listener: DeclareListener): () => void {
    return this.declareListeners.add(listener);
  }
}
