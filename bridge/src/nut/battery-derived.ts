/**
 * The battery estimator's view for the NUT server, read from the derived values it
 * declares (battery_soc, battery_runtime_alone_s, battery_time_to_go_s, battery_health,
 * battery_capacity_ah), so the NUT feature never imports the estimator and works without
 * it: while battery_soc is absent, not a number, or older than the reading by more than
 * `maxAgeMs`, current() answers null and the voltage view is used. The learned values
 * (health, capacity) change over weeks, so they have no age limit. Pure.
 */
import type { ReadingFrame } from '../../../protocol';
import type { DerivedValue } from '../core/derived-values';
import { BatteryState, BatteryStateSource, runtimeFromCharge, BANK_AH } from './battery-view';

/** The part of core.derived read here. */
export interface DerivedReader {
  latest(key: string): { ts: number; value: DerivedValue } | undefined;
}

/**
 * Learned health (percent of nameplate capacity) at or below which NUT says RB: 80 % is
 * the usual end-of-life point for lead-acid banks (IEEE 1188).
 */
export const REPLACE_AT_HEALTH_PCT = 80;

/**
 * How far behind the reading the estimate may be: the estimator may set a value only when
 * it changes, so a steady charge is not stale; a minute with none means it stopped.
 */
export const ESTIMATE_MAX_AGE_MS = 60_000;

export function derivedBatterySource(derived: DerivedReader, readingTs: () => number, maxAgeMs: number): BatteryStateSource {
  const known = (key: string, maxAge = Infinity): number | null => {
    const v = derived.latest(key);
    return v !== undefined && typeof v.value === 'number' && Number.isFinite(v.value) && v.ts >= readingTs() - maxAge ? v.value : null;
  };
  const fresh = (key: string): number | null => known(key, maxAgeMs);
  return {
    current(r: ReadingFrame): BatteryState | null {
      const soc = fresh('battery_soc');
      if (soc === null) return null;
      const chargePct = Math.min(100, Math.max(0, soc));
      const learnedAh = known('battery_capacity_ah');
      const capacityAh = learnedAh !== null && learnedAh > 0 ? learnedAh : undefined;
      // What upsmon needs is the time left if the chargers gave up now; the estimator's
      // present-trend time to go is next best, then the charge over the present draw.
      const runtimeS = fresh('battery_runtime_alone_s') ?? fresh('battery_time_to_go_s') ?? runtimeFromCharge(r, chargePct, capacityAh ?? BANK_AH);
      const health = known('battery_health');
      return {
        chargePct,
        runtimeS: runtimeS === null ? null : Math.max(0, Math.round(runtimeS)),
        replace: health !== null && health <= REPLACE_AT_HEALTH_PCT,
        ...(capacityAh !== undefined ? { capacityAh } : {}),
        source: 'estimator',
      };
    },
  };
}
