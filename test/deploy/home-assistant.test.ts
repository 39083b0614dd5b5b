/**
 * Home Assistant's view of the bridge, without Home Assistant: the simulator runs the real
 * firmware and serves its serial port over TCP, the real bridge reads it and publishes to a
 * real mosquitto, and a fresh subscriber sees what Home Assistant would find on connecting:
 * the retained discovery configs, and for each entity its retained state, rendered through
 * its own value_template (by a small evaluator of the Jinja subset those templates use), its
 * availability, and the force-mode select driving the charger. bridge/HOME_ASSISTANT.md's
 * entity table is checked against what is announced.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Simulation } from '../../simulator/simulation';
import { startTcpEndpoint, SerialEndpoint } from '../../simulator/endpoints';
import { runPaced } from '../../simulator/runner';
import { Bridge } from '../../bridge/src';
import { ensureFirmwareBundle } from '../helpers/firmware-bundle';
import { MosquittoService, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { repoRoot, startBridge } from '../bridge/helpers/bridge-harness';
import { MqttRecorder } from '../bridge/helpers/mqtt-recorder';
import { UnsupportedTemplate, compileTemplate, renderTemplate } from './helpers/ha-template';

type Obj = { [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const DEVICE = 'house-bank';
const BASE = `solar/${DEVICE}`;

/** Every retained message a new subscriber to `filter` gets, once they stop coming (bounded wait). */
async function retainedSnapshot(url: string, filter: string): Promise<Map<string, string>> {
  const rec = await MqttRecorder.connect(url, [filter]);
  try {
    // Retained messages arrive right after the subscription; wait until 400 ms pass without one.
    const deadline = Date.now() + 10000;
    let seen = -1;
    while (Date.now() < deadline) {
      const n = rec.messages.filter((m) => m.retain).length;
      if (n === seen && n > 0) break;
      seen = n;
      await sleep(400);
    }
    const out = new Map<string, string>();
    for (const m of rec.messages) if (m.retain) out.set(m.topic, m.payload);
    return out;
  } finally {
    await rec.close();
  }
}

describe('Home Assistant jinja subset evaluator', () => {
  it('renders the template forms discovery uses, as Home Assistant would', () => {
    const p = JSON.stringify({ battery: { voltage: 12.734, energy_in: 140, current: null }, up: 0.00001, faults: { names: ['BAT_COMM', 'ERROR'] }, none: { names: [] } });
    assert.equal(renderTemplate('{{ value_json.battery.voltage }}', p), '12.734');
    assert.equal(renderTemplate('{{ value_json.battery.energy_in }}', p), '140');
    assert.equal(renderTemplate('{{ value_json.battery.current }}', p), 'None');
    assert.equal(renderTemplate('{{ value_json.battery.missing }}', p), '');
    assert.equal(renderTemplate('{{value_json["battery"].voltage}}', p), '12.734');
    assert.equal(renderTemplate('{{ value_json.up }}', p), '1e-05');
    assert.equal(renderTemplate("{{ value_json.faults.names | join(', ') if value_json.faults.names else 'none' }}", p), 'BAT_COMM, ERROR');
    assert.equal(renderTemplate("{{ value_json.none.names | join(', ') if value_json.none.names else 'none' }}", p), 'none');
    assert.equal(renderTemplate('{{ value }}', 'online'), 'online');
  });

  it('refuses templates outside the subset instead of guessing', () => {
    for (const t of [
      '{{ value_json.x | float }}', '{{ value_json.x | round(1) }}', '{{ value_json.x * 1000 }}', '{{ value_json.x + 1 }}',
      '{% if value_json.x %}1{% endif %}', '{{ value_json.x }} V', 'plain', '{{ states("sensor.x") }}', '{{ value_json.x.upper() }}',
      '{{ value_json.x if value_json.y }}', '{{ value_json.x == 1 }}', '{{ value_json.x is defined }}', '{{ now() }}', '{{ value_json[0] }}',
    ]) {
      assert.throws(() => compileTemplate(t), UnsupportedTemplate, t);
    }
    // A dict or list cannot be a state: rendering one (its Python repr) is refused too.
    assert.throws(() => renderTemplate('{{ value_json.battery }}', '{"battery":{"voltage":1}}'), UnsupportedTemplate);
  });
});

describe('Home Assistant MQTT discovery, through the real bridge fed by the simulator', function () {
  this.timeout(90000);
  let broker: MosquittoService;
  let endpoint: SerialEndpoint;
  let sim: Simulation;
  let simRun: Promise<void>;
  let stopSim = false;
  let bridge: Bridge | null = null;
  let dir: string;
  let watcher: MqttRecorder;
  let configs: Array<{ topic: string; component: string; config: Obj }>;
  let retained: Map<string, string>;

  before(async () => {
    dir = makeTempDir('ha-deploy');
    broker = await MosquittoService.start();
    const bundle = ensureFirmwareBundle();
    // A day from midnight: the bank is charging from mains, the sun is down.
    sim = new Simulation({
      scenario: 'day', seed: 3, firmware: { code: fs.readFileSync(bundle, 'utf8'), filename: bundle },
      onSerial: (d) => endpoint?.write(d),
    });
    endpoint = await startTcpEndpoint('127.0.0.1', 0, (d) => sim.hostInput(d));
    // 20 readings a second: quick, and slow enough that the bridge is live, not catching up.
    simRun = runPaced(sim, { speed: 20, stop: () => stopSim });
    watcher = await MqttRecorder.connect(broker.url, [`${BASE}/#`]);
    const r = await startBridge({
      'source.url': endpoint.address, 'spool.dir': path.join(dir, 'spool'), 'mqtt.url': broker.url, device_id: DEVICE,
      'mqtt.homeassistant.force_duration_s': 600,
    });
    bridge = r.bridge;
    await watcher.waitFor('a reading on the state topic', () => watcher.on(`${BASE}/state`).length > 0);
    await watcher.waitFor('the MCU link online', () => watcher.last(`${BASE}/source/availability`)?.payload === 'online');
    const disc = await retainedSnapshot(broker.url, 'homeassistant/#');
    configs = [...disc].map(([topic, payload]) => {
      const m = /^homeassistant\/(\w+)\/[\w-]+\/[\w-]+\/config$/.exec(topic);
      assert.ok(m, `discovery topic ${topic}`);
      return { topic, component: m[1], config: JSON.parse(payload) as Obj };
    });
    retained = await retainedSnapshot(broker.url, `${BASE}/#`);
  });

  after(async () => {
    stopSim = true;
    await simRun?.catch(() => undefined);
    await bridge?.stop();
    await watcher?.close();
    await endpoint?.close();
    await broker?.dispose();
    if (dir) removeDir(dir);
  });

  it('announces one device with sensors, binary sensors and the force-mode select, unique ids, retained', () => {
    const components = new Set(configs.map((c) => c.component));
    assert.deepEqual([...components].sort(), ['binary_sensor', 'select', 'sensor']);
    assert.equal(new Set(configs.map((c) => c.config.unique_id)).size, configs.length, 'unique_id per entity');
    assert.equal(new Set(configs.map((c) => JSON.stringify(c.config.device.identifiers))).size, 1, 'one device');
    assert.ok(configs.length >= 18, `${configs.length} entities`);
  });

  it("every entity's state topic is published and retained, and its value_template gives Home Assistant a valid state", () => {
    for (const { component, config: c } of configs) {
      const where = `${component} "${c.name}"`;
      assert.ok(retained.has(c.state_topic), `${where}: ${c.state_topic} is retained`);
      const payload = retained.get(c.state_topic) as string;
      const state = c.value_template ? renderTemplate(c.value_template, payload) : payload;
      // A value a feature computes may have nothing honest to say yet (time to go while
      // charging): "None", which Home Assistant's MQTT entities read as unknown.
      if (state === 'None' && c.state_topic.includes('/derived/') && component !== 'select') continue;
      if (component === 'sensor') {
        if (c.device_class === 'enum') {
          assert.ok(c.options.includes(state), `${where}: ${state} is one of its options`);
        } else if (c.unit_of_measurement || c.state_class || c.device_class) {
          // A sensor with a unit or state class must be numeric (or None = unknown; not here, all measured).
          assert.match(state, /^-?\d+(\.\d+)?(e[-+]\d+)?$/, `${where}: numeric state, got "${state}"`);
          const x = Number(state);
          if (c.unit_of_measurement === 'V') assert.ok(x >= 0 && x <= 40, `${where}: ${x} V`);
          if (c.unit_of_measurement === 'Wh' || c.unit_of_measurement === 'Ah') assert.ok(x >= 0, `${where}: counters are not negative`);
          if (c.state_class === 'total_increasing') assert.ok(['Wh', 'kWh', 'Ah'].includes(c.unit_of_measurement), where);
        } else {
          assert.ok(state.length > 0 && state.length <= 255, `${where}: a state string (got "${state}")`);
        }
        if (c.name === 'Battery voltage') assert.ok(Number(state) > 10 && Number(state) < 15, `battery ${state} V`);
      } else if (component === 'binary_sensor') {
        assert.ok([c.payload_on ?? 'ON', c.payload_off ?? 'OFF'].includes(state), `${where}: "${state}" is its on or off payload`);
      } else if (component === 'select') {
        assert.ok(c.options.includes(state), `${where}: "${state}" is one of ${c.options}`);
        assert.ok(typeof c.command_topic === 'string' && !c.command_topic.includes('#') && !c.command_topic.includes('+'), where);
      }
    }
  });

  it('every availability topic says online', () => {
    for (const { config: c } of configs) {
      const list: Obj[] = c.availability ?? (c.availability_topic ? [{ topic: c.availability_topic, payload_available: c.payload_available }] : []);
      assert.ok(list.length > 0, `${c.name} has availability`);
      for (const a of list) assert.equal(retained.get(a.topic), a.payload_available ?? 'online', `${c.name}: ${a.topic}`);
    }
  });

  it('HOME_ASSISTANT.md lists every announced entity with its component, unit, device class and state class', () => {
    const doc = fs.readFileSync(path.join(repoRoot, 'bridge', 'HOME_ASSISTANT.md'), 'utf8');
    const rows = new Map<string, string[]>();
    for (const line of doc.split('\n')) {
      const cells = line.split('|').map((s) => s.trim());
      // | Name | component | unit | device class | state class | entity id | ...
      if (cells.length >= 7 && ['sensor', 'binary_sensor', 'select'].includes(cells[2])) rows.set(cells[1].replace(/\s*\(.*\)$/, ''), cells.slice(2, 6));
    }
    for (const { component, config: c } of configs) {
      const row = rows.get(c.name);
      assert.ok(row, `a row for "${c.name}"`);
      assert.deepEqual(row, [component, c.unit_of_measurement ?? '', c.device_class ?? '', c.state_class ?? ''], `row for "${c.name}"`);
    }
    // The Energy dashboard section names counters that really qualify.
    const energy = doc.slice(doc.indexOf('## Energy dashboard'));
    const named = [...energy.matchAll(/\*\*([A-Z][a-z]+ energy (?:in|out))\*\*/g)].map((m) => m[1]);
    assert.ok(named.length >= 3, 'the Energy section names the counters it uses');
    for (const n of named) {
      const c = configs.find((x) => x.config.name === n)?.config;
      assert.ok(c, `"${n}" is announced`);
      assert.deepEqual([c.device_class, c.state_class, c.unit_of_measurement], ['energy', 'total_increasing', 'Wh'], n);
    }
  });

  it('the force-mode select forces the charger OFF and back to auto, as an automation would', async () => {
    const select = configs.find((c) => c.component === 'select')!.config;
    const charger = configs.find((c) => c.component === 'binary_sensor' && c.config.state_topic === select.state_topic)!.config;
    const stateOf = (tpl: string): string | undefined => {
      const last = watcher.last(select.state_topic);
      return last ? renderTemplate(tpl, last.payload) : undefined;
    };
    assert.equal(stateOf(select.value_template), 'auto');
    assert.equal(stateOf(charger.value_template), 'ON', 'the sun is down: charger ON');
    await watcher.client.publishAsync(select.command_topic, 'off', { qos: 1 });
    await watcher.waitFor('the select to read off and the charger OFF', () => stateOf(select.value_template) === 'off' && stateOf(charger.value_template) === 'OFF');
    await watcher.client.publishAsync(select.command_topic, 'auto', { qos: 1 });
    await watcher.waitFor('the select back at auto, the charger ON', () => stateOf(select.value_template) === 'auto' && stateOf(charger.value_template) === 'ON');
  });

  it('when the bridge stops, its availability turns offline (what the offline automation triggers on)', async () => {
    await bridge!.stop();
    bridge = null;
    await waitFor(async () => (await retainedSnapshot(broker.url, `${BASE}/availability`)).get(`${BASE}/availability`) === 'offline', { timeoutMs: 10000, what: 'retained offline' });
  });
});
