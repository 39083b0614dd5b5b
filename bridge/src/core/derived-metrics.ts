/**
 * Every derived value that holds a number or a yes/no is a gauge on /metrics:
 * solar_derived_<key> (true 1, false 0; unset or null: not exported).
 */
import type { MetricsRegistry, Gauge } from '../metrics/registry';
import type { DerivedValues } from './derived-values';

export function exportDerivedMetrics(derived: DerivedValues, registry: MetricsRegistry): void {
  const gauges = new Map<string, Gauge>();
  const declare = (): void => {
    for (const s of derived.specs()) {
      if (!gauges.has(s.key)) gauges.set(s.key, registry.gauge(`solar_derived_${s.key}`, `${s.label}${s.unit ? ` (${s.unit})` : ''}; computed by the bridge from the readings.`));
    }
  };
  declare();
  derived.onDeclare(declare);
  registry.onCollect(() => {
    for (const [key, g] of gauges) {
      const v = derived.latest(key)?.value;
      if (typeof v === 'number' && Number.isFinite(v)) g.set(v);
      else if (typeof v === 'boolean') g.set(v ? 1 : 0);
    }
  });
}
