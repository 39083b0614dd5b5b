/**
 * The MQTT sink (mqtt.js, QoS 1). Per batch of spooled records (one record when live, up
 * to max_inflight when catching up after an outage):
 *   <base>/readings   every reading of the batch, in order, as one JSON array of spooled
 *                     frames {"ts":…,"frame":{…protocol fields…}} (not retained)
 *   <base>/state      the newest reading in friendly form (state-payload.ts), retained
 *   <base>/<channel>/<quantity>, charger/…, faults   its values, retained
 *   <base>/event      each MCU event (not retained)
 * Live, that is one state message per reading. Catching up, `state` jumps to the newest
 * values at once while `readings` carries the full history; it is the spool's own JSON, so
 * a backlog costs no per-reading work here, and one message per reading would cap it at
 * what mqtt.js can acknowledge one by one.
 * A batch counts as delivered when the broker acknowledged every publish (PUBACK); after a
 * lost connection the whole batch is published again, so delivery is at least once.
 *
 * Also: LWT availability, Home Assistant discovery (re-announced when Home Assistant says
 * it is online), and the command topics, handed to the CommandRouter.
 */
import fs from 'node:fs';
import mqtt, { IClientOptions, MqttClient } from 'mqtt';
import { Backoff } from '../../backoff';
import type { BridgeConfig } from '../../config/schema';
import type { Logger } from '../../log/logger';
import { RateLimitedLog } from '../../log/rate-limited-log';
import type { BridgeMetrics } from '../../metrics/bridge-metrics';
import { SpooledFrame, decodeSpooledFrame, isSpooledReadingBytes } from '../../spool/spooled-frame';
import { BuilderPool, ByteBuilder } from '../byte-builder';
import type { BatchBuilder, SinkDelivery } from '../drainer';
import { discoveryMessages } from './ha-discovery';
import { eventJson, readingState, readingValues } from './state-payload';
import { OFFLINE, ONLINE, Topics, topicsFor } from './topics';

export const SINK_NAME = 'mqtt';

export interface MqttSinkHooks {
  /** A payload on the command topic. */
  onCommand?(text: string): void;
  /** auto|on|off on Home Assistant's select topic. */
  onForceMode?(mode: string): void;
}

interface Outgoing {
  topic: string;
  payload: string;
  retain: boolean;
}

export class StoppedError extends Error {}

/** Who we are to the broker and how we trust it: what any client of the configured broker needs. */
export function brokerCredentials(c: BridgeConfig['mqtt']): IClientOptions {
  const o: IClientOptions = { rejectUnauthorized: c.tls.reject_unauthorized };
  if (c.username) o.username = c.username;
  if (c.password) o.password = c.password;
  if (c.tls.ca) o.ca = fs.readFileSync(c.tls.ca);
  if (c.tls.cert) o.cert = fs.readFileSync(c.tls.cert);
  if (c.tls.key) o.key = fs.readFileSync(c.tls.key);
  return o;
}

export class MqttSink implements SinkDelivery {
  readonly name = SINK_NAME;
  readonly topics: Topics;
  private client: MqttClient | null = null;
  private connected = false;
  private stopped = false;
  private sourceUp = false;
  private solarCurrent = false;
  private connectWaiters: Array<() => void> = [];
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly limited: RateLimitedLog;
  /** The readings payload is built in one reused builder (its string is made at once). */
  private readonly builders = new BuilderPool(1, 64 * 1024);

  constructor(
    private readonly config: BridgeConfig['mqtt'],
    private readonly deviceId: string,
    private readonly swVersion: string,
    private readonly log: Logger,
    private readonly metrics: BridgeMetrics,
    private readonly hooks: MqttSinkHooks = {},
  ) {
    this.topics = topicsFor(config.base_topic);
    this.backoff = new Backoff({ initialMs: config.reconnect_initial_ms, maxMs: config.reconnect_max_ms });
    this.limited = new RateLimitedLog(log, 10000);
    metrics.sinkConnected.set(0, { sink: SINK_NAME });
  }

  private clientOptions(): IClientOptions {
    const c = this.config;
    const o: IClientOptions = {
      clientId: c.client_id,
      keepalive: c.keepalive_s,
      connectTimeout: c.connect_timeout_ms,
      // Reconnection is ours (capped exponential backoff); mqtt.js's is a fixed period.
      reconnectPeriod: 0,
      clean: true,
      protocolVersion: 4,
      // mqtt-packet's default number cache is 65,536 two-byte Buffers, about 6 MB of heap
      // that stays for the process's life: most of an idle bridge's JavaScript heap.
      writeCache: false,
      will: { topic: this.topics.availability, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    };
    return { ...o, ...brokerCredentials(c) };
  }

  start(): void {
    const client = mqtt.connect(this.config.url, this.clientOptions());
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'connection' });
      this.limited.warn('mqtt_error', `broker ${this.config.url}: ${err.message}`);
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload.toString('utf8')));
  }

  private onConnect(): void {
    const client = this.client!;
    this.connected = true;
    this.backoff.reset();
    this.metrics.sinkConnected.set(1, { sink: SINK_NAME });
    this.log.info(`connected to ${this.config.url}`, { base_topic: this.topics.base });
    const subs: string[] = [];
    if (this.config.commands.enabled) subs.push(this.topics.command, this.topics.forceModeSet);
    if (this.config.homeassistant.enabled) subs.push(this.config.homeassistant.status_topic);
    if (subs.length > 0) {
      client.subscribeAsync(subs, { qos: 1 }).catch((e: Error) => this.limited.warn('mqtt_subscribe', `subscribe failed: ${e.message}`));
    }
    this.publishQuiet(this.topics.availability, ONLINE, true);
    this.publishQuiet(this.topics.sourceAvailability, this.sourceUp ? ONLINE : OFFLINE, true);
    this.announce();
    const w = this.connectWaiters;
    this.connectWaiters = [];
    for (const f of w) f();
  }

  private onClose(): void {
    const was = this.connected;
    this.connected = false;
    this.metrics.sinkConnected.set(0, { sink: SINK_NAME });
    if (this.stopped) return;
    if (was) this.log.warn(`lost the broker ${this.config.url}`);
    if (this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.limited.emit('info', 'mqtt_reconnect', `reconnecting to ${this.config.url} in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped && this.client) this.client.reconnect();
    }, delay);
  }

  private onMessage(topic: string, text: string): void {
    if (topic === this.config.homeassistant.status_topic) {
      if (text.trim() === 'online') {
        this.log.info('Home Assistant is online: announcing discovery again');
        this.announce();
      }
      return;
    }
    if (topic === this.topics.command) this.hooks.onCommand?.(text);
    else if (topic === this.topics.forceModeSet) this.hooks.onForceMode?.(text.trim());
  }

  /** Publishes without waiting; a failure is logged (it is sent again on the next connect). */
  private publishQuiet(topic: string, payload: string, retain: boolean): void {
    if (!this.client || !this.connected) return;
    this.client.publishAsync(topic, payload, { qos: 1, retain }).catch((e: Error) => {
      this.limited.warn('mqtt_publish', `publish to ${topic} failed: ${e.message}`);
    });
  }

  private announce(): void {
    if (!this.config.homeassistant.enabled) return;
    for (const m of discoveryMessages({
      deviceId: this.deviceId,
      deviceName: this.config.homeassistant.device_name,
      discoveryPrefix: this.config.homeassistant.discovery_prefix,
      topics: this.topics,
      solarCurrent: this.solarCurrent,
      swVersion: this.swVersion,
      commands: this.config.commands.enabled,
    })) {
      this.publishQuiet(m.topic, JSON.stringify(m.payload), true);
    }
  }

  /** The MCU link went up or down. */
  setSourceUp(up: boolean): void {
    if (up === this.sourceUp) return;
    this.sourceUp = up;
    this.publishQuiet(this.topics.sourceAvailability, up ? ONLINE : OFFLINE, true);
  }

  // ---- NUT server (issue 18): mains outage/restored events, not retained ----
  publishMainsEvent(payload: object): void {
    this.publishQuiet(`${this.topics.event}/mains`, JSON.stringify(payload), false);
  }
  // ---- end NUT ----

  /** Publishes a command reply (not retained). */
  publishReply(payload: object): void {
    this.publishQuiet(this.topics.commandReply, JSON.stringify(payload), false);
  }

  /**
   * A batch's messages, built as its records are read: readings are copied byte for byte
   * into one `readings` payload, events become their own messages, and only the newest
   * reading is parsed, for the retained state and values.
   */
  batch(): BatchBuilder {
    const events: Outgoing[] = [];
    const readings = this.builders.take();
    // [start, end) of each reading inside `readings`, to find the newest readable one.
    const spans: number[] = [];
    readings.byte(0x5b /* [ */);
    return {
      add: (buf, start, end) => {
        if (isSpooledReadingBytes(buf, start, end)) {
          if (spans.length > 0) readings.byte(0x2c /* , */);
          spans.push(readings.length);
          readings.bytes(buf, start, end);
          spans.push(readings.length);
          return;
        }
        const rec = decodeSpooledFrame(buf.toString('latin1', start, end));
        if (!rec || rec.frame.type !== 'E') {
          // Cannot happen for records this bridge wrote; a record from a damaged disk is
          // skipped, not retried forever.
          this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'bad_record' });
          this.limited.warn('mqtt_bad_record', 'skipped an unreadable spool record');
          return;
        }
        events.push({ topic: this.topics.event, payload: JSON.stringify(eventJson(rec.frame, rec.ts)), retain: false });
      },
      send: () => {
        let msgs: Outgoing[];
        try {
          msgs = events;
          this.addReadings(msgs, readings, spans);
        } catch (e) {
          return Promise.reject(e); // as from an async function: the drainer never sees a throw
        } finally {
          this.builders.release(readings);
        }
        return this.publishAll(msgs);
      },
    };
  }

  /** The readings message, and the newest reading as retained state and values. */
  private addReadings(out: Outgoing[], readings: ByteBuilder, spans: number[]): void {
    const all = readings.result();
    // Only the newest reading is parsed; one that cannot be read is left out of the batch.
    let newest: SpooledFrame | null = null;
    while (spans.length > 0 && !(newest = decodeSpooledFrame(all.toString('latin1', spans[spans.length - 2], spans[spans.length - 1])))) {
      spans.length -= 2;
      this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'bad_record' });
    }
    if (!newest || newest.frame.type !== 'R') return;
    const r = newest.frame;
    // Cut at the end of the newest readable reading and close the array.
    readings.drop(readings.length - spans[spans.length - 1]);
    readings.byte(0x5d /* ] */);
    // A string, not the Buffer: mqtt.js deep-copies a Buffer payload into its store until
    // the PUBACK (a second copy, off-heap, freed late); a string it shares.
    out.push({ topic: this.topics.readings, payload: readings.result().toString('latin1'), retain: false });
    out.push({ topic: this.topics.state, payload: JSON.stringify(readingState(r, newest.ts)), retain: true });
    if (!this.solarCurrent && r.sa !== undefined) {
      this.solarCurrent = true;
      this.announce();
    }
    for (const [path, value] of readingValues(r)) out.push({ topic: this.topics.value(path), payload: value, retain: true });
  }

  private whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  private async publishAll(msgs: Outgoing[]): Promise<void> {
    for (;;) {
      if (this.stopped) throw new StoppedError('mqtt sink stopped');
      await this.whenConnected();
      if (this.stopped) throw new StoppedError('mqtt sink stopped');
      const client = this.client!;
      try {
        await Promise.all(msgs.map((m) => client.publishAsync(m.topic, m.payload, { qos: 1, retain: m.retain })));
        return;
      } catch (e) {
        // The connection dropped with publishes unacknowledged: all of them go again.
        this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'network' });
        this.limited.warn('mqtt_deliver', `publish not acknowledged (${(e as Error).message}); will publish the batch again after reconnecting`);
        if (this.connected && this.client && !this.client.connected) this.onClose();
      }
    }
  }

  /** Marks the bridge offline (retained), disconnects, fails pending deliveries. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const client = this.client;
    if (client && this.connected) {
      try {
        await Promise.race([
          client.publishAsync(this.topics.availability, OFFLINE, { qos: 1, retain: true }),
          new Promise((r) => setTimeout(r, 2000)),
        ]);
      } catch {
        // The broker is gone; the LWT says offline for us.
      }
    }
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const w = this.connectWaiters;
    this.connectWaiters = [];
    for (const f of w) f();
    if (client) await client.endAsync(true).catch(() => undefined);
    this.metrics.sinkConnected.set(0, { sink: SINK_NAME });
  }
}
