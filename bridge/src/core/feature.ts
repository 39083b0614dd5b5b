/**
 * The seam every feature plugs into. A feature (an MQTT sink, the InfluxDB sink, a
 * battery estimator, a NUT server, a web page) is a module with start/stop that sees
 * the bridge only through `BridgeCore`: the stream of decoded frames, the spool, the
 * command path, the health server's routes, metrics, derived values, config and log.
 * It never imports another feature, and the core never imports a feature: features are
 * listed in feature-list.ts and composed by bridge.ts.
 */
import type { Command } from '../../../protocol';
import type { CommandReply } from '../commands/command-router';
import type { BridgeConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { BridgeMetrics } from '../metrics/bridge-metrics';
import type { SinkDelivery, DrainOptions } from '../sinks/drainer';
import type { SpooledFrame } from '../spool/spooled-frame';
import type { DerivedValues } from './derived-values';
import type { FrameListener, LinkListener } from './frame-bus';
import type { RouteHandler, RouteOptions } from '../health/http-server';
import type { BridgeHealth } from './health';

export interface Feature {
  /** Opens what the feature owns (listeners, clients, timers). Throwing stops the bridge's start with that message. */
  start(): void | Promise<void>;
  /** Closes it; called once, in reverse start order, also when its own start or a later one failed. */
  stop(): void | Promise<void>;
  /** Merged into /healthz under features.<name>; any problem turns /healthz 503. */
  health?(): FeatureHealth;
}

export interface FeatureHealth {
  problems: string[];
  [key: string]: unknown;
}

/** A setting that cannot work: its dotted key (list items by index: nut.users.0) and why. */
export interface ConfigProblem {
  key: string;
  problem: string;
}

export interface FeatureDefinition {
  /** Lower-case word; names its log component, spool cursor and /healthz entry. */
  readonly name: string;
  /** Whether the config turns it on. */
  enabled(config: BridgeConfig): boolean;
  /**
   * The feature's own checks of its settings beyond the schema (between keys, against the
   * environment, file contents), run for an enabled feature by --check and before start:
   * a problem here stops the bridge with exit status 2 instead of a failed start.
   */
  checkConfig?(config: Readonly<BridgeConfig>, env: { readonly [name: string]: string | undefined }): ConfigProblem[];
  /**
   * A sink that drains the spool at its own pace needs a cursor, known before the spool
   * opens: it then calls core.spool.drain() once.
   */
  readonly drainsSpool?: boolean;
  create(core: BridgeCore): Feature;
}

/** The newest reading this process received, and when (bridge clock, ms). */
export interface LatestReading {
  record: SpooledFrame;
  receivedAtMs: number;
}

export interface SpoolPort {
  /**
   * Every reading and event still in the spool, oldest first, synchronously; e.g. to
   * rebuild state at start-up (features start before the source, so nothing is missed
   * or seen twice between this replay and the live stream). Returns how many were visited.
   */
  replay(visit: (rec: SpooledFrame) => void): number;
  /** The records with fromMs <= ts < toMs, oldest first (a damaged record is skipped). */
  readRange(fromMs: number, toMs: number, visit: (rec: SpooledFrame) => void): number;
  /**
   * Keep at least this much history (bridge clock) even after every sink confirmed it,
   * within spool.max_bytes; the largest request wins. Call before or during start.
   */
  keepHistory(ms: number): void;
  /** For a sink feature (drainsSpool): delivers the spool to it from its cursor on. */
  drain(sink: SinkDelivery, options: DrainOptions): void;
}

export interface CommandPort {
  /**
   * The one validated command path (MQTT, Home Assistant and HTTP all use it): a JSON
   * payload like {"cmd":"force","mode":"off","for":3600,"request_id":"x"} or a command
   * already built. Resolves with the MCU's reply, or the bridge's own refusal (invalid,
   * forbidden, unavailable, busy, timeout); never rejects. `origin` names where the command
   * came from in the log (`mqtt`, `homeassistant`, `web`; default: the feature's name).
   */
  request(payload: string, origin?: string): Promise<CommandReply>;
  submit(command: Command, requestId?: string | number, origin?: string): Promise<CommandReply>;
}

export interface HttpPort {
  /** Whether the health server is configured (http.listen not empty). */
  readonly enabled: boolean;
  /**
   * Serves `path` (exact, or every path under it with prefix: true) on the health
   * server. /healthz and /metrics are the core's. Throws if the path is taken.
   */
  route(options: RouteOptions, handler: RouteHandler): void;
}

export interface BridgeCore {
  readonly config: Readonly<BridgeConfig>;
  readonly version: string;
  /** This feature's logger (component = its name). */
  readonly log: Logger;
  /** The bridge's metrics; `registry` takes a feature's own counters and gauges. */
  readonly metrics: BridgeMetrics;
  /** Each reading and event, in order, as it is spooled. Returns the unsubscribe. */
  onFrame(listener: FrameListener): () => void;
  /** The MCU link (source) going up or down. Returns the unsubscribe. */
  onLink(listener: LinkListener): () => void;
  linkUp(): boolean;
  /**
   * While on (counted per caller's true/false pairs), the source reads each line as it
   * comes instead of letting a trickle gather (source.read_interval_ms): a live view.
   */
  readPromptly(on: boolean): void;
  latestReading(): LatestReading | null;
  readonly spool: SpoolPort;
  readonly commands: CommandPort;
  readonly http: HttpPort;
  /** Values computed by features (state of charge...), published by the sinks that carry them. */
  readonly derived: DerivedValues;
  /** What /healthz answers (source, sinks, spool, features); not from the feature's own health(). */
  health(): BridgeHealth;
}
