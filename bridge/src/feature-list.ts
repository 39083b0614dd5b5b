/**
 * The features a bridge is made of, in start order (stopped in reverse). A new feature is
 * its own directory plus one line here; bridge.ts and the core do not change.
 */
import { batteryFeature } from './battery/battery-feature';
import type { FeatureDefinition } from './core/feature';
import { influxFeature } from './features/influx-feature';
import { mqttFeature } from './features/mqtt-feature';

export const FEATURES: readonly FeatureDefinition[] = [
  mqttFeature,
  influxFeature,
  // After the sinks: its first values (at start, from the state file) find them listening.
  batteryFeature,
];
