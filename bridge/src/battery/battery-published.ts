/**
 * What the battery feature publishes as derived values (MQTT <base>/derived/<key>, Home
 * Assistant, InfluxDB `derived`, /metrics): the keys other features (NUT, the web page)
 * and npm start's status line read, so they do not change lightly. Pure.
 */
import type { DerivedValue, DerivedValueSpec } from '../core/derived-values';
import { capacityConfidence } from './capacity';
import { publishedCounter } from './counters';
import type { BatteryState } from './estimator';
import type { EstimatorParams } from './params';
import { StatusCore, num } from './status';

const ENERGY = { device_class: 'energy', state_class: 'total_increasing' } as const;
const CHARGE = { state_class: 'total_increasing', icon: 'mdi:battery-sync' } as const;
const DIAGNOSTIC = { state_class: 'measurement', entity_category: 'diagnostic' } as const;

export const BATTERY_VALUES: readonly DerivedValueSpec[] = [
  { key: 'battery_soc', label: 'Battery state of charge', unit: '%', decimals: 1, homeassistant: { device_class: 'battery', state_class: 'measurement' } },
  { key: 'battery_soc_uncertainty', label: 'Battery state of charge uncertainty', unit: 'pp', decimals: 1, homeassistant: DIAGNOSTIC },
  { key: 'battery_remaining_ah', label: 'Battery charge remaining', unit: 'Ah', decimals: 1, homeassistant: { state_class: 'measurement', icon: 'mdi:battery-medium' } },
  { key: 'battery_current_avg_a', label: 'Battery average current', unit: 'A', decimals: 2, homeassistant: { device_class: 'current', state_class: 'measurement' } },
  { key: 'battery_time_to_go_s', label: 'Battery time to go', unit: 's', decimals: 0, homeassistant: { device_class: 'duration', state_class: 'measurement' } },
  { key: 'battery_time_to_go_state', label: 'Battery time to go state', homeassistant: { icon: 'mdi:battery-clock' } },
  { key: 'battery_runtime_alone_s', label: 'Battery runtime alone', unit: 's', decimals: 0, homeassistant: { device_class: 'duration', state_class: 'measurement' } },
  { key: 'battery_floor_pct', label: 'Battery floor', unit: '%', decimals: 0, homeassistant: { entity_category: 'diagnostic' } },
  { key: 'battery_capacity_ah', label: 'Battery capacity', unit: 'Ah', decimals: 1, homeassistant: DIAGNOSTIC },
  { key: 'battery_health', label: 'Battery health', unit: '%', decimals: 1, homeassistant: { state_class: 'measurement', icon: 'mdi:battery-heart-variant' } },
  { key: 'battery_health_confidence', label: 'Battery health confidence', unit: '%', decimals: 0, homeassistant: DIAGNOSTIC },
  { key: 'battery_sensor_fault', label: 'Battery sensor fault', homeassistant: { component: 'binary_sensor', device_class: 'problem', entity_category: 'diagnostic' } },
  { key: 'night_lasts', label: 'Battery lasts the night alone', homeassistant: { component: 'binary_sensor', icon: 'mdi:weather-night' } },
  { key: 'night_margin_ah', label: 'Battery night margin', unit: 'Ah', decimals: 1, homeassistant: { state_class: 'measurement', icon: 'mdi:weather-night' } },
  { key: 'battery_ah_in_total', label: 'Battery total charge in', unit: 'Ah', decimals: 2, homeassistant: CHARGE },
  { key: 'battery_ah_out_total', label: 'Battery total charge out', unit: 'Ah', decimals: 2, homeassistant: CHARGE },
  { key: 'battery_wh_in_total', label: 'Battery total energy in', unit: 'Wh', decimals: 1, homeassistant: ENERGY },
  { key: 'battery_wh_out_total', label: 'Battery total energy out', unit: 'Wh', decimals: 1, homeassistant: ENERGY },
  { key: 'load_ah_in_total', label: 'Load total charge in', unit: 'Ah', decimals: 2, homeassistant: CHARGE },
  { key: 'load_ah_out_total', label: 'Load total charge out', unit: 'Ah', decimals: 2, homeassistant: CHARGE },
  { key: 'load_wh_in_total', label: 'Load total energy in', unit: 'Wh', decimals: 1, homeassistant: ENERGY },
  { key: 'load_wh_out_total', label: 'Load total energy out', unit: 'Wh', decimals: 1, homeassistant: ENERGY },
  { key: 'energy_bridged_wh', label: 'Energy bridged across MCU restarts', unit: 'Wh', decimals: 1, homeassistant: { state_class: 'total_increasing', entity_category: 'diagnostic' } },
  { key: 'counter_restarts', label: 'MCU counter restarts bridged', homeassistant: { state_class: 'total', entity_category: 'diagnostic' } },
];

export type BatteryValues = { [key: string]: DerivedValue };

/** 10^decimals for 0..4 decimals: round() runs 20 times a reading. */
const POW10 = [1, 10, 100, 1000, 10000];

/** Rounded to what is worth publishing: a change below it is not a change. */
function round(x: number | null, decimals: number): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  const f = POW10[decimals];
  return Math.round(x * f) / f;
}

/**
 * The published values, from the state and its core figures (statusCore, filled by the
 * caller for this state): straight from the state rather than through batteryStatus, whose
 * nested objects nobody here reads.
 */
export function batteryValues(s: BatteryState, p: EstimatorParams, core: StatusCore): BatteryValues {
  const c = s.counters;
  const b = c.bridged;
  const night = s.night.forecast ?? s.night.sundownForecast;
  const soc = core.soc;
  const soh = num(core.learnedAh / p.capacityAh);
  return {
    battery_soc: round(soc * 100, 2),
    battery_soc_uncertainty: round(Math.max(soc - core.socLow, core.socHigh - soc) * 100, 2),
    battery_remaining_ah: round(soc * core.capacityAh, 2),
    battery_current_avg_a: round(num(s.batteryAvgA), 2),
    battery_time_to_go_s: round(core.timeToGoS, 0),
    battery_time_to_go_state: core.timeToGoState,
    battery_runtime_alone_s: round(core.runtimeAloneS, 0),
    battery_floor_pct: round(p.floorSoc * 100, 2),
    battery_capacity_ah: round(core.capacityAh, 2),
    battery_health: soh === null ? null : round(soh * 100, 2),
    battery_health_confidence: round(capacityConfidence(s.capacity) * 100, 1),
    battery_sensor_fault: s.sensorFault,
    night_lasts: night ? night.lasts : null,
    night_margin_ah: night ? round(night.marginAh, 2) : null,
    battery_ah_in_total: round(publishedCounter(c, 0), 4),
    battery_ah_out_total: round(publishedCounter(c, 1), 4),
    battery_wh_in_total: round(publishedCounter(c, 2), 3),
    battery_wh_out_total: round(publishedCounter(c, 3), 3),
    load_ah_in_total: round(publishedCounter(c, 4), 4),
    load_ah_out_total: round(publishedCounter(c, 5), 4),
    load_wh_in_total: round(publishedCounter(c, 6), 3),
    load_wh_out_total: round(publishedCounter(c, 7), 3),
    energy_bridged_wh: round(b[2] + b[3] + b[6] + b[7], 3),
    counter_restarts: c.restarts,
  };
}

/**
 * Readers tell a steady value from a stopped estimator by its age (the NUT feature takes
 * one older than a minute of readings as stopped), so an unchanged value is set again
 * after this long. MQTT still sends only changes; InfluxDB gets a point.
 */
export const REFRESH_MS = 30_000;

/**
 * The values that differ from `last`, or were last set REFRESH_MS or more before `ts`
 * (all of them when `last` is empty); updates `last`.
 */
export function changedValues(now: BatteryValues, ts: number, last: Map<string, { value: DerivedValue; ts: number }>): BatteryValues | null {
  let out: BatteryValues | null = null;
  for (const k in now) {
    const v = now[k];
    const was = last.get(k);
    if (was === undefined) last.set(k, { value: v, ts });
    else if (was.value === v && ts - was.ts < REFRESH_MS) continue;
    else {
      // Updated in place: a reading a second would otherwise make a record per value.
      was.value = v;
      was.ts = ts;
    }
    (out ??= {})[k] = v;
  }
  return out;
}
