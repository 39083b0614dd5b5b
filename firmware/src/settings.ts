/**
 * The host-adjustable settings: thresholds, dwell and poll period, under their wire
 * names. A change is checked against the current values (a lone `bon` must still be
 * below the stored `boff`) and applied whole or not at all.
 */
import { LIMITS, limitText } from '../../protocol/spec';

export interface Settings {
  bon: number;
  boff: number;
  sdn: number;
  sup: number;
  dwell: number;
  period: number;
}

const KEYS = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period'];

/**
 * `current` with `changes` applied (other keys in `changes` are ignored), or why the
 * result is unusable: a value missing or outside its range, or ON not below OFF.
 */
export function withChanges(current: Settings, changes: { [key: string]: unknown }): Settings | string {
  const next: { [k: string]: number } = {};
  const from = current as unknown as { [k: string]: number };
  for (let i = 0; i < KEYS.length; i++) {
    const k = KEYS[i];
    const v = changes[k] === undefined ? from[k] : changes[k];
    if (!(typeof v === 'number' && v >= LIMITS[k][0] && v <= LIMITS[k][1])) return limitText(k);
    // Kept to the wire's precision, so what `get` reports is exactly what is used.
    next[k] = Math.round(v * 1000) / 1000;
  }
  if (!(next['bon'] < next['boff'])) return 'bon must be below boff ' + next['boff'];
  if (!(next['sdn'] < next['sup'])) return 'sdn must be below sup ' + next['sup'];
  return next as unknown as Settings;
}
