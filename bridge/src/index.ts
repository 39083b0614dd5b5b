/**
 * The bridge's front door. Scripts, tests and anything outside bridge/ import bridge
 * code from here only (test/architecture/imports.test.ts keeps it so); what is not
 * exported here is the bridge's own business and may change freely.
 */
// First: the heap policy must be in force before the other modules load (see the module).
export { BUSY_SPELL_CHECK_MS, BusySpell, SERVICE_ENV, SERVICE_NODE_FLAGS, STARTUP_GC_DELAY_MS, V8_FLAGS, applyHeapPolicy, collectAfterBusySpells, collectStartupGarbage } from './heap-policy';

// ---- running a bridge ----
export { Bridge } from './bridge';
export type { BridgeOptions, BridgeHealth } from './bridge';

// ---- writing a feature (bridge/README.md, "Writing a feature") ----
export type { BridgeCore, CommandPort, ConfigProblem, Feature, FeatureDefinition, FeatureHealth, HttpPort, LatestReading, SpoolPort } from './core/feature';
export type { FrameListener, LinkListener } from './core/frame-bus';
export { DerivedValues } from './core/derived-values';
export type { DerivedValue, DerivedValueSpec } from './core/derived-values';
export type { RouteHandler, RouteOptions } from './health/http-server';
export { FEATURES } from './feature-list';
export { SinkDrainer } from './sinks/drainer';
export type { BatchBuilder, DrainOptions, SinkDelivery } from './sinks/drainer';

// ---- configuration ----
export type { BridgeConfig } from './config/schema';
export { CONFIG_SCHEMA } from './config/schema';
export { ENV_CONFIG_FILE, ENV_PREFIX, configLeaves, envNameOf, redactConfig, resolveConfig } from './config/resolve-config';
export type { ConfigInputs, ConfigResult } from './config/resolve-config';
export type { ConfigLocator } from './config/resolve-config';
export { preflightConfig } from './preflight';
export { MAX_ALIAS_EXPANSIONS } from './config/yaml-source';
export { SETTING_FLAGS, helpText, parseCliArgs } from './config/cli-args';
export { parseSourceSpec } from './sources/source-spec';

// ---- logs and metrics ----
export { createLogger, silentLogger } from './log/logger';
export type { LogFormat, LogLevel, Logger } from './log/logger';
export { RateLimitedLog } from './log/rate-limited-log';
export { Counter, Gauge, MetricsRegistry } from './metrics/registry';
export type { BridgeMetrics } from './metrics/bridge-metrics';

// ---- what the bridge publishes: MQTT topics, payloads, Home Assistant ----
export { OFFLINE, ONLINE, topicsFor } from './sinks/mqtt/topics';
export type { Topics } from './sinks/mqtt/topics';
/** Client options (credentials, TLS) for any MQTT client of the configured broker (npm start's status watcher). */
export { brokerCredentials } from './sinks/mqtt/mqtt-link';
export { eventJson, readingState, readingValues } from './sinks/mqtt/state-payload';
export type { StateJson } from './sinks/mqtt/state-payload';
export { REASONS, discoveryMessages } from './sinks/mqtt/ha-discovery';
export { DerivedPacer } from './sinks/mqtt/derived-pacer';
export { keepaliveTimer } from './sinks/mqtt/keepalive-timer';
export type { DiscoveryMessage } from './sinks/mqtt/ha-discovery';
export { eventLine, payloadLines, readingLines } from './sinks/influx/line-protocol';
export { classifyFailure, parseRetryAfter } from './sinks/influx/write-outcome';

// ---- commands ----
export { CommandRouter, parseCommandPayload } from './commands/command-router';
export type { CommandOutcome, CommandReply, CommandReport, CommandTransport } from './commands/command-router';
export { CommandLog } from './commands/command-log';

// ---- the spool and ingest (tests and tools that read a spool directory) ----
export { Spool, SpoolError } from './spool/spool';
export type { SpoolBatch, SpoolOptions, SpoolPosition, SpoolStats } from './spool/spool';
export { HEADER_BYTES, MAX_PAYLOAD, checkRecord, encodeRecord, resync } from './spool/record-codec';
export { decodeSpooledFrame, encodeSpooledFrame, isSpooledReading } from './spool/spooled-frame';
export type { SpooledFrame } from './spool/spooled-frame';
export { STALL_RETRY_MAX_MS, STALL_RETRY_MIN_MS, WriteStall } from './spool/write-stall';
export { CURSOR_FILE } from './spool/cursor-store';
export { SinkCursors } from './spool/cursor-files';
export { DEFAULT_SLOT_BYTES, SLOT_HEADER_BYTES, decodeCursorFile, encodeSlot } from './spool/cursor-slots';
export { BootClock, uptimeMs } from './ingest/boot-clock';
export type { AnchorStore } from './ingest/boot-clock';
export { AnchorFile } from './ingest/state-files';
export { SequenceTracker } from './ingest/sequence-tracker';

// ---- sources and links ----
export { Backoff } from './backoff';
export { ReconnectingSource } from './sources/reconnecting-source';
export { MIN_READ_PAUSE_MS, READ_BUDGET_BYTES, ReadPacer } from './sources/read-pacer';
export type { ReadPacing } from './sources/read-pacer';
export { readPacing } from './sources/make-source';
export { serialConnector } from './sources/serial-link';
export { tcpConnector } from './sources/tcp-link';
export type { Source, SourceEvents } from './sources/source';
export { linuxI2cTransport, openLinuxI2cTransport } from './sources/i2c/linux-i2c-transport';
export type { I2cBusSync } from './sources/i2c/linux-i2c-transport';
export { describeSpec } from './sources/source-spec';
export { HostDirectMeter, faultBits } from './sources/i2c/host-direct-meter';
export { MONITOR_ONLY, hostDirectConnector } from './sources/i2c/host-direct-link';
export { STATE_FILE as HOST_DIRECT_STATE_FILE, loadHostDirectState, saveHostDirectState } from './sources/i2c/host-direct-state';
export { namedTransport } from './sources/i2c/linux-i2c-transport';

// ---- what a reading's values are (names, units, Home Assistant classes) ----
export { QUANTITIES, quantitiesFromFields, quantitiesOf } from './reading-model';

// ---- battery state: the pure estimator (SoC, time to go, health, the night ahead) ----
export * from './battery';
// ---- battery state as a bridge feature: what it publishes, and the CLI's start-up requests ----
export { BATTERY_VALUES, REFRESH_MS as BATTERY_REFRESH_MS, batteryValues, changedValues as changedBatteryValues } from './battery/battery-published';
export { paramsFromConfig, requestBatteryAction, stateFilePath as batteryStateFile } from './battery/battery-config';
export type { BatteryRequest } from './battery/battery-config';

// ---- NUT server (issue 18, bridge/NUT.md): the feature and its pure parts, for tests ----
export { MAINS_OUTAGE, nutFeature } from './nut/nut-feature';
export { chargeFromVoltage, estimateFromVoltage } from './nut/battery-view';
export type { BatteryState as NutBatteryState, BatteryStateSource as NutBatteryStateSource } from './nut/battery-view';
export { REPLACE_AT_HEALTH_PCT, derivedBatterySource } from './nut/battery-derived';
export { quote as nutQuote, splitWords as nutSplitWords } from './nut/net-words';
export { resolveNutUsers } from './nut/nut-config';
export type { NutConfig } from './nut/nut-config';
export { NutSession } from './nut/nut-session';
export { FSD_CLEAR_AFTER_MS, UpsBank } from './nut/ups-bank';
export { MainsWatch, deriveStatus, isStale } from './nut/ups-status';
// ---- the web page (bridge/src/web): its feature and its pure parts ----
export { webFeature } from './web/web-feature';
export { BATTERY_KEYS, KEEP_MS as WEB_KEEP_MS, RANGES as WEB_RANGES, WebPage } from './web/web-page';
export type { WebCore, WebOptions } from './web/web-page';
export { ChartBuilder, chartWindow } from './web/chart-data';
export { EventLog, MAINS_SUSPECT_MS, parseThresholds } from './web/events';
export { KEY_INDEX, SCANNED_KEYS, newScannedReading, scanFrame } from './web/scanned-reading';
export type { ScannedReading } from './web/scanned-reading';
export { SUMMARY_MS, SummaryStore } from './web/summary-store';
export { checkToken } from './web/web-commands';
export { faultWords, modeWords, reasonWords } from './web/words';
