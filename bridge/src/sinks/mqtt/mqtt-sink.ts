/**
 * The MQTT sink: the broker link (mqtt-link.ts), one delivery per batch of spooled
 * records (readings-batch.ts: one record when live, up to max_inflight when catching up
 * after an outage), Home Assistant discovery (home-assistant.ts), the MCU link's
 * availability, values features compute, and the command topics, handed to whoever
 * answers commands (the core's command path).
 * A batch counts as delivered when the broker acknowledged every publish (PUBACK); after a
 * lost connection the whole batch is published again, so delivery is at least once.
 */
import type { BridgeConfig } from '../../config/schema';
import type { DerivedValue, DerivedValueSpec } from '../../core/derived-values';
import type { Logger } from '../../log/logger';
import type { BridgeMetrics } from '../../metrics/bridge-metrics';
import { BuilderPool } from '../byte-builder';
import type { BatchBuilder, SinkDelivery } from '../drainer';
import { HomeAssistantAnnouncer } from './home-assistant';
import { MqttLink, SINK_NAME } from './mqtt-link';
import { PerValueTopics } from './per-value-topics';
import { readingsBatch } from './readings-batch';
import { OFFLINE, ONLINE, Topics, topicsFor } from './topics';

export { SINK_NAME, StoppedError, brokerCredentials } from './mqtt-link';

const DERIVED_INTERVAL_MS = 1000;
/** How long values set from a reading wait for its delivery (the spool's fsync tick, 100 ms by default, comes first). */
const DERIVED_RIDE_MS = 400;

export interface MqttSinkHooks {
  /** A payload on the command topic. */
  onCommand?(text: string): void;
  /** auto|on|off on Home Assistant's select topic. */
  onForceMode?(mode: string): void;
}

export class MqttSink implements SinkDelivery {
  readonly name = SINK_NAME;
  readonly topics: Topics;
  private sourceUp = false;
  private readonly link: MqttLink;
  private readonly ha: HomeAssistantAnnouncer;
  private readonly builders = new BuilderPool(1, 64 * 1024);
  private readonly perValue: PerValueTopics | null;
  /** Derived values as last published, published again on each connect (they are retained). */
  private readonly derivedNow = new Map<string, string>();
  /** Set since the last publish: a feature may set values on every reading of a burst. */
  private readonly derivedPending = new Map<string, string>();
  private derivedTimer: NodeJS.Timeout | undefined;
  private derivedFlushedMs = -Infinity;

  constructor(
    config: BridgeConfig['mqtt'],
    deviceId: string,
    swVersion: string,
    log: Logger,
    private readonly metrics: BridgeMetrics,
    private readonly hooks: MqttSinkHooks = {},
  ) {
    this.topics = topicsFor(config.base_topic);
    this.perValue = config.per_value_topics ? new PerValueTopics() : null;
    const publish = (topic: string, payload: string, retain: boolean): void => this.link.publishQuiet(topic, payload, retain);
    this.ha = new HomeAssistantAnnouncer(config, deviceId, swVersion, this.topics, log, publish);
    this.link = new MqttLink(config, this.topics.availability, log, metrics, {
      subscriptions: () => [...(config.commands.enabled ? [this.topics.command, this.topics.forceModeSet] : []), ...this.ha.statusTopic()],
      connected: () => this.onConnected(),
      message: (topic, text) => this.onMessage(topic, text),
    });
  }

  start(): void {
    this.link.start();
  }

  private onConnected(): void {
    this.link.publishQuiet(this.topics.availability, ONLINE, true);
    this.link.publishQuiet(this.topics.sourceAvailability, this.sourceUp ? ONLINE : OFFLINE, true);
    this.ha.announce();
    this.perValue?.forget();
    for (const [key, text] of this.derivedNow) this.link.publishQuiet(this.topics.derived(key), text, true);
  }

  private onMessage(topic: string, text: string): void {
    if (this.ha.message(topic, text)) return;
    if (topic === this.topics.command) this.hooks.onCommand?.(text);
    else if (topic === this.topics.forceModeSet) this.hooks.onForceMode?.(text.trim());
  }

  /** The MCU link went up or down. */
  setSourceUp(up: boolean): void {
    if (up === this.sourceUp) return;
    this.sourceUp = up;
    this.link.publishQuiet(this.topics.sourceAvailability, up ? ONLINE : OFFLINE, true);
  }

  /** Publishes a command reply (not retained). */
  publishReply(payload: object): void {
    this.link.publishQuiet(this.topics.commandReply, JSON.stringify(payload), false);
  }

  /** Features declared values: Home Assistant learns of them. */
  declareDerived(specs: readonly DerivedValueSpec[]): void {
    this.ha.setDerived(specs);
  }

  /**
   * Values a feature set: each on its retained topic (null as "None", which Home Assistant reads as unknown; an empty retained payload would delete the topic instead),
   * about once a second per value, the newest winning. Values set from a reading go out
   * with that reading's delivery (no timer of their own, their acknowledgements read with
   * the delivery's); the timer, which waits long enough for a delivery to come first, is
   * for values set between readings.
   */
  publishDerived(values: { readonly [key: string]: DerivedValue }): void {
    for (const key of Object.keys(values)) {
      const v = values[key];
      this.derivedPending.set(key, v === null ? 'None' : String(v));
    }
    if (this.derivedTimer || this.derivedPending.size === 0) return;
    const since = performance.now() - this.derivedFlushedMs;
    if (since >= DERIVED_INTERVAL_MS && this.derivedFlushedMs === -Infinity) {
      this.flushDerived();
      return;
    }
    this.derivedTimer = setTimeout(() => {
      this.derivedTimer = undefined;
      this.flushDerived();
    }, Math.max(DERIVED_INTERVAL_MS - since, DERIVED_RIDE_MS));
    this.derivedTimer.unref();
  }

  /** A delivery is about to be published: pending values ride with it unless the last went out just now. */
  private flushDerivedWithDelivery(): void {
    if (this.derivedPending.size === 0 || performance.now() - this.derivedFlushedMs < DERIVED_INTERVAL_MS * 0.8) return;
    if (this.derivedTimer) clearTimeout(this.derivedTimer);
    this.derivedTimer = undefined;
    this.flushDerived();
  }

  /** Quiet publishes, not part of a delivery: a delivery published again after a lost connection must not bring back an older value. */
  private flushDerived(): void {
    this.derivedFlushedMs = performance.now();
    for (const [key, text] of this.derivedPending) {
      if (this.derivedNow.get(key) === text) continue;
      this.derivedNow.set(key, text);
      this.link.publishQuiet(this.topics.derived(key), text, true);
    }
    this.derivedPending.clear();
  }

  batch(): BatchBuilder {
    return readingsBatch({
      topics: this.topics,
      metrics: this.metrics,
      limited: this.link.limited,
      builders: this.builders,
      perValue: this.perValue,
      newest: (r) => { if (r.sa !== undefined) this.ha.sawSolarCurrent(); },
      publishAll: (msgs) => {
        this.flushDerivedWithDelivery();
        return this.link.publishAll(msgs);
      },
    });
  }

  /** Marks the bridge offline (retained), disconnects, fails pending deliveries. */
  stop(): Promise<void> {
    if (this.derivedTimer) clearTimeout(this.derivedTimer);
    this.flushDerived();
    return this.link.stop();
  }
}
