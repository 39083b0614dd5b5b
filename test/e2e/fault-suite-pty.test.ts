/**
 * The fault suite once over a serial port: the simulated MCU's port is a pseudo-terminal
 * (socat), which the bridge opens with `serialport` exactly as it opens /dev/ttyACM0, and
 * the InfluxDB sink is VictoriaMetrics through the v2 write API. A simulated day with a
 * broker restart, VictoriaMetrics stopped for a simulated hour, a bridge SIGKILL, a
 * watchdog reset, I²C faults and a mains outage; afterwards every reading is in
 * VictoriaMetrics exactly once and reached MQTT.
 *
 * VictoriaMetrics is stopped gracefully, not killed: it answers a write before the data
 * reaches its disk (it flushes about once a second), so a SIGKILL can lose samples it has
 * confirmed, a property of VictoriaMetrics, not of the bridge.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SCENARIOS, Scenario } from '../../simulator/scenarios';
import { SerialEndpoint, startPtyEndpoint } from '../../simulator/endpoints';
import { Simulation } from '../../simulator/simulation';
import { ensureFirmwareBundle } from '../helpers/firmware-bundle';
import { MosquittoService, VictoriaMetricsService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { FAST_RETRY_ENV } from '../bridge/helpers/bridge-harness';
import { MqttRecorder } from '../bridge/helpers/mqtt-recorder';
import { BridgeUnderTest } from './helpers/bridge-under-test';
import { ChainDriver, FaultAt } from './helpers/chain-driver';
import { EmittedFrames, ReadingsOnMqtt } from './helpers/emitted-frames';
import { describeVmGap, settledReadings } from './helpers/vm-readings';

const DEVICE = 'e2epty';
const PERIOD_S = 2;

const PLANT_FAULTS: Scenario['events'] = [
  { atHour: 0.001, action: { kind: 'command', command: { cmd: 'set', period: PERIOD_S } } },
  { atHour: 3, action: { kind: 'mains-outage', durationS: 2 * 3600 } },
  { atHour: 9, action: { kind: 'ina-nack', sensor: 'battery', durationS: 60 } },
  { atHour: 11, action: { kind: 'bus-stuck', durationS: 45 } },
  { atHour: 14, action: { kind: 'mcu-hang', durationS: 60 } },
];

type Fault = 'broker-stop' | 'broker-start' | 'vm-stop' | 'vm-start' | 'bridge-kill';
const OUTSIDE_FAULTS: Array<FaultAt<Fault>> = [
  { atHour: 2, fault: 'broker-stop' },
  { atHour: 2.5, fault: 'broker-start' },
  { atHour: 6, fault: 'vm-stop' },
  { atHour: 7, fault: 'vm-start' },
  { atHour: 16, fault: 'bridge-kill' },
];

describe('end to end over a socat pty: a simulated day under faults, into VictoriaMetrics', function () {
  this.timeout(300000);
  let dir: string;
  let broker: MosquittoService;
  let vm: VictoriaMetricsService;
  let endpoint: SerialEndpoint | null = null;
  let bridge: BridgeUnderTest | null = null;
  let sub: MqttRecorder | null = null;

  before(async () => {
    ensureFirmwareBundle();
    dir = makeTempDir('e2e-pty');
    [broker, vm] = await Promise.all([MosquittoService.start(), VictoriaMetricsService.start()]);
  });
  after(async () => {
    await bridge?.dispose();
    await sub?.close();
    await endpoint?.close();
    await broker?.dispose();
    await vm?.dispose();
    removeDir(dir);
  });

  it('stores every reading once in VictoriaMetrics and delivers each over MQTT', async () => {
    const emitted = new EmittedFrames();
    const sim = new Simulation({
      scenario: { ...SCENARIOS.day, name: 'e2e-pty-day', events: PLANT_FAULTS }, seed: 23,
      firmware: { code: fs.readFileSync(ensureFirmwareBundle(), 'utf8'), filename: 'firmware.js' },
      onSerial: (d) => {
        emitted.push(d);
        endpoint?.write(d);
      },
    });
    const tty = path.join(dir, 'ttySIM');
    endpoint = await startPtyEndpoint(tty, (d) => sim.hostInput(d));
    // socat's own TCP leg is the endpoint's first client: the bridge reads through it.
    const ep = endpoint;

    const topic = `solar/${DEVICE}/readings`;
    sub = await MqttRecorder.connect(broker.url, [topic], { clientId: 'e2e-pty-check', clean: false });
    const seen = new ReadingsOnMqtt(sub.client, topic);

    bridge = new BridgeUnderTest([
      '--source', `serial:${tty}`, '--mqtt', broker.url, '--influx-url', vm.url, '--influx-api', 'v2', '--influx-bucket', 'solar',
      '--device-id', DEVICE, '--spool', path.join(dir, 'spool'),
    ], {
      ...FAST_RETRY_ENV,
    }, dir);
    const b = bridge;
    const drive = new ChainDriver(sim, ep, b, emitted);
    await drive.connectBridge();
    const opened = await b.scrape();
    assert.equal(opened.sourceConnects, 1, 'the bridge opened the pty as a serial port');
    await drive.run(OUTSIDE_FAULTS, async (f) => {
      switch (f) {
        case 'broker-stop': await broker.stop(); break;
        case 'broker-start': await broker.restart(); break;
        case 'vm-stop': await vm.stop(); break;
        case 'vm-start': await vm.restart(); break;
        case 'bridge-kill': await drive.killAndRestartBridge(); break;
      }
    }, { chunkS: 900, maxLag: 1000 });
    assert.equal(ep.dropped, 0, 'the port never dropped output');
    const N = emitted.readings.length;
    assert.ok(N > 86400 / PERIOD_S * 0.95, `a day of readings (${N})`);
    await b.waitUntil('both sinks to confirm everything', (c) => c.readings === drive.sentToBridge() && c.mqttPending === 0 && c.influxPending === 0, 120000);

    const settled = await settledReadings(vm, DEVICE, emitted.readings);
    const stored = settled.stored;
    if (settled.missingAtFirst > 0) console.log(`VictoriaMetrics showed ${settled.missingAtFirst} confirmed readings (from ${settled.firstMissingKey} on) only on a later export (settled after ${settled.waitedMs} ms)`);
    assert.equal(stored.unpaired, 0, 'seq and boot of every reading side by side');
    const storedSet = new Set(stored.keys);
    assert.equal(stored.keys.length, storedSet.size, 'no reading stored twice (at two timestamps)');
    const missing = emitted.readings.filter((k) => !storedSet.has(k));
    if (missing.length > 0) {
      assert.fail(`readings missing from VictoriaMetrics ${settled.waitedMs} ms after the bridge had them confirmed, e.g. ${missing.slice(0, 5).join(', ')} `
        + `(${missing.filter((k) => seen.has(k)).length} of them reached MQTT)\n`
        + await describeVmGap({ vm, device: DEVICE, emitted, missing, stored, bridge: b, spoolDir: path.join(dir, 'spool'), logDir: dir }));
    }
    assert.equal(stored.keys.length, N, 'nothing stored that was not emitted');
    await waitFor(() => emitted.readings.every((k) => seen.has(k)), { timeoutMs: 60000, what: 'every reading over MQTT', detail: () => `have ${seen.copies.size} of ${N}` });

    await b.stop();
    assert.equal(b.total('readings'), N);
    assert.equal(b.total('gaps'), 0);
    assert.equal(b.total('spoolDropped'), 0);
    assert.equal(b.total('rejected'), 0);
    assert.equal(b.total('rebootsBootChanged'), sim.mcu.resets.length);
    assert.equal(sim.mcu.resets.length, 1, 'the hang ended in a watchdog reset');
    drive.countSimulatedFaults();
    console.log(`fault suite (pty, VictoriaMetrics) tally: ${N} readings emitted, ${storedSet.size} stored once, ${seen.copies.size} over MQTT, `
      + `${b.restarts + 1} bridge processes; faults: ${Object.entries(drive.applied).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });
});
