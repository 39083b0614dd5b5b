/**
 * Home Assistant MQTT discovery: one retained config message per entity, all under one
 * device. Pure. Entities read the retained JSON state topic through value_template (a
 * null value renders "None", which Home Assistant shows as unknown), and are available
 * only while both the bridge (LWT) and its link to the MCU are online.
 *
 * Config topics: <prefix>/<component>/<node_id>/<object_id>/config with
 * node_id = solar_<device_id>, object_id = <device_id>_<entity>.
 */
import { WHY_BAT_LOW, WHY_BAT_LOW_SUN_DOWN, WHY_BOOT, WHY_DWELL, WHY_FAILSAFE, WHY_FLOOR, WHY_FORCED_OFF, WHY_FORCED_ON, WHY_RELEASED, WHY_SUN_DOWN } from '../../../../protocol';
import type { DerivedValueSpec } from '../../core/derived-values';
import { QUANTITIES } from '../../reading-model';
import { OFFLINE, ONLINE, Topics } from './topics';

export interface DiscoveryOptions {
  deviceId: string;
  deviceName: string;
  discoveryPrefix: string;
  topics: Topics;
  /** Announce solar current and power: the MCU has a third INA219 on the panel. */
  solarCurrent: boolean;
  /** Bridge version, shown in Home Assistant's device page. */
  swVersion: string;
  /** Whether the force-mode select is announced (commands enabled). */
  commands: boolean;
  /** Values features compute (derived-values.ts), each on its own retained topic. */
  derived?: readonly DerivedValueSpec[];
  /** mqtt.state_qos: what the state and derived topics are published at. */
  stateQos: 0 | 1;
}

export interface DiscoveryMessage {
  topic: string;
  payload: { [key: string]: unknown };
}

export const REASONS = [WHY_RELEASED, WHY_BAT_LOW, WHY_SUN_DOWN, WHY_BAT_LOW_SUN_DOWN, WHY_FORCED_ON, WHY_FORCED_OFF, WHY_FLOOR, WHY_DWELL, WHY_FAILSAFE, WHY_BOOT];

export function discoveryMessages(o: DiscoveryOptions): DiscoveryMessage[] {
  const node = `solar_${o.deviceId}`;
  const device = {
    identifiers: [node],
    name: o.deviceName,
    manufacturer: 'solar-cluster',
    model: 'Espruino power monitor (2 x INA219B)',
    sw_version: o.swVersion,
  };
  const origin = { name: 'solar-cluster bridge', sw_version: o.swVersion };
  const bothOnline = {
    availability: [
      { topic: o.topics.availability, payload_available: ONLINE, payload_not_available: OFFLINE },
      { topic: o.topics.sourceAvailability, payload_available: ONLINE, payload_not_available: OFFLINE },
    ],
    availability_mode: 'all',
  };
  // `qos` is the most Home Assistant subscribes (and publishes) with: an entity reading a
  // topic published at QoS 0 asks for no more; the select's commands and the MCU link's
  // availability stay QoS 1.
  const common = (entity: string, name: string, qos: 0 | 1 = o.stateQos): { [key: string]: unknown } => ({
    name,
    unique_id: `${node}_${entity}`,
    device,
    origin,
    qos,
  });
  const topic = (component: string, entity: string): string => `${o.discoveryPrefix}/${component}/${node}/${o.deviceId}_${entity}/config`;
  const out: DiscoveryMessage[] = [];

  for (const q of QUANTITIES) {
    if (q.optional && !o.solarCurrent) continue;
    const entity = `${q.channel}_${q.name}`;
    const p: { [key: string]: unknown } = {
      ...common(entity, q.label),
      ...bothOnline,
      state_topic: o.topics.state,
      value_template: `{{ value_json.${q.channel}.${q.name} }}`,
      unit_of_measurement: q.unit,
      state_class: q.stateClass,
      suggested_display_precision: Math.min(q.decimals, 2),
    };
    if (q.deviceClass) p.device_class = q.deviceClass;
    out.push({ topic: topic('sensor', entity), payload: p });
  }

  out.push({
    topic: topic('binary_sensor', 'charger'),
    payload: {
      ...common('charger', 'Mains charger'),
      ...bothOnline,
      state_topic: o.topics.state,
      value_template: '{{ value_json.charger.state }}',
      payload_on: 'ON',
      payload_off: 'OFF',
      device_class: 'power',
    },
  });
  out.push({
    topic: topic('sensor', 'charger_reason'),
    payload: {
      ...common('charger_reason', 'Charger reason'),
      ...bothOnline,
      state_topic: o.topics.state,
      value_template: '{{ value_json.charger.reason }}',
      device_class: 'enum',
      options: REASONS,
    },
  });
  if (o.commands) {
    out.push({
      topic: topic('select', 'charger_force'),
      payload: {
        ...common('charger_force', 'Charger force mode', 1),
        ...bothOnline,
        state_topic: o.topics.state,
        value_template: '{{ value_json.charger.mode }}',
        command_topic: o.topics.forceModeSet,
        options: ['auto', 'on', 'off'],
        retain: false,
      },
    });
  }
  out.push({
    topic: topic('sensor', 'faults'),
    payload: {
      ...common('faults', 'Fault flags'),
      ...bothOnline,
      state_topic: o.topics.state,
      value_template: "{{ value_json.faults.names | join(', ') if value_json.faults.names else 'none' }}",
      entity_category: 'diagnostic',
    },
  });
  out.push({
    topic: topic('sensor', 'uptime'),
    payload: {
      ...common('uptime', 'MCU uptime'),
      ...bothOnline,
      state_topic: o.topics.state,
      value_template: '{{ value_json.uptime_s }}',
      device_class: 'duration',
      unit_of_measurement: 's',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    },
  });
  for (const d of o.derived ?? []) {
    const ha = d.homeassistant ?? {};
    const component = ha.component ?? 'sensor';
    const p: { [key: string]: unknown } = { ...common(d.key, d.label), ...bothOnline, state_topic: o.topics.derived(d.key) };
    if (component === 'binary_sensor') {
      p.payload_on = 'true';
      p.payload_off = 'false';
    } else {
      if (d.unit) p.unit_of_measurement = d.unit;
      if (d.decimals !== undefined) p.suggested_display_precision = d.decimals;
      if (ha.state_class) p.state_class = ha.state_class;
    }
    if (ha.device_class) p.device_class = ha.device_class;
    if (ha.entity_category) p.entity_category = ha.entity_category;
    if (ha.icon) p.icon = ha.icon;
    out.push({ topic: topic(component, d.key), payload: p });
  }
  out.push({
    topic: topic('binary_sensor', 'link'),
    payload: {
      ...common('link', 'MCU link', 1),
      // Only the bridge's own availability: this entity is what reports the link down.
      availability: [{ topic: o.topics.availability, payload_available: ONLINE, payload_not_available: OFFLINE }],
      state_topic: o.topics.sourceAvailability,
      payload_on: ONLINE,
      payload_off: OFFLINE,
      device_class: 'connectivity',
      entity_category: 'diagnostic',
    },
  });
  return out;
}
