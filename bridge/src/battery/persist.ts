/**
 * The estimator's state as text for a state file (the bridge writes it atomically:
 * temporary file, fsync, rename) and back. JSON cannot hold NaN or ±Infinity, which the
 * state uses for "not yet", so those travel as strings.
 */
import type { BatteryState } from './estimator';

export function serialiseState(s: BatteryState): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === 'number' && !isFinite(v) ? String(v) : v));
}

/** Parses a state file's text; throws with what is wrong when it is not a version-1 state. */
export function restoreState(text: string): BatteryState {
  const o = JSON.parse(text, (_k, v: unknown) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)) as BatteryState;
  if (!o || typeof o !== 'object' || o.version !== 1) throw new Error('battery state: not a version 1 state');
  for (const key of ['counters', 'capacity', 'night', 'history'] as const) {
    if (!o[key] || typeof o[key] !== 'object') throw new Error(`battery state: "${key}" missing`);
  }
  if (typeof o.deficitAh !== 'number') throw new Error('battery state: "deficitAh" missing');
  return o;
}
