/** A real MQTT subscriber (mqtt.js) that records every message it gets. */
import mqtt, { IClientOptions, MqttClient } from 'mqtt';
import type { SpooledFrame } from '../../../bridge/src';
import { waitFor } from '../../helpers/services';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  /** As delivered to this subscriber (it subscribes at 1: the publisher's QoS, at most 1). */
  qos: number;
}

export class MqttRecorder {
  readonly messages: Received[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain, qos: packet.qos }));
  }

  static async connect(url: string, topics: string[], options: IClientOptions = {}): Promise<MqttRecorder> {
    const client = mqtt.connect(url, { reconnectPeriod: 200, connectTimeout: 5000, ...options });
    const rec = new MqttRecorder(client);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`test subscriber could not connect to ${url}`)), 10000);
      client.once('connect', () => { clearTimeout(t); resolve(); });
    });
    if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
    return rec;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Every reading published on a `readings` topic (JSON arrays of spooled frames), flattened in order. */
  readings(topic: string): SpooledFrame[] {
    const out: SpooledFrame[] = [];
    for (const m of this.on(topic)) out.push(...(JSON.parse(m.payload) as SpooledFrame[]));
    return out;
  }

  last(topic: string): Received | undefined {
    const all = this.on(topic);
    return all[all.length - 1];
  }

  async waitFor(what: string, check: () => boolean, timeoutMs = 15000): Promise<void> {
    await waitFor(check, { timeoutMs, what, detail: () => `received ${this.messages.length} messages; last: ${JSON.stringify(this.messages.slice(-3))}` });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
