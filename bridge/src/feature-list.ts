/**
 * The features a bridge is made of, in start order (stopped in reverse). A new feature is
 * its own directory plus one line here; bridge.ts and the core do not change.
 */
import type { FeatureDefinition } from './core/feature';
import { influxFeature } from './features/influx-feature';
import { mqttFeature } from './features/mqtt-feature';
import { nutFeature } from './nut/nut-feature';
import { webFeature } from './web/web-feature';

// The web page asks the spool to keep history when it is created: it stays ahead of any
// feature whose start awaits, so no sink can confirm (and delete) history in between.
export const FEATURES: readonly FeatureDefinition[] = [mqttFeature, influxFeature, webFeature, nutFeature];
