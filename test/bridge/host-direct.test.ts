/**
 * Host-direct mode (source i2c:/dev/i2c-N): the shared INA219 driver on the host's I²C,
 * tested where the kernel has no I²C through the simulator's INA219 register models on
 * its virtual bus, behind the same i2c-bus interface the Linux transport uses. Only the
 * kernel's i2c-dev (and the native i2c-bus binding talking to it) is not exercised.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { INA219_CHANNELS } from '../../hardware';
import {
  FLT_BAT_COMM, FLT_BAT_RESET, FLT_BAT_STALE, FLT_LOAD_COMM, FLT_STORAGE, ReadingFrame, decodeLine,
} from '../../protocol';
import { INA219_REG_CALIBRATION, INA219_REG_CONFIG, INA_FLAG_COMM } from '../../drivers/ina219';
import { channelConfig, channelSensor } from '../../drivers/ina219-channel';
import { accumulate, emptySample, maxEnergyGapS, zeroEnergy } from '../../drivers/energy-counters';
import {
  Bridge, HOST_DIRECT_STATE_FILE as STATE_FILE, HostDirectMeter, MONITOR_ONLY, describeSpec, faultBits, hostDirectConnector,
  linuxI2cTransport, loadHostDirectState, namedTransport, parseSourceSpec, saveHostDirectState,
} from '../../bridge/src';
import { VirtualI2cBus } from '../../simulator/i2c-bus';
import { virtualI2cBusSync } from '../../simulator/i2c-bus-sync';
import { INA219B_LIMITS, Ina219Model, sampleIna219BErrors } from '../../simulator/ina219-model';
import { Plant } from '../../simulator/plant';
import { defaultPlantParams } from '../../simulator/plant-params';
import { deriveSeed, seededRandom } from '../../simulator/random';
import { Simulation } from '../../simulator/simulation';
import { firmwareBundle } from '../simulator/bundle';
import { MosquittoService, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { LogCapture, configFrom } from './helpers/bridge-harness';

type Channel = 'battery' | 'load';

/** hardware/'s two INA219s on a virtual bus, with INA219B errors drawn from `seed`, on `clock`. */
function rig(clock: () => number, seed = 1) {
  const bus = new VirtualI2cBus();
  const chips = {} as Record<Channel, Ina219Model>;
  for (const name of ['battery', 'load'] as Channel[]) {
    const random = seededRandom(deriveSeed(seed, 'host-direct-' + name));
    chips[name] = new Ina219Model({ shuntOhms: INA219_CHANNELS[name].shunt.ohms, clock, errors: sampleIna219BErrors(random), random });
    bus.attach(INA219_CHANNELS[name].address, chips[name]);
  }
  return { bus, chips };
}

/** The INA219B's worst case for a current and a bus voltage on the 1.5 mΩ shunt. */
function currentLimit(amps: number): number {
  const ohms = INA219_CHANNELS.battery.shunt.ohms;
  return Math.abs(amps) * INA219B_LIMITS.shuntGain + INA219B_LIMITS.shuntOffsetV / ohms + 3 * (10e-6 / ohms);
}
function voltageLimit(volts: number): number {
  return volts * INA219B_LIMITS.busGain + INA219B_LIMITS.busOffsetV + 3 * 4e-3;
}

/** The plant at 10:00 on the simulator's equinox day: charging from the sun, the cluster running. */
function plantAtTen() {
  const plant = new Plant(defaultPlantParams(), { date: '2025-03-21', startHour: 10 }, 3);
  plant.panelLoadOhm = 112000;
  plant.advanceTo(60);
  return plant.truth;
}

describe('host-direct source: i2c: in source.url', () => {
  it('parses i2c:/dev/i2c-N with an optional poll period, and says what is wrong otherwise', () => {
    assert.deepEqual(parseSourceSpec('i2c:/dev/i2c-1'), { ok: true, spec: { kind: 'i2c', path: '/dev/i2c-1', bus: 1, periodS: 1 } });
    assert.deepEqual(parseSourceSpec('i2c:/dev/i2c-12?period=0.5'), { ok: true, spec: { kind: 'i2c', path: '/dev/i2c-12', bus: 12, periodS: 0.5 } });
    for (const bad of ['i2c:/dev/ttyUSB0', 'i2c:', 'i2c:/dev/i2c-x', 'i2c:/dev/i2c-1?period=0', 'i2c:/dev/i2c-1?period=4000', 'i2c:/dev/i2c-1?rate=2']) {
      const r = parseSourceSpec(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.match(r.error, /i2c/, bad);
    }
    const spec = parseSourceSpec('i2c:/dev/i2c-1');
    assert.ok(spec.ok);
    if (spec.ok) assert.match(describeSpec(spec.spec, 115200), /^i2c:\/dev\/i2c-1 \(host-direct, monitor only\)$/);
  });
});

describe('host-direct meter: the shared driver and energy arithmetic over the register models', () => {
  it('reads both channels of hardware/ within the INA219B accuracy and reports them as an MCU reading', () => {
    let now = 0;
    const { bus, chips } = rig(() => now);
    const transport = linuxI2cTransport(virtualI2cBusSync(bus));
    const truth = plantAtTen();
    chips.battery.setInputs(truth.batteryA, truth.batteryV);
    chips.load.setInputs(truth.loadA, truth.loadV);
    const meter = new HostDirectMeter(
      channelSensor(transport, channelConfig(INA219_CHANNELS.battery)), channelSensor(transport, channelConfig(INA219_CHANNELS.load)),
      7, zeroEnergy(), 1);
    assert.deepEqual(meter.configure(), [null, null]);
    const readings: ReadingFrame[] = [];
    for (let t = 1; t <= 5; t++) {
      now = t;
      const { reading } = meter.poll(t);
      readings.push({ type: 'R', ...reading });
    }
    for (const r of readings) {
      assert.equal(r.flt, 0);
      assert.equal(r.boot, 7);
      assert.ok(Math.abs(r.bv! - truth.batteryV) <= voltageLimit(truth.batteryV), `bv ${r.bv} vs ${truth.batteryV}`);
      assert.ok(Math.abs(r.ba! - truth.batteryA) <= currentLimit(truth.batteryA), `ba ${r.ba} vs ${truth.batteryA}`);
      assert.ok(Math.abs(r.lv! - truth.loadV) <= voltageLimit(truth.loadV), `lv ${r.lv} vs ${truth.loadV}`);
      assert.ok(Math.abs(r.la! - truth.loadA) <= currentLimit(truth.loadA), `la ${r.la} vs ${truth.loadA}`);
      assert.equal(r.sv, null, 'no solar input on the host');
      assert.deepEqual([r.chg, r.why, r.mode], [1, 'failsafe', 'auto']);
    }
    assert.deepEqual(readings.map((r) => r.seq), [1, 2, 3, 4, 5]);
    // Four seconds of charging, integrated as the firmware integrates.
    const last = readings[4];
    assert.ok(truth.batteryA > 1, 'the bank is charging at 10:00');
    assert.ok(Math.abs(last.bahi! - truth.batteryA * 4 / 3600) <= currentLimit(truth.batteryA) * 4 / 3600);
    assert.equal(last.baho, 0);
    assert.ok(Math.abs(last.lwho! - truth.loadV * truth.loadA * 4 / 3600) < 0.01 * truth.loadV * truth.loadA * 4 / 3600 + 1e-4);
  });

  it('maps every driver flag to the protocol fault bit of its channel', () => {
    assert.equal(faultBits('battery', INA_FLAG_COMM), FLT_BAT_COMM);
    assert.equal(faultBits('load', INA_FLAG_COMM), FLT_LOAD_COMM);
    assert.equal(faultBits('battery', 15), 0x000f);
    assert.equal(faultBits('load', 15), 0x00f0);
    assert.equal(faultBits('battery', 0), 0);
  });

  it('a NACK is counted by the driver, flagged in the reading with the value left out, and polling goes on', () => {
    let now = 0;
    const { bus, chips } = rig(() => now);
    const transport = namedTransport('/dev/i2c-1', linuxI2cTransport(virtualI2cBusSync(bus)));
    const battery = channelSensor(transport, channelConfig(INA219_CHANNELS.battery));
    const load = channelSensor(transport, channelConfig(INA219_CHANNELS.load));
    chips.battery.setInputs(-2, 12.6);
    chips.load.setInputs(1.8, 12.6);
    const meter = new HostDirectMeter(battery, load, 1, zeroEnergy(), 1);
    meter.configure();
    now = 1;
    assert.equal(meter.poll(1).reading.flt, 0);
    chips.battery.nack = true;
    for (let t = 2; t <= 4; t++) {
      now = t;
      const polled = meter.poll(t);
      assert.equal(polled.reading.flt, FLT_BAT_COMM);
      assert.equal(polled.reading.ba, null);
      assert.equal(polled.reading.bv, null);
      assert.ok(polled.reading.la! > 1.7, 'the load channel is unaffected');
      assert.match(polled.battery.error!, /\/dev\/i2c-1: EREMOTEIO: remote I\/O error, write/);
    }
    assert.equal(battery.stats.commErrors, 3);
    chips.battery.nack = false;
    now = 5;
    const back = meter.poll(5).reading;
    assert.equal(back.flt, FLT_BAT_STALE, 'reconfigured: the first conversion is not there yet');
    now = 6;
    assert.equal(meter.poll(6).reading.flt, 0);
    // A chip that reset itself is found, restored and flagged, as on the MCU.
    chips.battery.spontaneousReset();
    now = 7;
    assert.equal(meter.poll(7).reading.flt, FLT_BAT_RESET | FLT_BAT_STALE);
    assert.equal(battery.stats.resets, 1);
  });

  it('configures the chips exactly as the firmware does (same config and calibration registers)', () => {
    const sim = new Simulation({ scenario: 'day', hours: 0.01, seed: 2, firmware: firmwareBundle() });
    sim.runUntil(5);
    let now = 0;
    const { bus, chips } = rig(() => now, 2);
    const transport = linuxI2cTransport(virtualI2cBusSync(bus));
    const meter = new HostDirectMeter(
      channelSensor(transport, channelConfig(INA219_CHANNELS.battery)), channelSensor(transport, channelConfig(INA219_CHANNELS.load)), 1, zeroEnergy(), 1);
    meter.configure();
    for (const name of ['battery', 'load'] as Channel[]) {
      for (const reg of [INA219_REG_CONFIG, INA219_REG_CALIBRATION]) {
        assert.equal(chips[name].peek(reg), sim.sensors[name].peek(reg), `${name} register ${reg}`);
      }
    }
  });

  it('integrates with the firmware gap rule: period × 5 + 1 s', () => {
    // firmware/src/app.ts inlines `settings.period * 5 + 1`; the shared function must agree.
    assert.equal(maxEnergyGapS(1), 6);
    assert.equal(maxEnergyGapS(0.2), 2);
    const c = zeroEnergy();
    const prev = emptySample();
    accumulate(c, 'b', prev, 2, 26, 0, maxEnergyGapS(1));
    accumulate(c, 'b', prev, 2, 26, 6, maxEnergyGapS(1));
    accumulate(c, 'b', prev, 2, 26, 13, maxEnergyGapS(1));
    assert.ok(Math.abs(c.bahi - 2 * 6 / 3600) < 1e-12, 'the 6 s gap is bridged, the 7 s one is not');
  });
});

describe('host-direct state: boots and energy across restarts', () => {
  let dir = '';
  beforeEach(() => { dir = makeTempDir('host-direct-state'); });
  afterEach(() => removeDir(dir));

  it('counts boots on from the stored one, and never reuses a boot the bridge has anchored', () => {
    fs.writeFileSync(path.join(dir, 'boot-anchors.json'), JSON.stringify({ anchors: [[41, 1000], [42, 2000]] }));
    const first = loadHostDirectState(dir);
    assert.equal(first.boot, 43);
    assert.equal(first.problem, null);
    first.energy.bahi = 1.25;
    saveHostDirectState(dir, first.boot, first.energy);
    const second = loadHostDirectState(dir);
    assert.equal(second.boot, 44);
    assert.equal(second.energy.bahi, 1.25);
  });

  it('a corrupt state file is said, counted from zero and flagged as a storage fault', async () => {
    fs.writeFileSync(path.join(dir, STATE_FILE), '{"boot": 3, "energy": {"bahi": -1}}');
    const state = loadHostDirectState(dir);
    assert.match(state.problem!, /host-direct\.json is not a host-direct state/);
    assert.equal(state.energy.bahi, 0);
    const capture = new LogCapture();
    const { bus } = rig(() => performance.now() / 1000);
    const lines: string[] = [];
    const connect = hostDirectConnector({
      devicePath: '/dev/i2c-1', busNumber: 1, pollPeriodS: 0.1, stateDir: dir, log: capture.logger, openBus: () => virtualI2cBusSync(bus), saveEveryS: 0.35,
    });
    const link = await connect({ data: (chunk) => lines.push(chunk), closed: () => undefined });
    try {
      await waitFor(() => lines.length >= 8, { timeoutMs: 5000, what: 'eight frames' });
      const frames = lines.map((l) => decodeLine(l.trimEnd())).map((r) => (r.ok ? r.frame : null));
      assert.equal(frames[0]?.type, 'E');
      const storage = frames.slice(1).map((f) => (f && f.type === 'R' ? f.flt & FLT_STORAGE : -1));
      assert.equal(storage[0], FLT_STORAGE, 'flagged in the readings after a corrupt state');
      assert.equal(storage[storage.length - 1], 0, 'until the next periodic save succeeded');
      assert.match(capture.text(), /not a host-direct state/);
      await assert.rejects(link.write('$C,v=1,id=1,cmd=status*00000000\n'), (e: Error) => e.message === MONITOR_ONLY);
    } finally {
      link.close();
    }
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')).boot, 1);
  });
});

describe('host-direct mode end to end: register models → bridge → spool → MQTT', function () {
  this.timeout(60000);
  let broker: MosquittoService;
  let dir = '';
  let bridge: Bridge | null = null;
  before(async () => { broker = await MosquittoService.start(); });
  after(async () => { await broker.stop(); });
  beforeEach(() => { dir = makeTempDir('host-direct-e2e'); });
  afterEach(async () => {
    await bridge?.stop();
    bridge = null;
    removeDir(dir);
  });

  it('publishes readings that match the plant within the INA219 accuracy; a NACK is flagged and the bridge keeps going', async () => {
    const { bus, chips } = rig(() => performance.now() / 1000, 5);
    const truth = plantAtTen();
    chips.battery.setInputs(truth.batteryA, truth.batteryV);
    chips.load.setInputs(truth.loadA, truth.loadV);
    const opened: number[] = [];
    const device = 'host-direct-e2e';
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'host-direct-check' });
    const frames: ReadingFrame[] = [];
    sub.on('message', (_topic, payload) => {
      for (const r of JSON.parse(payload.toString()) as Array<{ frame: ReadingFrame }>) frames.push(r.frame);
    });
    await sub.subscribeAsync(`solar/${device}/readings`);
    const capture = new LogCapture();
    bridge = new Bridge({
      config: configFrom({ 'source.url': 'i2c:/dev/i2c-3?period=0.2', 'spool.dir': dir, 'mqtt.url': broker.url, device_id: device, 'http.listen': '' }),
      log: capture.logger,
      version: 'test',
      openI2cBus: (n) => { opened.push(n); return virtualI2cBusSync(bus); },
    });
    await bridge.start();
    try {
      await waitFor(() => frames.length >= 5, { timeoutMs: 20000, what: 'five readings on MQTT', detail: () => capture.text() });
      assert.deepEqual(opened, [3]);
      const good = frames.filter((f) => f.flt === 0);
      assert.ok(good.length >= 3, `fresh readings: ${JSON.stringify(frames.map((f) => f.flt))}`);
      for (const f of good) {
        assert.ok(Math.abs(f.bv! - truth.batteryV) <= voltageLimit(truth.batteryV), `bv ${f.bv} vs ${truth.batteryV}`);
        assert.ok(Math.abs(f.ba! - truth.batteryA) <= currentLimit(truth.batteryA), `ba ${f.ba} vs ${truth.batteryA}`);
        assert.ok(Math.abs(f.la! - truth.loadA) <= currentLimit(truth.loadA), `la ${f.la} vs ${truth.loadA}`);
        assert.ok(Math.abs(f.lw! - truth.loadA * truth.loadV) <= currentLimit(truth.loadA) * truth.loadV + voltageLimit(truth.loadV) * truth.loadA + 0.05);
        assert.equal(f.sv, null);
      }
      assert.equal(bridge.health().source.up, true);

      chips.load.nack = true;
      const before = frames.length;
      await waitFor(() => frames.slice(before).filter((f) => f.flt & FLT_LOAD_COMM).length >= 3, { timeoutMs: 10000, what: 'readings flagged LOAD_COMM' });
      for (const f of frames.slice(before).filter((x) => x.flt & FLT_LOAD_COMM)) {
        assert.equal(f.la, null);
        assert.ok(f.bv !== null, 'the battery channel goes on');
      }
      assert.match(capture.text(), /load INA219 not answering: .*\/dev\/i2c-3: EREMOTEIO/);
      chips.load.nack = false;
      const healed = frames.length;
      await waitFor(() => frames.slice(healed).some((f) => f.flt === 0), { timeoutMs: 10000, what: 'a clean reading after the NACK' });
      assert.match(capture.text(), /load INA219 answers again/);
      assert.equal(bridge.health().source.up, true);
      const seqs = frames.map((f) => f.seq);
      assert.deepEqual(seqs, seqs.slice().sort((a, b) => a - b), 'one boot, readings in order');
    } finally {
      await sub.endAsync();
    }
    await bridge.stop();
    bridge = null;
    const state = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as { boot: number; energy: { bahi: number } };
    assert.equal(state.boot, frames[0].boot);
    assert.ok(state.energy.bahi > 0, 'the counters were saved at stop');
  });

  it('a bus that cannot be opened leaves the source down with the reason, and the bridge running', async () => {
    const capture = new LogCapture();
    bridge = new Bridge({
      config: configFrom({ 'source.url': 'i2c:/dev/i2c-97', 'spool.dir': dir, 'http.listen': '', 'source.reconnect_initial_ms': 50, 'source.reconnect_max_ms': 200 }),
      log: capture.logger,
      version: 'test',
    });
    await bridge.start();
    await waitFor(() => /i2c-97/.test(capture.text()) && /is down/.test(capture.text()), { timeoutMs: 10000, what: 'the source to be reported down', detail: () => capture.text() });
    await sleep(300);
    assert.equal(bridge.health().source.up, false);
    assert.match(bridge.health().problems.join(' '), /i2c:\/dev\/i2c-97/);
    assert.match(capture.text(), /ENOENT|i2c-bus/);
  });
});
