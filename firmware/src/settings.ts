/**
 * The host-adjustable settings: thresholds, dwell and poll period, under their wire
 * names. A change is checked against the current values (a lone `bon` must still be
 * below the stored `boff`) and applied whole or not at all.
 */
import { LIMITS } from './protocol-spec';
import { recordNumber } from './stored-record';

export interface Settings {
  bon: number;
  boff: number;
  sdn: number;
  sup: number;
  dwell: number;
  period: number;
}

const KEYS = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period'];

export function copySettings(s: Settings): Settings {
  return { bon: s.bon, boff: s.boff, sdn: s.sdn, sup: s.sup, dwell: s.dwell, period: s.period };
}

/** Why a settings set is unusable (ranges, order), or null when it is fine. */
export function settingsProblem(s: Settings): string | null {
  const m = s as unknown as { [k: string]: number };
  for (let i = 0; i < KEYS.length; i++) {
    const k = KEYS[i];
    const v = m[k];
    if (!(v >= LIMITS[k][0] && v <= LIMITS[k][1])) return k + ' outside ' + LIMITS[k][0] + '..' + LIMITS[k][1];
  }
  if (!(s.bon < s.boff)) return 'bon ' + s.bon + ' must be below boff ' + s.boff;
  if (!(s.sdn < s.sup)) return 'sdn ' + s.sdn + ' must be below sup ' + s.sup;
  return null;
}

/** Settings from a stored record, or null when any value is missing or out of range. */
export function settingsFromRecord(o: { [key: string]: unknown } | null): Settings | null {
  if (!o) return null;
  const s = {} as { [k: string]: number };
  for (let i = 0; i < KEYS.length; i++) {
    const v = recordNumber(o, KEYS[i], -Infinity, Infinity);
    if (v !== v) return null;
    s[KEYS[i]] = v;
  }
  const out = s as unknown as Settings;
  return settingsProblem(out) === null ? out : null;
}

/** `current` with the given arguments applied, or an error message (current untouched). */
export function withChanges(current: Settings, args: { [key: string]: number | string }): Settings | string {
  const next = copySettings(current);
  const m = next as unknown as { [k: string]: number };
  for (const k in args) m[k] = args[k] as number;
  const problem = settingsProblem(next);
  return problem === null ? next : problem;
}
