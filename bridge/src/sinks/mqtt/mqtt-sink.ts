/**
 * The MQTT sink: the broker link (mqtt-link.ts), one delivery per batch of spooled
 * records (readings-batch.ts: one record when live, up to max_inflight when catching up
 * after an outage), Home Assistant discovery (home-assistant.ts), the MCU link's
 * availability, values features compute, and the command topics, handed to whoever
 * answers commands (the core's command path).
 * A batch counts as delivered when the broker acknowledged its QoS 1 publishes (PUBACK: the
 * readings and events); after a lost connection they are published again, so delivery is
 * at least once. The retained topics that only say what is true now (state, per-value and
 * derived values) go at mqtt.state_qos, and are published again on every connect.
 */
import type { BridgeConfig } from '../../config/schema';
import type { DerivedValue, DerivedValueSpec } from '../../core/derived-values';
import type { Logger } from '../../log/logger';
import type { BridgeMetrics } from '../../metrics/bridge-metrics';
import { BuilderPool } from '../byte-builder';
import type { BatchBuilder, SinkDelivery } from '../drainer';
import { DerivedPacer } from './derived-pacer';
import { HomeAssistantAnnouncer } from './home-assistant';
import { MqttLink, Qos, SINK_NAME } from './mqtt-link';
import { PerValueTopics } from './per-value-topics';
import { readingsBatch } from './readings-batch';
import { OFFLINE, ONLINE, Topics, topicsFor } from './topics';

export { SINK_NAME, StoppedError, brokerCredentials } from './mqtt-link';

/** How long values set from a reading wait for its delivery, which usually comes first. */
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
  /** Derived values: what is due when, and what was published (again on each connect: they are retained). */
  private readonly derived: DerivedPacer;
  /** A delivery this close to the values' due time takes them (it comes about once per reading). */
  private readonly derivedEarlyMs: number;
  private derivedTimer: NodeJS.Timeout | undefined;
  /** mqtt.state_qos. */
  private readonly stateQos: Qos;
  /** The newest state payload handed to the broker: at QoS 0 one in flight when the connection drops is lost, so each connect sends it again. */
  private lastState: string | null = null;

  constructor(
    config: BridgeConfig['mqtt'],
    deviceId: string,
    swVersion: string,
    log: Logger,
    private readonly metrics: BridgeMetrics,
    private readonly hooks: MqttSinkHooks = {},
  ) {
    this.topics = topicsFor(config.base_topic);
    this.stateQos = config.state_qos as Qos;
    this.perValue = config.per_value_topics ? new PerValueTopics() : null;
    this.derived = new DerivedPacer(config.derived_interval_s * 1000);
    // Half the interval: wider than the source's read interval (3 s by default), so a paced
    // trickle has a delivery in it.
    this.derivedEarlyMs = config.derived_interval_s * 500;
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
    if (this.lastState !== null) this.link.publishQuiet(this.topics.state, this.lastState, true, this.stateQos);
    this.perValue?.forget();
    for (const [key, text] of this.derived.published()) this.link.publishQuiet(this.topics.derived(key), text, true, this.stateQos);
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
   * Values a feature set: each on its retained topic, paced by DerivedPacer (numbers at most
   * every mqtt.derived_interval_s, changes of kind at once). Values set from a reading go
   * out with a reading's delivery (no timer of their own, their acknowledgements read with
   * the delivery's); the timer, which waits long enough for a delivery to come first, is
   * for values set between readings.
   */
  publishDerived(values: { readonly [key: string]: DerivedValue }): void {
    for (const key of Object.keys(values)) this.derived.set(key, values[key]);
    if (this.derivedTimer) return;
    const due = this.derived.dueInMs(performance.now());
    if (due === null) return;
    // A number due later waits past its due time by the ride window: readings come more
    // often than that, and one rides it out first (flushDerivedWithDelivery), so the timer
    // fires only when the readings stop.
    this.derivedTimer = setTimeout(() => {
      this.derivedTimer = undefined;
      this.flushDerived();
    }, due === 0 ? DERIVED_RIDE_MS : due + this.derivedEarlyMs);
    this.derivedTimer.unref();
  }

  /** A delivery is about to be published: due values ride with it. */
  private flushDerivedWithDelivery(): void {
    const due = this.derived.dueInMs(performance.now());
    if (due === null || due > this.derivedEarlyMs) return;
    if (this.derivedTimer) clearTimeout(this.derivedTimer);
    this.derivedTimer = undefined;
    this.flushDerived();
  }

  /** Quiet publishes, not part of a delivery: a delivery published again after a lost connection must not bring back an older value. */
  private flushDerived(): void {
    for (const [key, text] of this.derived.take(performance.now())) this.link.publishQuiet(this.topics.derived(key), text, true, this.stateQos);
  }

  batch(): BatchBuilder {
    return readingsBatch({
      topics: this.topics,
      metrics: this.metrics,
      limited: this.link.limited,
      builders: this.builders,
      perValue: this.perValue,
      stateQos: this.stateQos,
      newest: (r, state) => {
        this.lastState = state;
        if (r.sa !== undefined) this.ha.sawSolarCurrent();
      },
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
