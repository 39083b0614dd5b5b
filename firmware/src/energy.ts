/**
 * The MCU's energy counters: the integration is shared with the bridge's host-direct
 * mode (drivers/energy-counters.ts); restoring them from a stored record is the
 * firmware's own.
 */
import { ENERGY_KEYS } from '../../drivers/energy-counters';
import type { EnergyCounters } from '../../drivers/energy-counters';
import { recordNumber } from './stored-record';

export { ENERGY_KEYS, accumulate, emptySample, splitArea, zeroEnergy } from '../../drivers/energy-counters';
export type { EnergyCounters, EnergySample } from '../../drivers/energy-counters';

/** Counters from a stored record, or null unless all eight are there and in range. */
export function energyFromRecord(o: { [key: string]: unknown } | null): EnergyCounters | null {
  if (!o) return null;
  const c = {} as { [k: string]: number };
  for (let i = 0; i < ENERGY_KEYS.length; i++) {
    const v = recordNumber(o, ENERGY_KEYS[i], 0, 1e9);
    if (v !== v) return null;
    c[ENERGY_KEYS[i]] = v;
  }
  return c as unknown as EnergyCounters;
}
