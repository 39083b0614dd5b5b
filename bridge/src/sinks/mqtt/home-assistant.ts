/**
 * The MQTT sink's side for Home Assistant: discovery messages (retained), announced on
 * every connect, again when Home Assistant says it is online (its status topic), when
 * the first reading shows a solar current sensor, and when a feature declares values.
 */
import type { BridgeConfig } from '../../config/schema';
import type { DerivedValueSpec } from '../../core/derived-values';
import type { Logger } from '../../log/logger';
import { discoveryMessages } from './ha-discovery';
import type { Topics } from './topics';

export class HomeAssistantAnnouncer {
  private solarCurrent = false;
  private derived: readonly DerivedValueSpec[] = [];

  constructor(
    private readonly config: BridgeConfig['mqtt'],
    private readonly deviceId: string,
    private readonly swVersion: string,
    private readonly topics: Topics,
    private readonly log: Logger,
    private readonly publish: (topic: string, payload: string, retain: boolean) => void,
  ) {}

  get enabled(): boolean {
    return this.config.homeassistant.enabled;
  }

  /** Home Assistant's status topic, if it is to be watched. */
  statusTopic(): string[] {
    return this.enabled ? [this.config.homeassistant.status_topic] : [];
  }

  /** Handles a message on the status topic; false if `topic` is not it. */
  message(topic: string, text: string): boolean {
    if (!this.enabled || topic !== this.config.homeassistant.status_topic) return false;
    if (text.trim() === 'online') {
      this.log.info('Home Assistant is online: announcing discovery again');
      this.announce();
    }
    return true;
  }

  /** A reading carries the panel current: announce its entities (once). */
  sawSolarCurrent(): void {
    if (this.solarCurrent) return;
    this.solarCurrent = true;
    this.announce();
  }

  setDerived(specs: readonly DerivedValueSpec[]): void {
    this.derived = specs;
    this.announce();
  }

  announce(): void {
    if (!this.enabled) return;
    for (const m of discoveryMessages({
      deviceId: this.deviceId,
      deviceName: this.config.homeassistant.device_name,
      discoveryPrefix: this.config.homeassistant.discovery_prefix,
      topics: this.topics,
      solarCurrent: this.solarCurrent,
      swVersion: this.swVersion,
      commands: this.config.commands.enabled,
      derived: this.derived,
      stateQos: this.config.state_qos as 0 | 1,
    })) {
      this.publish(m.topic, JSON.stringify(m.payload), true);
    }
  }
}
