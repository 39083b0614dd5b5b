/**
 * The features a bridge is made of, in start order (stopped in reverse). A new feature is
 * its own directory plus one line here; bridge.ts and the core do not change.
 */
import { batteryFeature } from './battery/battery-feature';
import type { FeatureDefinition } from './core/feature';
import { influxFeature } from './features/influx-feature';
import { mqttFeature } from './features/mqtt-feature';
import { nutFeature } from './nut/nut-feature';
import { webFeature } from './web/web-feature';

export const FEATURES: readonly FeatureDefinition[] = [
  // Before the sinks: its values are declared by the time MQTT announces Home Assistant
  // discovery (once, not again a moment later), and what it sets at start (from its state
  // file) is in derived.snapshot() when the sinks start. Its start does not await.
  batteryFeature,
  mqttFeature,
  influxFeature,
  // The web page asks the spool to keep history when it is created: it stays ahead of any
  // feature whose start awaits, so no sink can confirm (and delete) history in between.
  webFeature,
  // After the battery: NUT reads the estimate set for the same reading.
  nutFeature,
];
