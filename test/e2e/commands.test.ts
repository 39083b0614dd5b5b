/**
 * Commands end to end: an MQTT client publishes to the bridge's command topic (real
 * mosquitto, the bridge as a real process), the bridge forwards to the simulated MCU
 * running the firmware bundle, and the reply comes back on the reply topic. A threshold
 * change must change what the charger does in the plant and survive an MCU reset;
 * malformed commands must be answered with why, and change nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { DEFAULT_THRESHOLDS } from '../../hardware';
import { LineSplitter, MAX_LINE_LENGTH, ReadingFrame, decodeLine } from '../../protocol';
import { SerialEndpoint, startTcpEndpoint } from '../../simulator/endpoints';
import { runPaced } from '../../simulator/runner';
import { SCENARIOS } from '../../simulator/scenarios';
import { Simulation } from '../../simulator/simulation';
import { ensureFirmwareBundle } from '../helpers/firmware-bundle';
import { MosquittoService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { BridgeProcess } from '../bridge/helpers/bridge-harness';

interface Reply { request_id?: string; ok: boolean; error?: string; detail?: string; data?: { [k: string]: number | string | null } }

describe('end to end: commands over MQTT change the charger and survive an MCU reset', function () {
  this.timeout(180000);
  let dir: string;
  let broker: MosquittoService;
  let endpoint: SerialEndpoint | null = null;
  let bridge: BridgeProcess | null = null;
  let client: mqtt.MqttClient | null = null;
  let stopSim = false;
  let simRun: Promise<void> | null = null;

  before(async () => {
    ensureFirmwareBundle();
    dir = makeTempDir('e2e-commands');
    broker = await MosquittoService.start();
  });
  after(async () => {
    stopSim = true;
    await simRun?.catch(() => undefined);
    client?.end(true);
    await bridge?.kill();
    await endpoint?.close();
    await broker?.dispose();
    removeDir(dir);
  });

  it('set thresholds → reply → charger ON in the plant → still set after a watchdog reset; bad commands refused with a reason', async () => {
    const readings: Array<ReadingFrame & { t: number }> = [];
    let sim: Simulation | null = null;
    const splitter = new LineSplitter(MAX_LINE_LENGTH, (line) => {
      const r = decodeLine(line);
      if (r.ok && r.frame.type === 'R') readings.push({ ...r.frame, t: sim!.clock.now });
    });
    // Late morning: sun up and the battery between the thresholds, so the charger is OFF.
    sim = new Simulation({
      scenario: { ...SCENARIOS.day, startHour: 11 }, seed: 5, hours: 6,
      firmware: { code: fs.readFileSync(ensureFirmwareBundle(), 'utf8'), filename: 'firmware.js' },
      onSerial: (d) => {
        splitter.push(d);
        endpoint?.write(d);
      },
    });
    const s = sim;
    endpoint = await startTcpEndpoint('127.0.0.1', 0, (d) => s.hostInput(d));
    bridge = await BridgeProcess.create(['--source', endpoint.address, '--mqtt', broker.url, '--device-id', 'cmd', '--spool', path.join(dir, 'spool')],
      path.join(dir, 'bridge.log'), { SOLAR_BRIDGE_MQTT_COMMANDS_TIMEOUT_MS: '8000' });
    await bridge.start();
    const ep = endpoint;
    await waitFor(() => ep.clients === 1, { timeoutMs: 15000, what: 'the bridge to connect to the MCU port' });

    client = mqtt.connect(broker.url, { clientId: 'e2e-commander', reconnectPeriod: 200 });
    const c = client;
    await new Promise<void>((resolve) => c.once('connect', () => resolve()));
    const replies: Reply[] = [];
    c.on('message', (_t, p) => replies.push(JSON.parse(p.toString()) as Reply));
    await c.subscribeAsync('solar/cmd/command/reply', { qos: 1 });

    // 20× real time: a command's round trip (MQTT, bridge, TCP, firmware) takes a few virtual seconds.
    simRun = runPaced(s, { speed: 20, stop: () => stopSim });
    let n = 0;
    const send = async (payload: string): Promise<Reply> => {
      const id = `r${++n}`;
      const withId = payload.startsWith('{') && payload.endsWith('}') && payload.length > 2 ? payload.slice(0, -1) + `,"request_id":"${id}"}` : payload;
      await c.publishAsync('solar/cmd/command', withId, { qos: 1 });
      if (withId === payload) {
        // No request id to match (not a JSON object): take the next reply.
        const before = replies.length;
        await waitFor(() => replies.length > before, { timeoutMs: 15000, what: `a reply to ${payload}` });
        return replies[before];
      }
      await waitFor(() => replies.some((r) => r.request_id === id), { timeoutMs: 15000, what: `the reply to ${withId}`, detail: () => bridge!.output().slice(-2000) });
      return replies.find((r) => r.request_id === id)!;
    };
    const settings = async (): Promise<{ [k: string]: number | string | null }> => {
      const r = await send('{"cmd":"get"}');
      assert.equal(r.ok, true, JSON.stringify(r));
      return r.data!;
    };
    const newest = (): ReadingFrame & { t: number } => readings[readings.length - 1];
    const after = async (t: number, what: string, check: (r: ReadingFrame) => boolean): Promise<void> => {
      await waitFor(() => readings.some((r) => r.t > t && check(r)), { timeoutMs: 30000, what, detail: () => `newest reading: ${JSON.stringify(newest())}` });
    };

    await waitFor(() => readings.length >= 10, { timeoutMs: 30000, what: 'readings' });
    const start = await settings();
    // The MCU keeps and reports millivolts.
    assert.ok(Math.abs((start.bon as number) - DEFAULT_THRESHOLDS.batteryOnV) < 0.001, `bon ${start.bon}`);
    assert.ok(Math.abs((start.boff as number) - DEFAULT_THRESHOLDS.batteryOffV) < 0.001, `boff ${start.boff}`);
    await after(0, 'the charger OFF at late morning (battery high enough, sun up)', (r) => r.chg === 0 && r.why === 'released');
    assert.equal(s.plant.truth.chargerRemoteOn, false, 'the plant\'s charger is OFF');
    const bv = newest().bv!;

    // Raise the battery thresholds above the battery's voltage: the battery is now "low".
    const bon = Math.min(14.8, Math.round((bv + 0.8) * 100) / 100);
    const boff = Math.round((bon + 0.15) * 100) / 100;
    const setAt = s.clock.now;
    const ok = await send(`{"cmd":"set","bon":${bon},"boff":${boff}}`);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    await after(setAt, 'the charger ON for a low battery', (r) => r.chg === 1 && r.why === 'bat_low');
    await waitFor(() => s.plant.truth.chargerRemoteOn, { timeoutMs: 10000, what: 'the plant\'s charger to switch ON' });
    await waitFor(() => s.plant.truth.chargerA > 1, { timeoutMs: 10000, what: 'the charger to deliver current' });

    // A watchdog reset: the MCU hangs, reboots, and must come back with the new thresholds.
    const bootBefore = newest().boot;
    s.mcu.hang(60);
    await waitFor(() => newest().boot !== bootBefore, { timeoutMs: 60000, what: 'the MCU to reboot after its watchdog fired' });
    const rebootAt = s.clock.now;
    const kept = await settings();
    assert.equal(kept.bon, bon, 'bon survived the reset');
    assert.equal(kept.boff, boff, 'boff survived the reset');
    await after(rebootAt, 'the charger ON for a low battery after the reset', (r) => r.chg === 1 && r.why === 'bat_low');
    assert.ok(s.mcu.resets.length >= 1, 'the simulator saw a reset');

    // Malformed commands: each refused with a reason, nothing changed.
    const bad: Array<[string, string, RegExp]> = [
      ['not json at all', 'invalid', /not JSON/],
      ['{"cmd":"launch"}', 'bad_value', /launch/],
      ['{"cmd":"set"}', 'missing_field', /./],
      ['{"cmd":"set","bon":"high"}', 'bad_value', /bon/],
      ['{"cmd":"set","bon":15.5}', 'out_of_range', /bon/],
      ['{"cmd":"set","bon":14,"boff":13}', 'bad_value', /bon 14 must be below boff 13/],
      [`{"cmd":"set","bon":${boff + 0.05}}`, 'bad_value', /bon|boff/],
      ['{"cmd":"force","mode":"off"}', 'missing_field', /for/],
      ['{"cmd":"status","bon":12}', 'bad_value', /status does not take bon/],
    ];
    for (const [payload, error, detail] of bad) {
      const r = await send(payload);
      assert.equal(r.ok, false, `${payload}: ${JSON.stringify(r)}`);
      assert.equal(r.error, error, `${payload}: ${JSON.stringify(r)}`);
      assert.match(r.detail ?? '', detail, `${payload}: ${JSON.stringify(r)}`);
    }
    const unchanged = await settings();
    assert.deepEqual(unchanged, kept, 'no refused command changed a setting');
    const badAt = s.clock.now;
    await after(badAt, 'the charger still ON for a low battery', (r) => r.chg === 1 && r.why === 'bat_low');

    // And back: the defaults restore the comparator behaviour.
    const back = await send(`{"cmd":"set","bon":${start.bon},"boff":${start.boff}}`);
    assert.equal(back.ok, true, JSON.stringify(back));
    const backAt = s.clock.now;
    await after(backAt, 'the charger OFF again (battery between the default thresholds, sun up)', (r) => r.chg === 0);
  });
});
