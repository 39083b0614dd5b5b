/**
 * The battery estimator as a feature of a real bridge process, fed the real firmware's
 * frames from the simulator over TCP, publishing to a real mosquitto: its values reach
 * MQTT and Home Assistant discovery with the right classes; its state survives a clean
 * restart and a SIGKILL (the spool replays what the state file had not yet taken, so
 * the state of charge carries on exactly); --battery-rebuild rebuilds the same state from
 * the spool alone; --battery-set-soc sets it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BATTERY_REFRESH_MS, changedBatteryValues } from '../../bridge/src';
import type { DerivedValue } from '../../bridge/src';
import { Simulation } from '../../simulator/simulation';
import { LineServer, MosquittoService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { firmwareBundle } from '../simulator/bundle';
import { BridgeProcess, FAST_RETRY_ENV, metricValue, repoRoot } from './helpers/bridge-harness';
import { MqttRecorder } from './helpers/mqtt-recorder';

const DEVICE = 'bat1';
/** The firmware polls every 20 s (a `set period` command, as test/battery does): 12 h is 2,160 readings. */
const POLL_S = 20;
const HOURS = 12;

/** The firmware's serial output for a simulated half day from 10:00, as lines. */
function simulatedLines(): string[] {
  let out = '';
  const sim = new Simulation({
    scenario: {
      name: 'battery-feature', description: 'battery feature test', date: '2026-06-10', startHour: 10, hours: HOURS,
      events: [{ atHour: 0.5 / 3600, action: { kind: 'command', command: { cmd: 'set', period: POLL_S } } }],
    },
    seed: 5, firmware: firmwareBundle(), chartPoints: 10,
    onSerial: (d) => { out += d; },
  });
  sim.runUntil(HOURS * 3600);
  sim.finish();
  return out.split('\n').filter((l) => l.length > 0).map((l) => l + '\n');
}

const isReading = (line: string): boolean => line.startsWith('$R,');

interface Health { features: { battery: { origin: string; readings: number; last_reading: string | null; last_saved: string | null; problems: string[] } } }

describe('battery feature: a real bridge process fed by the simulator', function () {
  this.timeout(300000);
  let broker: MosquittoService;
  let dir: string;
  let lines: string[];
  let mcu: LineServer | null = null;
  let bridge: BridgeProcess | null = null;
  let runs = 0;

  before(async () => {
    broker = await MosquittoService.start();
    dir = makeTempDir('battery-feature');
    lines = simulatedLines();
  });
  after(async () => {
    await bridge?.stop();
    await mcu?.close();
    await broker.dispose();
    removeDir(dir);
  });

  const spoolDir = (): string => path.join(dir, 'spool');
  const stateFile = (): string => path.join(spoolDir(), 'battery-state.json');

  async function start(extraArgs: string[] = [], saveIntervalS = 3600): Promise<BridgeProcess> {
    await mcu?.close();
    mcu = await LineServer.start();
    const b = await BridgeProcess.create([
      '--source', mcu.url, '--mqtt', broker.url, '--device-id', DEVICE, '--spool', spoolDir(), ...extraArgs,
    ], path.join(dir, `bridge-${++runs}.log`), { ...FAST_RETRY_ENV, SOLAR_BRIDGE_BATTERY_SAVE_INTERVAL_S: String(saveIntervalS), SOLAR_BRIDGE_MQTT_DERIVED_INTERVAL_S: '1' });
    bridge = b;
    await b.start();
    const m = mcu;
    await waitFor(() => m.clientCount === 1, { timeoutMs: 15000, what: 'the bridge to connect to the simulated MCU' });
    return b;
  }

  /** Sends lines[from, to) and waits until the bridge has taken their readings. */
  async function feed(b: BridgeProcess, from: number, to: number): Promise<void> {
    const part = lines.slice(from, to);
    await mcu!.send(part.join(''));
    const want = part.filter(isReading).length;
    await waitFor(async () => metricValue(await b.metrics(), 'solar_bridge_frames_total', 'type="R"') >= want, { timeoutMs: 60000, what: `${want} readings at the bridge` });
  }

  const metric = async (b: BridgeProcess, key: string): Promise<number> => metricValue(await b.metrics(), `solar_derived_${key}`);
  const health = async (b: BridgeProcess): Promise<Health['features']['battery']> => {
    const r = await fetch(`http://127.0.0.1:${b.httpPort}/healthz`);
    return ((await r.json()) as Health).features.battery;
  };
  /** The values that must carry on unchanged across a restart. */
  const KEYS = ['battery_soc', 'battery_soc_uncertainty', 'battery_remaining_ah', 'battery_wh_in_total', 'battery_wh_out_total', 'load_wh_out_total', 'battery_ah_out_total'];
  const snapshot = async (b: BridgeProcess): Promise<{ [k: string]: number }> => {
    const m = await b.metrics();
    return Object.fromEntries(KEYS.map((k) => [k, metricValue(m, `solar_derived_${k}`)]));
  };

  it('publishes to MQTT and Home Assistant, keeps its state across a restart and a SIGKILL, rebuilds from the spool and takes a set state of charge', async () => {
    const n = lines.length;
    const cutA = Math.floor(n * 0.4);
    const cutB = Math.floor(n * 0.7);
    assert.ok(lines.slice(0, cutA).filter(isReading).length > 500, `the simulator gave ${n} lines`);
    const rec = await MqttRecorder.connect(broker.url, [`solar/${DEVICE}/derived/#`, `homeassistant/+/solar_${DEVICE}/+/config`]);
    try {
      // ---- first run: a fresh state, values everywhere, a clean stop saves it ----
      let b = await start();
      assert.equal((await health(b)).origin, 'fresh (no state file)');
      await feed(b, 0, cutA);
      // MQTT carries each number at most once a second here (mqtt.derived_interval_s), the newest winning: wait for the last reading's.
      const lastSoc = await metric(b, 'battery_soc');
      const lastUsed = await metric(b, 'load_wh_out_total');
      assert.ok(lastUsed > 0, `load energy counted: ${lastUsed} Wh`);
      await rec.waitFor('the last reading\'s battery values on MQTT', () => Number(rec.last(`solar/${DEVICE}/derived/load_wh_out_total`)?.payload) === lastUsed
        && Number(rec.last(`solar/${DEVICE}/derived/battery_soc`)?.payload) === lastSoc);
      const soc = Number(rec.last(`solar/${DEVICE}/derived/battery_soc`)!.payload);
      assert.ok(soc > 0 && soc <= 100, `battery_soc ${soc}`);
      const late = await MqttRecorder.connect(broker.url, [`solar/${DEVICE}/derived/battery_soc`]);
      try {
        await late.waitFor('the retained state of charge', () => late.messages.length > 0);
        assert.ok(late.messages[0].retain, 'retained');
      } finally {
        await late.close();
      }
      assert.ok(['charging', 'discharging', 'idle', 'at_floor', 'unknown'].includes(rec.last(`solar/${DEVICE}/derived/battery_time_to_go_state`)!.payload));
      assert.equal(Number(rec.last(`solar/${DEVICE}/derived/battery_capacity_ah`)?.payload), 210);
      await rec.waitFor('Home Assistant discovery of the battery values', () => rec.on(`homeassistant/binary_sensor/solar_${DEVICE}/${DEVICE}_night_lasts/config`).length > 0);
      const discovery = (component: string, key: string): { [k: string]: unknown } => {
        const m = rec.last(`homeassistant/${component}/solar_${DEVICE}/${DEVICE}_${key}/config`);
        assert.ok(m, `no discovery for ${component} ${key}`);
        return JSON.parse(m.payload) as { [k: string]: unknown };
      };
      const socConfig = discovery('sensor', 'battery_soc');
      assert.equal(socConfig.device_class, 'battery');
      assert.equal(socConfig.state_class, 'measurement');
      assert.equal(socConfig.unit_of_measurement, '%');
      assert.equal(socConfig.state_topic, `solar/${DEVICE}/derived/battery_soc`);
      assert.equal(discovery('sensor', 'battery_time_to_go_s').device_class, 'duration');
      assert.equal(discovery('sensor', 'battery_runtime_alone_s').device_class, 'duration');
      assert.equal(discovery('binary_sensor', 'night_lasts').payload_on, 'true');
      for (const key of ['battery_wh_in_total', 'battery_wh_out_total', 'load_wh_out_total']) {
        const c = discovery('sensor', key);
        assert.equal(c.device_class, 'energy', key);
        assert.equal(c.state_class, 'total_increasing', key);
        assert.equal(c.unit_of_measurement, 'Wh', key);
      }
      assert.equal(discovery('sensor', 'battery_health').unit_of_measurement, '%');
      const ttg = rec.last(`solar/${DEVICE}/derived/battery_time_to_go_s`)?.payload;
      const ttgState = rec.last(`solar/${DEVICE}/derived/battery_time_to_go_state`)!.payload;
      if (ttgState !== 'discharging') assert.equal(ttg, 'None', `time to go while ${ttgState}`);
      else assert.ok(Number(ttg) > 0, `time to go ${ttg}`);
      const afterA = await snapshot(b);
      await b.stop();
      bridge = null;
      assert.ok(fs.existsSync(stateFile()), 'a clean stop saves the state file');

      // ---- second run: the state file, nothing to catch up; then readings and a SIGKILL before any save ----
      b = await start();
      const h2 = await health(b);
      assert.equal(h2.origin, 'state file');
      assert.equal(h2.readings, 0, 'every reading in the spool was already in the state');
      assert.deepEqual(await snapshot(b), afterA, 'the values carry on across a clean restart');
      await feed(b, cutA, cutB);
      const beforeKill = await snapshot(b);
      assert.notDeepEqual(beforeKill, afterA, 'the readings moved the state');
      const savedT = (JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as { t: number }).t;
      await b.kill();
      bridge = null;
      assert.equal((JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as { t: number }).t, savedT, 'nothing was saved since the start (the tick is an hour)');

      // ---- third run: the spool replays what the state file lacked; the state of charge carries on exactly ----
      b = await start([], 1);
      const h3 = await health(b);
      assert.equal(h3.origin, 'state file');
      assert.equal(h3.readings, lines.slice(cutA, cutB).filter(isReading).length, 'caught up on exactly the readings since the save');
      assert.deepEqual(await snapshot(b), beforeKill, 'SIGKILL lost nothing');
      await feed(b, cutB, n);
      // The 1 s tick saves without a stop.
      await waitFor(async () => { const h = await health(b); return h.last_saved !== null && h.last_saved === h.last_reading; }, { timeoutMs: 10000, what: 'the state saved on the tick' });
      const end = await snapshot(b);
      await b.stop();
      bridge = null;

      // ---- --battery-rebuild: a fresh state from the whole spool gives the same answer ----
      fs.writeFileSync(stateFile(), fs.readFileSync(stateFile(), 'utf8').replace(/"deficitAh":[^,]+/, '"deficitAh":150'));
      b = await start(['--battery-rebuild']);
      const h4 = await health(b);
      assert.equal(h4.origin, 'rebuilt from the spool');
      assert.equal(h4.readings, lines.filter(isReading).length, 'every reading replayed');
      assert.deepEqual(await snapshot(b), end, 'the rebuilt state is the state the live run reached');
      assert.ok(!fs.existsSync(stateFile() + '.request'), 'the request is carried out once');
      await b.stop();
      bridge = null;

      // ---- --battery-set-soc: a known state of charge, no uncertainty ----
      b = await start(['--battery-set-soc', '55']);
      assert.equal(await metric(b, 'battery_soc'), 55);
      assert.equal(await metric(b, 'battery_soc_uncertainty'), 0);
      assert.equal(await metric(b, 'battery_remaining_ah'), 115.5);
      await rec.waitFor('the set state of charge on MQTT', () => rec.last(`solar/${DEVICE}/derived/battery_soc`)?.payload === '55');
      await b.stop();
      bridge = null;
      b = await start();
      assert.equal(await metric(b, 'battery_soc'), 55, 'the request is not repeated at the next start');
    } finally {
      await rec.close();
    }
  });

  it('sets a value when it changed, and an unchanged one again after the refresh time, so readers can tell steady from stopped', () => {
    const last = new Map<string, { value: DerivedValue; ts: number }>();
    assert.deepEqual(changedBatteryValues({ a: 1, b: 'x', c: null }, 0, last), { a: 1, b: 'x', c: null }, 'everything at first');
    assert.equal(changedBatteryValues({ a: 1, b: 'x', c: null }, 1000, last), null, 'nothing changed');
    assert.deepEqual(changedBatteryValues({ a: 2, b: 'x', c: null }, 2000, last), { a: 2 });
    assert.deepEqual(changedBatteryValues({ a: 2, b: 'x', c: null }, BATTERY_REFRESH_MS, last), { b: 'x', c: null }, 'the unchanged ones, refreshed');
    assert.equal(changedBatteryValues({ a: 2, b: 'x', c: null }, BATTERY_REFRESH_MS + 1000, last), null);
  });

  it('refuses a bad battery setting or flag with exit status 2 and a message naming it', () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } => {
      const r = spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/bridge.ts', '--source', 'tcp://127.0.0.1:1', '--spool', path.join(dir, 'bad-spool'), ...args], {
        cwd: repoRoot, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000,
      });
      return { status: r.status, stderr: r.stderr };
    };
    const flag = run(['--battery-set-soc', '120']);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /--battery-set-soc needs a state of charge in % \(0\.\.100\), got "120"/);
    const param = run([], { SOLAR_BRIDGE_BATTERY_PARAMS_PEUKERT_EXPONENT: '3' });
    assert.equal(param.status, 2);
    assert.match(param.stderr, /battery\.params\.peukert_exponent/);
    const off = run(['--battery-rebuild'], { SOLAR_BRIDGE_BATTERY_ENABLED: 'false' });
    assert.equal(off.status, 2);
    assert.match(off.stderr, /battery\.enabled is false/);
  });
});
