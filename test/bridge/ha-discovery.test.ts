/**
 * The discovery payloads checked field by field against Home Assistant's documented MQTT
 * discovery schema (home-assistant.io: "MQTT Discovery", "MQTT Sensor", "MQTT Binary
 * sensor", "MQTT Select", and the sensor device-class table with its units). The schema
 * below is written out from those pages, not derived from the code under test.
 */
import assert from 'node:assert/strict';
import { decodeLine, ReadingFrame } from '../../protocol';
import { DiscoveryMessage, discoveryMessages, readingState, topicsFor } from '../../bridge/src';
import { readingLine } from './helpers/frames';

// ---- Home Assistant's documented schema ----

/** <discovery_prefix>/<component>/[<node_id>/]<object_id>/config; ids are [a-zA-Z0-9_-]+. */
const TOPIC_RE = /^homeassistant\/(sensor|binary_sensor|select)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/config$/;

/** Sensor device classes and the units Home Assistant accepts for each. */
const SENSOR_UNITS: { [dc: string]: string[] } = {
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  current: ['A', 'mA'],
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW', 'BTU/h'],
  energy: ['J', 'kJ', 'MJ', 'GJ', 'mWh', 'Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'cal', 'kcal', 'Mcal', 'Gcal'],
  duration: ['d', 'h', 'min', 's', 'ms', 'µs'],
  enum: [],
};
/** State classes allowed with each device class (energy is a total; enum has none). */
const SENSOR_STATE_CLASSES: { [dc: string]: string[] } = {
  voltage: ['measurement'],
  current: ['measurement'],
  power: ['measurement'],
  energy: ['total', 'total_increasing'],
  duration: ['measurement', 'total', 'total_increasing'],
  enum: [],
  '': ['measurement', 'total', 'total_increasing'],
};
const BINARY_SENSOR_CLASSES = ['battery', 'battery_charging', 'carbon_monoxide', 'cold', 'connectivity', 'door', 'garage_door', 'gas', 'heat', 'light', 'lock', 'moisture', 'motion', 'moving', 'occupancy', 'opening', 'plug', 'power', 'presence', 'problem', 'running', 'safety', 'smoke', 'sound', 'tamper', 'update', 'vibration', 'window'];
const ENTITY_CATEGORIES = ['config', 'diagnostic'];

const COMMON_KEYS = ['name', 'unique_id', 'device', 'origin', 'availability', 'availability_mode', 'availability_topic', 'payload_available', 'payload_not_available', 'qos', 'entity_category', 'icon', 'enabled_by_default', 'json_attributes_topic', 'json_attributes_template', 'object_id', 'default_entity_id', 'encoding'];
const ALLOWED_KEYS: { [component: string]: string[] } = {
  sensor: [...COMMON_KEYS, 'state_topic', 'value_template', 'device_class', 'state_class', 'unit_of_measurement', 'suggested_display_precision', 'options', 'expire_after', 'force_update', 'last_reset_value_template'],
  binary_sensor: [...COMMON_KEYS, 'state_topic', 'value_template', 'device_class', 'payload_on', 'payload_off', 'expire_after', 'force_update', 'off_delay'],
  select: [...COMMON_KEYS, 'command_topic', 'command_template', 'state_topic', 'value_template', 'options', 'optimistic', 'retain'],
};
const REQUIRED_KEYS: { [component: string]: string[] } = {
  sensor: ['state_topic'],
  binary_sensor: ['state_topic'],
  select: ['command_topic', 'options'],
};
const DEVICE_KEYS = ['identifiers', 'connections', 'name', 'manufacturer', 'model', 'model_id', 'sw_version', 'hw_version', 'serial_number', 'suggested_area', 'via_device', 'configuration_url'];
const AVAILABILITY_ITEM_KEYS = ['topic', 'payload_available', 'payload_not_available', 'value_template'];

// ---- checks ----

type Obj = { [k: string]: unknown };

function checkCommon(where: string, p: Obj): void {
  assert.equal(typeof p.name, 'string', `${where}: name`);
  assert.match(String(p.unique_id), /^[A-Za-z0-9_-]+$/, `${where}: unique_id`);
  const d = p.device as Obj;
  assert.ok(d && typeof d === 'object', `${where}: device is an object`);
  for (const k of Object.keys(d)) assert.ok(DEVICE_KEYS.includes(k), `${where}: device.${k} is not a documented device key`);
  assert.ok(Array.isArray(d.identifiers) && (d.identifiers as unknown[]).length > 0 && (d.identifiers as unknown[]).every((x) => typeof x === 'string'), `${where}: device.identifiers is a non-empty list of strings`);
  for (const k of ['name', 'manufacturer', 'model', 'sw_version']) assert.equal(typeof d[k], 'string', `${where}: device.${k}`);
  const o = p.origin as Obj;
  assert.equal(typeof o.name, 'string', `${where}: origin.name is required`);
  if ('availability' in p) {
    assert.ok(!('availability_topic' in p), `${where}: availability and availability_topic are exclusive`);
    const list = p.availability as Obj[];
    assert.ok(Array.isArray(list) && list.length > 0, `${where}: availability is a non-empty list`);
    for (const a of list) {
      for (const k of Object.keys(a)) assert.ok(AVAILABILITY_ITEM_KEYS.includes(k), `${where}: availability item key ${k}`);
      assert.equal(typeof a.topic, 'string', `${where}: availability[].topic is required`);
      assert.equal(a.payload_available, 'online');
      assert.equal(a.payload_not_available, 'offline');
    }
    if ('availability_mode' in p) assert.ok(['all', 'any', 'latest'].includes(String(p.availability_mode)), `${where}: availability_mode`);
  }
  if ('qos' in p) assert.ok([0, 1, 2].includes(p.qos as number), `${where}: qos`);
  if ('entity_category' in p) assert.ok(ENTITY_CATEGORIES.includes(String(p.entity_category)), `${where}: entity_category`);
}

/** Resolves `value_json.a.b` in a template against the state JSON: the key must exist. */
function templatePaths(template: string): string[][] {
  const out: string[][] = [];
  const re = /value_json((?:\.[a-z_]+)+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(template))) out.push(m[1].slice(1).split('.'));
  return out;
}

function resolve(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const k of path) {
    assert.ok(cur !== null && typeof cur === 'object' && k in (cur as Obj), `state JSON has no ${path.join('.')}`);
    cur = (cur as Obj)[k];
  }
  return cur;
}

describe('Home Assistant MQTT discovery payloads vs the documented schema', () => {
  const topics = topicsFor('solar/house');
  const base = { deviceId: 'house', deviceName: 'Solar power monitor', discoveryPrefix: 'homeassistant', topics, swVersion: '0.1.0', commands: true, stateQos: 0 as const };
  const withSolar = discoveryMessages({ ...base, solarCurrent: true });
  const decoded = decodeLine(readingLine(5, 7, { sa: 3.5, sw: 63.7 }));
  assert.ok(decoded.ok);
  const state = readingState(decoded.frame as ReadingFrame, 1700000000000);

  it('uses valid config topics, one per entity, with unique ids and one shared device', () => {
    const seen = new Set<string>();
    const uids = new Set<string>();
    for (const m of withSolar) {
      const t = TOPIC_RE.exec(m.topic);
      assert.ok(t, `bad discovery topic ${m.topic}`);
      assert.ok(!seen.has(m.topic), `duplicate topic ${m.topic}`);
      seen.add(m.topic);
      assert.ok(!uids.has(String(m.payload.unique_id)), `duplicate unique_id ${m.payload.unique_id}`);
      uids.add(String(m.payload.unique_id));
    }
    const devices = new Set(withSolar.map((m) => JSON.stringify(m.payload.device)));
    assert.equal(devices.size, 1, 'every entity belongs to the same device');
  });

  it('every payload has only documented keys, its required keys, and valid common fields', () => {
    for (const m of withSolar) {
      const component = TOPIC_RE.exec(m.topic)![1];
      for (const k of Object.keys(m.payload)) assert.ok(ALLOWED_KEYS[component].includes(k), `${m.topic}: ${k} is not a documented ${component} option`);
      for (const k of REQUIRED_KEYS[component]) assert.ok(k in m.payload, `${m.topic}: required ${k} missing`);
      checkCommon(m.topic, m.payload);
    }
  });

  it('sensors: device_class, state_class and unit are a combination Home Assistant accepts', () => {
    const sensors = withSolar.filter((m) => m.topic.startsWith('homeassistant/sensor/'));
    for (const m of sensors) {
      const p = m.payload;
      const dc = (p.device_class as string | undefined) ?? '';
      if (dc) assert.ok(dc in SENSOR_UNITS, `${m.topic}: unknown sensor device_class ${dc}`);
      if (dc === 'enum') {
        assert.ok(!('unit_of_measurement' in p) && !('state_class' in p), `${m.topic}: enum sensors take no unit or state_class`);
        assert.ok(Array.isArray(p.options) && (p.options as unknown[]).length > 0, `${m.topic}: enum needs options`);
        continue;
      }
      assert.ok(!('options' in p), `${m.topic}: options is only for enum sensors`);
      if (dc) assert.ok(SENSOR_UNITS[dc].includes(String(p.unit_of_measurement)), `${m.topic}: unit ${p.unit_of_measurement} not allowed for ${dc}`);
      if ('state_class' in p) assert.ok(SENSOR_STATE_CLASSES[dc].includes(String(p.state_class)), `${m.topic}: state_class ${p.state_class} not allowed for ${dc || 'no device class'}`);
      if ('suggested_display_precision' in p) assert.ok(Number.isInteger(p.suggested_display_precision) && (p.suggested_display_precision as number) >= 0);
    }
    const byId = new Map(sensors.map((m) => [String(m.payload.unique_id), m.payload]));
    const expect = (id: string, dc: string | undefined, sc: string, unit: string): void => {
      const p = byId.get(id);
      assert.ok(p, `missing sensor ${id}`);
      assert.deepEqual([p!.device_class, p!.state_class, p!.unit_of_measurement], [dc, sc, unit], id);
    };
    for (const ch of ['battery', 'load']) {
      expect(`solar_house_${ch}_voltage`, 'voltage', 'measurement', 'V');
      expect(`solar_house_${ch}_current`, 'current', 'measurement', 'A');
      expect(`solar_house_${ch}_power`, 'power', 'measurement', 'W');
      expect(`solar_house_${ch}_energy_in`, 'energy', 'total_increasing', 'Wh');
      expect(`solar_house_${ch}_energy_out`, 'energy', 'total_increasing', 'Wh');
      expect(`solar_house_${ch}_charge_in`, undefined, 'total_increasing', 'Ah');
    }
    expect('solar_house_solar_voltage', 'voltage', 'measurement', 'V');
    expect('solar_house_solar_current', 'current', 'measurement', 'A');
    expect('solar_house_solar_power', 'power', 'measurement', 'W');
  });

  it('the charger is a binary_sensor with a documented device class and payloads the state produces', () => {
    const m = withSolar.find((x) => x.topic === 'homeassistant/binary_sensor/solar_house/house_charger/config')!;
    assert.ok(m, 'charger binary_sensor announced');
    assert.ok(BINARY_SENSOR_CLASSES.includes(String(m.payload.device_class)));
    assert.equal(m.payload.state_topic, topics.state);
    assert.ok(['ON', 'OFF'].includes(String(state.charger.state)));
    assert.deepEqual([m.payload.payload_on, m.payload.payload_off], ['ON', 'OFF']);
    assert.equal(m.payload.value_template, '{{ value_json.charger.state }}');
    const link = withSolar.find((x) => x.topic.endsWith('/house_link/config'))!;
    assert.equal(link.payload.device_class, 'connectivity');
    assert.equal(link.payload.state_topic, topics.sourceAvailability);
  });

  it('force mode is a select whose options are exactly the protocol modes and whose state comes from the JSON', () => {
    const m = withSolar.find((x) => x.topic === 'homeassistant/select/solar_house/house_charger_force/config')!;
    assert.ok(m);
    assert.deepEqual(m.payload.options, ['auto', 'on', 'off']);
    assert.equal(m.payload.command_topic, topics.forceModeSet);
    assert.ok((m.payload.options as string[]).includes(String(resolve(state, ['charger', 'mode']))));
    const without = discoveryMessages({ ...base, commands: false, solarCurrent: false });
    assert.ok(!without.some((x) => x.topic.includes('/select/')), 'no select when commands are disabled');
  });

  it('availability needs both the bridge (LWT) and the MCU link; every template reads a key the state JSON has', () => {
    for (const m of withSolar as DiscoveryMessage[]) {
      const av = (m.payload.availability as Obj[]).map((a) => a.topic);
      if (m.topic.endsWith('/house_link/config')) assert.deepEqual(av, [topics.availability]);
      else {
        assert.deepEqual(av, [topics.availability, topics.sourceAvailability]);
        assert.equal(m.payload.availability_mode, 'all');
      }
      if (m.payload.state_topic === topics.state) {
        const t = String(m.payload.value_template);
        const paths = templatePaths(t);
        assert.ok(paths.length > 0, `${m.topic}: template ${t} reads the JSON`);
        for (const p of paths) resolve(state, p);
      }
    }
  });

  it('qos: entities reading the state and derived topics ask for mqtt.state_qos; the select (it publishes commands) and the link stay at 1', () => {
    const derived = [{ key: 'battery_soc', label: 'State of charge', unit: '%' }];
    for (const stateQos of [0, 1] as const) {
      const msgs = discoveryMessages({ ...base, solarCurrent: true, stateQos, derived });
      const byTopic = (state: string): DiscoveryMessage[] => msgs.filter((m) => m.payload.state_topic === state && !m.topic.includes('/select/'));
      assert.ok(byTopic(topics.state).length >= 20, 'the state topic\'s entities');
      for (const m of byTopic(topics.state)) assert.equal(m.payload.qos, stateQos, m.topic);
      assert.equal(byTopic(topics.derived('battery_soc')).length, 1);
      assert.equal(byTopic(topics.derived('battery_soc'))[0].payload.qos, stateQos);
      const select = msgs.find((m) => m.topic.includes('/select/'))!;
      assert.equal(select.payload.qos, 1, 'Home Assistant publishes force-mode commands at QoS 1');
      assert.equal(msgs.find((m) => m.topic.endsWith('/house_link/config'))!.payload.qos, 1, 'the link entity reads availability, published at QoS 1');
    }
  });

  it('solar current and power are announced only when the MCU measures them', () => {
    const noSolar = discoveryMessages({ ...base, solarCurrent: false });
    assert.ok(!noSolar.some((m) => /solar_(current|power)/.test(m.topic)));
    assert.equal(withSolar.length - noSolar.length, 2);
  });
});
