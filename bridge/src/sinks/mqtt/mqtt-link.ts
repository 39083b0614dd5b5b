/**
 * The MQTT sink's connection to the broker (mqtt.js): connect with our own capped
 * backoff, the LWT that marks the bridge offline if it dies, subscriptions renewed on
 * every connect, quiet publishes for state that is sent again on reconnect, and
 * deliveries whose QoS 1 messages are published again after a lost connection (at least once).
 */
import fs from 'node:fs';
import mqtt, { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';
import { Backoff } from '../../backoff';
import type { BridgeConfig } from '../../config/schema';
import type { Logger } from '../../log/logger';
import { RateLimitedLog } from '../../log/rate-limited-log';
import type { BridgeMetrics } from '../../metrics/bridge-metrics';
import { keepaliveTimer } from './keepalive-timer';
import { OFFLINE } from './topics';

export const SINK_NAME = 'mqtt';

export type Qos = 0 | 1;

export interface Outgoing {
  topic: string;
  payload: string;
  retain: boolean;
  /** 0: sent, not acknowledged (state that the next reading replaces); 1: the delivery waits for its PUBACK. */
  qos: Qos;
}

// mqtt.js copies the options it is given: one object each, not one per publish.
const PUBLISH_OPTIONS: { readonly [key: string]: IClientPublishOptions } = {
  '0': { qos: 0, retain: false },
  '0r': { qos: 0, retain: true },
  '1': { qos: 1, retain: false },
  '1r': { qos: 1, retain: true },
};
function publishOptions(qos: Qos, retain: boolean): IClientPublishOptions {
  return PUBLISH_OPTIONS[retain ? `${qos}r` : `${qos}`];
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

export interface LinkHooks {
  /** Subscriptions to (re)make on each connect. */
  subscriptions(): string[];
  /** Connected (again): publish the retained state that describes us. */
  connected(): void;
  message(topic: string, text: string): void;
}

export class MqttLink {
  readonly limited: RateLimitedLog;
  private client: MqttClient | null = null;
  private connected = false;
  private stopped = false;
  private connectWaiters: Array<() => void> = [];
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Fails a delivery in flight (send()); see onClose(). */
  private readonly inFlight = new Set<(e: Error) => void>();

  constructor(
    private readonly config: BridgeConfig['mqtt'],
    /** Where the LWT and the clean stop say "offline". */
    private readonly availabilityTopic: string,
    private readonly log: Logger,
    private readonly metrics: BridgeMetrics,
    private readonly hooks: LinkHooks,
  ) {
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
      // By default every PUBACK replaces the keepalive timer (a clearInterval and a new
      // setInterval, twice a reading at 1/s). Without, a PINGREQ goes every keepalive_s
      // even while publishing (one small round trip a minute at the default), and a dead
      // broker is found 2 x keepalive_s after its last answer (keepalive-timer.ts).
      reschedulePings: false,
      // Two wake-ups per keepalive instead of four on an idle link (keepalive-timer.ts).
      timerVariant: keepaliveTimer(),
      will: { topic: this.availabilityTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
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
    client.on('message', (topic, payload) => this.hooks.message(topic, payload.toString('utf8')));
  }

  private onConnect(): void {
    const client = this.client!;
    this.connected = true;
    this.backoff.reset();
    this.metrics.sinkConnected.set(1, { sink: SINK_NAME });
    this.log.info(`connected to ${this.config.url}`, { base_topic: this.config.base_topic });
    const subs = this.hooks.subscriptions();
    if (subs.length > 0) {
      client.subscribeAsync(subs, { qos: 1 }).catch((e: Error) => {
        // Cut off by our own stop, or by a lost connection (the next connect subscribes
        // again): neither is worth a warning. A stop right after start hit this.
        if (this.stopped || !this.connected) return;
        this.limited.warn('mqtt_subscribe', `subscribe failed: ${e.message}`);
      });
    }
    this.hooks.connected();
    const w = this.connectWaiters;
    this.connectWaiters = [];
    for (const f of w) f();
  }

  private onClose(): void {
    const was = this.connected;
    this.connected = false;
    this.metrics.sinkConnected.set(0, { sink: SINK_NAME });
    // mqtt.js keeps unacknowledged QoS 1 publishes and sends them again after the next
    // connect, but a publish made in between (the state, a delivery waiting for the
    // connect) can take a kept one's packet id: the kept one is then skipped and its
    // callback never called, and its delivery would wait forever (seen once in the pty
    // fault suite, the MQTT sink stalled after a broker restart). So every delivery in
    // flight fails here and goes again, whole, once connected (at least once either way).
    for (const fail of [...this.inFlight]) fail(new Error('the connection closed before the broker acknowledged'));
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

  /** Publishes without waiting; a failure is logged (it is sent again on the next connect). */
  publishQuiet(topic: string, payload: string, retain: boolean, qos: Qos = 1): void {
    if (!this.client || !this.connected) return;
    if (qos === 0) {
      this.client.publish(topic, payload, publishOptions(0, retain));
      return;
    }
    this.client.publish(topic, payload, publishOptions(1, retain), (e) => {
      if (!e || this.stopped) return;
      this.limited.warn('mqtt_publish', `publish to ${topic} failed: ${e.message}`);
    });
  }

  private whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  /**
   * Resolves once the broker acknowledged every QoS 1 message; rejects (StoppedError) only
   * when stopped. While connected the messages are written at once, in this tick, so
   * whatever else was published in it (derived values) shares their one socket write.
   */
  publishAll(msgs: Outgoing[]): Promise<void> {
    if (this.stopped) return Promise.reject(new StoppedError('mqtt sink stopped'));
    if (!this.connected) return this.publishAllAgain(msgs, null);
    return this.send(this.client!, msgs).catch((e: Error) => this.publishAllAgain(msgs, e));
  }

  /** The messages, in order; settles with the last PUBACK (or the first failure). */
  private send(client: MqttClient, msgs: Outgoing[]): Promise<void> {
    return new Promise((resolve, reject) => {
      let unacknowledged = 1;
      let failed = false;
      const acknowledged = (e?: Error): void => {
        if (failed) return;
        if (e) {
          failed = true;
          this.inFlight.delete(acknowledged);
          reject(e);
        } else if (--unacknowledged === 0) {
          this.inFlight.delete(acknowledged);
          resolve();
        }
      };
      this.inFlight.add(acknowledged);
      for (const m of msgs) {
        if (m.qos === 0) client.publish(m.topic, m.payload, publishOptions(0, m.retain));
        else {
          unacknowledged++;
          client.publish(m.topic, m.payload, publishOptions(1, m.retain), acknowledged);
        }
      }
      acknowledged();
    });
  }

  /** After a failure (or while disconnected): the whole batch again once connected, until it is acknowledged or we stop. */
  private async publishAllAgain(msgs: Outgoing[], failure: Error | null): Promise<void> {
    for (;;) {
      if (failure) {
        // The connection dropped with publishes unacknowledged: all of them go again.
        this.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'network' });
        this.limited.warn('mqtt_deliver', `publish not acknowledged (${failure.message}); will publish the batch again after reconnecting`);
        if (this.connected && this.client && !this.client.connected) this.onClose();
      }
      if (this.stopped) throw new StoppedError('mqtt sink stopped');
      await this.whenConnected();
      if (this.stopped) throw new StoppedError('mqtt sink stopped');
      try {
        await this.send(this.client!, msgs);
        return;
      } catch (e) {
        failure = e as Error;
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
          client.publishAsync(this.availabilityTopic, OFFLINE, { qos: 1, retain: true }),
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
