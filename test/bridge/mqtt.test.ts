import assert from 'node:assert/strict';
import path from 'node:path';
import { decodeLine, encodeReply } from '../../protocol';
import { Bridge } from '../../bridge/src';
import type { StateJson } from '../../bridge/src';
import { LineServer, MosquittoService, makeTempDir, makeTestPki, removeDir, waitFor } from '../helpers/services';
import { BridgeProcess, LogCapture, metricValue, parseMetrics, startBridge } from './helpers/bridge-harness';
import { eventLine, reading, readingLine, readingStream } from './helpers/frames';
import { MqttRecorder } from './helpers/mqtt-recorder';

describe('bridge MQTT sink against a real mosquitto', function () {
  this.timeout(60000);
  let broker: MosquittoService;
  let mcu: LineServer;
  let dir: string;
  let bridge: Bridge | null;
  let rec: MqttRecorder | null;

  before(async () => { broker = await MosquittoService.start(); });
  after(async () => { await broker.dispose(); });
  beforeEach(async () => {
    dir = makeTempDir('bridge-mqtt');
    mcu = await LineServer.start();
    bridge = null;
    rec = null;
  });
  afterEach(async () => {
    await bridge?.stop();
    await rec?.close();
    await mcu.close();
    removeDir(dir);
  });

  async function run(deviceId: string, extra: { [k: string]: string | number | boolean } = {}): Promise<LogCapture> {
    // The sink on its own: the battery feature's derived values through MQTT are
    // test/bridge/battery-feature.test.ts's (and they would double the discovery messages).
    const r = await startBridge({ 'source.url': mcu.url, 'mqtt.url': broker.url, device_id: deviceId, 'spool.dir': path.join(dir, 'spool'), 'battery.enabled': false, ...extra });
    bridge = r.bridge;
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect to the TCP source' });
    // The bridge subscribes to its command topics before it publishes `online`, and the broker
    // keeps one client's packets in order: once `online` is seen, a command is not lost.
    const seen = await MqttRecorder.connect(broker.url, [`solar/${deviceId}/availability`]);
    try {
      await seen.waitFor('the bridge online on MQTT', () => seen.last(`solar/${deviceId}/availability`)?.payload === 'online');
    } finally {
      await seen.close();
    }
    return r.log;
  }

  it('publishes every reading (readings stream), the newest as retained JSON state and per-value topics, events, and availability', async () => {
    rec = await MqttRecorder.connect(broker.url, ['solar/m1/#']);
    await run('m1', { 'mqtt.per_value_topics': true });
    await mcu.send(eventLine({ boot: 7, kind: 'boot' }) + '\n' + readingStream(49) + readingLine(50, 7, { ba: null, bw: null, flt: 0x0001 }) + '\n');
    await rec.waitFor('50 readings', () => rec!.readings('solar/m1/readings').length >= 50);
    const readings = rec.readings('solar/m1/readings');
    assert.deepEqual(readings.map((x) => x.frame.type === 'R' && x.frame.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    // Exactly the frames the MCU sent, as the protocol decodes them, with their timestamps.
    const sentLines = readingStream(49).split('\n').filter(Boolean).concat(readingLine(50, 7, { ba: null, bw: null, flt: 0x0001 }));
    readings.forEach((x, i) => assert.deepEqual(x.frame, (decodeLine(sentLines[i]) as { frame: unknown }).frame));
    assert.equal(readings[7].ts - readings[6].ts, 1000, 'timestamps follow the MCU uptime (1 s apart)');

    await rec.waitFor('the retained state of the newest reading', () => rec!.last('solar/m1/state') !== undefined && JSON.parse(rec!.last('solar/m1/state')!.payload).seq === 50);
    const s50 = JSON.parse(rec.last('solar/m1/state')!.payload) as StateJson;
    const r50 = reading(50);
    assert.equal(s50.boot, 7);
    assert.equal(s50.timestamp_ms, readings[49].ts);
    assert.equal(new Date(s50.time).getTime(), s50.timestamp_ms);
    assert.equal(s50.battery.voltage, r50.bv);
    assert.equal(s50.battery.current, null, 'a value the MCU could not measure is null');
    assert.equal(s50.load.power, r50.lw);
    assert.equal(s50.battery.energy_out, r50.bwho);
    assert.equal(s50.solar.voltage, r50.sv);
    assert.deepEqual(s50.charger, { on: true, state: 'ON', reason: 'sun_down', mode: 'auto' });
    assert.deepEqual(s50.faults, { word: '0001', names: ['BAT_COMM'] });

    // The batch's messages are in flight together: wait for the last of them (faults) too.
    await rec.waitFor('per-value topics of the newest reading', () => rec!.last('solar/m1/battery/current')?.payload === 'null' && rec!.last('solar/m1/faults')?.payload === '0001');
    assert.equal(rec.last('solar/m1/battery/voltage')!.payload, String(r50.bv));
    assert.equal(rec.last('solar/m1/charger/state')!.payload, 'ON');
    assert.equal(rec.last('solar/m1/faults')!.payload, '0001');
    const ev = JSON.parse(rec.on('solar/m1/event')[0].payload);
    assert.equal(ev.kind, 'boot');
    assert.equal(ev.fw, '0.1.0');

    // What a subscriber arriving later finds, retained.
    const late = await MqttRecorder.connect(broker.url, ['solar/m1/state', 'solar/m1/availability', 'solar/m1/source/availability', 'solar/m1/battery/voltage', 'solar/m1/event']);
    try {
      await late.waitFor('retained state and availability', () => late.messages.length >= 4);
      assert.equal(JSON.parse(late.last('solar/m1/state')!.payload).seq, 50);
      assert.ok(late.last('solar/m1/state')!.retain);
      assert.equal(late.last('solar/m1/availability')!.payload, 'online');
      assert.equal(late.last('solar/m1/source/availability')!.payload, 'online');
      assert.equal(late.last('solar/m1/battery/voltage')!.payload, String(reading(50).bv));
      assert.equal(late.on('solar/m1/event').length, 0, 'events are not retained');
    } finally {
      await late.close();
    }
    const m = parseMetrics(bridge!.metrics.registry.render());
    assert.equal(metricValue(m, 'solar_bridge_sink_sent_total', 'sink="mqtt"'), 51);
    assert.equal(metricValue(m, 'solar_bridge_sink_pending_records', 'sink="mqtt"'), 0);
  });

  it('publishes no per-value topics by default, and with mqtt.per_value_topics only the values that changed', async () => {
    rec = await MqttRecorder.connect(broker.url, ['solar/#']);
    await run('pv0');
    await mcu.send(readingStream(3));
    await rec.waitFor('3 readings', () => rec!.readings('solar/pv0/readings').length >= 3);
    await rec.waitFor('the state of the third', () => JSON.parse(rec!.last('solar/pv0/state')?.payload ?? '{}').seq === 3);
    const topics = new Set(rec.messages.filter((m) => m.topic.startsWith('solar/pv0/')).map((m) => m.topic));
    assert.deepEqual([...topics].filter((t) => !/\/(state|readings|availability|source\/availability)$/.test(t)), [], 'only state, readings and availability by default');
    await bridge!.stop();
    bridge = null;

    await run('pv1', { 'mqtt.per_value_topics': true });
    // Readings 1 and 3 differ in voltage and charger state but share the load's values.
    await mcu.send(readingLine(1) + '\n');
    await rec.waitFor('the first reading\'s values', () => rec!.last('solar/pv1/faults') !== undefined);
    await mcu.send(readingLine(3) + '\n');
    await rec.waitFor('the second reading\'s voltage', () => rec!.last('solar/pv1/battery/voltage')?.payload === String(reading(3).bv));
    await rec.waitFor('the state of the second', () => JSON.parse(rec!.last('solar/pv1/state')?.payload ?? '{}').seq === 3);
    assert.equal(rec.on('solar/pv1/load/voltage').length, 1, 'an unchanged value is not published again');
    assert.equal(rec.on('solar/pv1/charger/mode').length, 1);
    assert.equal(rec.on('solar/pv1/battery/voltage').length, 2);
    assert.equal(rec.last('solar/pv1/battery/voltage')!.payload, String(reading(3).bv));
    assert.equal(rec.on('solar/pv1/battery/charge_out').length, 2, 'a counter that moved is published again');
    assert.equal(rec.on('solar/pv1/battery/energy_out').length, 1);
  });

  it('publishes state, per-value and derived topics at mqtt.state_qos, readings and events at QoS 1 whatever it is', async () => {
    rec = await MqttRecorder.connect(broker.url, ['solar/#']);
    const qosOf = (device: string, re: RegExp): number[] => [...new Set(rec!.messages.filter((m) => m.topic.startsWith(`solar/${device}/`) && re.test(m.topic.slice(device.length + 7))).map((m) => m.qos))];
    for (const [device, stateQos] of [['q0', 0], ['q1', 1]] as const) {
      await run(device, { 'mqtt.state_qos': stateQos, 'mqtt.per_value_topics': true });
      bridge!.derived.declare('probe', [{ key: 'probe_value', label: 'Probe value' }]);
      bridge!.derived.set(Date.now(), { probe_value: 42 });
      await mcu.send(eventLine({ boot: 7, kind: 'boot' }) + '\n' + readingStream(3));
      await rec.waitFor(`${device}: 3 readings, their state and values, and the derived value`, () => rec!.readings(`solar/${device}/readings`).length >= 3
        && JSON.parse(rec!.last(`solar/${device}/state`)?.payload ?? '{}').seq === 3 && rec!.last(`solar/${device}/faults`) !== undefined
        && rec!.last(`solar/${device}/derived/probe_value`)?.payload === '42');
      assert.deepEqual(qosOf(device, /^state$/), [stateQos], `${device}: state`);
      assert.deepEqual(qosOf(device, /^(battery|load|solar|charger)\/|^faults$/), [stateQos], `${device}: per-value topics`);
      assert.deepEqual(qosOf(device, /^derived\//), [stateQos], `${device}: derived values`);
      assert.deepEqual(qosOf(device, /^readings$/), [1], `${device}: readings`);
      assert.deepEqual(qosOf(device, /^event$/), [1], `${device}: events`);
      assert.deepEqual(qosOf(device, /availability$/), [1], `${device}: availability`);
      await bridge!.stop();
      bridge = null;
    }
  });

  it('publishes the newest state again when it connects to a broker that lost its retained messages', async () => {
    const own = await MosquittoService.start();
    try {
      const r = await startBridge({ 'source.url': mcu.url, 'mqtt.url': own.url, device_id: 'again', 'spool.dir': path.join(dir, 'again'), 'battery.enabled': false, 'mqtt.reconnect_initial_ms': 100, 'mqtt.reconnect_max_ms': 200 });
      bridge = r.bridge;
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect to the TCP source' });
      await mcu.send(readingStream(2));
      const before = await MqttRecorder.connect(own.url, ['solar/again/state']);
      try {
        await before.waitFor('the state of the second reading', () => JSON.parse(before.last('solar/again/state')?.payload ?? '{}').seq === 2);
      } finally {
        await before.close();
      }
      // Killed, the broker saved nothing (autosave is hourly): it comes back without the retained state.
      await own.kill();
      await own.restart();
      await waitFor(() => bridge!.metrics.sinkConnected.get({ sink: 'mqtt' }) === 1, { timeoutMs: 15000, what: 'the bridge to reconnect' });
      const after = await MqttRecorder.connect(own.url, ['solar/again/state']);
      try {
        await after.waitFor('the retained state again, with no new reading', () => after.last('solar/again/state') !== undefined);
        const s = after.last('solar/again/state')!;
        assert.ok(s.retain);
        assert.equal(JSON.parse(s.payload).seq, 2);
      } finally {
        await after.close();
      }
    } finally {
      await bridge?.stop();
      bridge = null;
      await own.dispose();
    }
  });

  it('announces Home Assistant discovery (retained) and announces it again when homeassistant/status says online', async () => {
    rec = await MqttRecorder.connect(broker.url, ['homeassistant/+/solar_m2/+/config']);
    await run('m2');
    await rec.waitFor('discovery messages', () => rec!.messages.length >= 20);
    const first = new Map(rec.messages.map((m) => [m.topic, m.payload]));
    assert.ok(first.has('homeassistant/sensor/solar_m2/m2_battery_voltage/config'));
    assert.ok(first.has('homeassistant/binary_sensor/solar_m2/m2_charger/config'));
    assert.ok(first.has('homeassistant/select/solar_m2/m2_charger_force/config'));
    assert.ok(!first.has('homeassistant/sensor/solar_m2/m2_solar_current/config'), 'no solar current sensor until the MCU sends one');
    rec.messages.length = 0;
    const ha = await MqttRecorder.connect(broker.url, []);
    await ha.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await ha.close();
    await rec.waitFor('discovery announced again', () => new Set(rec!.messages.map((m) => m.topic)).size >= first.size);
    for (const m of rec.messages) assert.equal(m.payload, first.get(m.topic));

    // A reading with solar current adds its sensors.
    rec.messages.length = 0;
    await mcu.send(readingLine(1, 7, { sa: 3.5, sw: 60.2 }) + '\n');
    await rec.waitFor('solar current sensor announced', () => rec!.messages.some((m) => m.topic === 'homeassistant/sensor/solar_m2/m2_solar_current/config'));
  });

  describe('commands', () => {
    const sent: string[] = [];
    beforeEach(() => {
      sent.length = 0;
      mcu.respond((line, reply) => {
        sent.push(line);
        const d = decodeLine(line);
        if (!d.ok || d.frame.type !== 'C') return;
        const c = d.frame;
        if (c.cmd === 'status') reply(encodeReply({ id: c.id, ok: 1, data: { chg: 1, why: 'sun_down', bv: 12.7 } }) + '\n');
        else if (c.cmd === 'force') reply(encodeReply({ id: c.id, ok: 1 }) + '\n');
        else if (c.cmd === 'reset-energy') reply(encodeReply({ id: c.id, ok: 0, err: 'storage', msg: 'flash write failed' }) + '\n');
        // 'save' is never answered: the bridge must time out.
      });
    });

    async function ask(payload: string, topic = 'solar/c1/command'): Promise<{ [k: string]: unknown }> {
      const before = rec!.on('solar/c1/command/reply').length;
      await rec!.client.publishAsync(topic, payload, { qos: 1 });
      await rec!.waitFor(`a reply to ${payload}`, () => rec!.on('solar/c1/command/reply').length > before);
      return JSON.parse(rec!.on('solar/c1/command/reply')[before].payload);
    }

    it('forwards a valid command as a C frame with a request id and publishes the MCU reply', async () => {
      rec = await MqttRecorder.connect(broker.url, ['solar/c1/command/reply']);
      await run('c1', { 'mqtt.commands.timeout_ms': 1000 });
      const r = await ask('{"cmd":"status","request_id":"r-1"}');
      assert.equal(sent.length, 1);
      const c = decodeLine(sent[0]);
      assert.ok(c.ok && c.frame.type === 'C' && c.frame.cmd === 'status', sent[0]);
      assert.deepEqual(r, { request_id: 'r-1', id: (c.frame as { id: number }).id, ok: true, cmd: 'status', data: { chg: 1, why: 'sun_down', bv: 12.7 } });

      const f = await ask('{"cmd":"force","mode":"off","for":600,"request_id":7}');
      const fc = decodeLine(sent[1]);
      assert.ok(fc.ok && fc.frame.type === 'C');
      assert.deepEqual({ ...fc.frame, id: 0 }, { type: 'C', id: 0, cmd: 'force', mode: 'off', for: 600 });
      assert.equal(f.ok, true);
      assert.equal(f.request_id, 7);
      assert.notEqual((fc.frame as { id: number }).id, (c.frame as { id: number }).id, 'each command gets its own id');

      const e = await ask('{"cmd":"reset-energy","request_id":"r-3"}');
      assert.deepEqual({ ok: e.ok, error: e.error, detail: e.detail }, { ok: false, error: 'storage', detail: 'flash write failed' });

      const t = await ask('{"cmd":"save","request_id":"r-4"}');
      assert.deepEqual({ ok: t.ok, error: t.error }, { ok: false, error: 'timeout' });
      assert.match(String(t.detail), /within 1000 ms/);

      // Home Assistant's select: plain mode, forced for the configured duration.
      const before = sent.length;
      await rec.client.publishAsync('solar/c1/charger/mode/set', 'on', { qos: 1 });
      await waitFor(() => sent.length > before, { timeoutMs: 10000, what: 'the select to send a command' });
      const sc = decodeLine(sent[before]);
      assert.ok(sc.ok && sc.frame.type === 'C');
      assert.deepEqual({ ...sc.frame, id: 0 }, { type: 'C', id: 0, cmd: 'force', mode: 'on', for: 3600 });
      const m = parseMetrics(bridge!.metrics.registry.render());
      assert.equal(metricValue(m, 'solar_bridge_commands_total', 'result="timeout"'), 1);
      assert.equal(metricValue(m, 'solar_bridge_commands_total', 'result="failed"'), 1);
    });

    it('answers an invalid command with an error naming the problem, and sends nothing to the MCU', async () => {
      rec = await MqttRecorder.connect(broker.url, ['solar/c1/command/reply']);
      await run('c1');
      const cases: Array<[string, string, RegExp]> = [
        ['{"cmd":"set","bon":14,"boff":13,"request_id":"a"}', 'bad_value', /bon 14 must be below boff 13/],
        ['{"cmd":"set","bon":99}', 'out_of_range', /field bon: 99 outside 10\.\.15/],
        ['{"cmd":"force","mode":"on"}', 'missing_field', /force on needs for/],
        ['{"cmd":"status","bon":12}', 'bad_value', /status does not take bon/],
        ['{"cmd":"explode"}', 'bad_value', /field cmd: explode is not one of/],
        ['{"cmd":"set","bon":[1]}', 'bad_value', /bon must be a string or a number/],
        ['{"cmd":"status","id":5}', 'invalid', /id is chosen by the bridge/],
        ['not json', 'invalid', /not JSON/],
        ['[1,2]', 'invalid', /must be a JSON object/],
      ];
      for (const [payload, error, detail] of cases) {
        const r = await ask(payload);
        assert.equal(r.ok, false, payload);
        assert.equal(r.error, error, payload);
        assert.match(String(r.detail), detail, payload);
      }
      assert.equal((await ask('{"cmd":"set","bon":14,"boff":13,"request_id":"a"}')).request_id, 'a');
      assert.equal(sent.length, 0, 'nothing invalid reaches the MCU');
    });

    it('answers "unavailable" while the link to the MCU is down', async () => {
      rec = await MqttRecorder.connect(broker.url, ['solar/c1/command/reply', 'solar/c1/source/availability']);
      await run('c1', { 'source.reconnect_initial_ms': 5000, 'source.reconnect_max_ms': 5000 });
      await rec.waitFor('source online', () => rec!.last('solar/c1/source/availability')?.payload === 'online');
      mcu.dropClients();
      await rec.waitFor('source offline', () => rec!.last('solar/c1/source/availability')?.payload === 'offline');
      const r = await ask('{"cmd":"status"}');
      assert.deepEqual({ ok: r.ok, error: r.error }, { ok: false, error: 'unavailable' });
    });
  });

  it('logs in with a user name and password, and says why when the broker refuses', async () => {
    const secure = await MosquittoService.start({ users: [{ username: 'solar', password: 's3cret' }] });
    try {
      const bad = await startBridge({ 'source.url': mcu.url, 'mqtt.url': secure.url, 'mqtt.username': 'solar', 'mqtt.password': 'wrong', 'mqtt.reconnect_initial_ms': 200, 'mqtt.reconnect_max_ms': 400, 'spool.dir': path.join(dir, 'bad') });
      try {
        await waitFor(() => /Not authorized|Bad username or password/i.test(bad.log.text()), { timeoutMs: 10000, what: 'an authentication error in the log', detail: () => bad.log.text() });
        assert.equal(bad.bridge.metrics.sinkConnected.get({ sink: 'mqtt' }), 0);
      } finally {
        await bad.bridge.stop();
      }
      rec = await MqttRecorder.connect(secure.url, ['solar/auth/readings'], { username: 'solar', password: 's3cret' });
      const r = await startBridge({ 'source.url': mcu.url, 'mqtt.url': secure.url, 'mqtt.username': 'solar', 'mqtt.password': 's3cret', device_id: 'auth', 'spool.dir': path.join(dir, 'good') });
      bridge = r.bridge;
      await waitFor(() => mcu.clientCount >= 1, { timeoutMs: 10000, what: 'source connection' });
      await mcu.send(readingStream(3));
      await rec.waitFor('3 readings through an authenticated connection', () => rec!.readings('solar/auth/readings').length === 3);
    } finally {
      await bridge?.stop();
      bridge = null;
      await rec?.close();
      rec = null;
      await secure.dispose();
    }
  });

  it('connects over TLS with a CA and a client certificate', async () => {
    const pkiDir = makeTempDir('pki');
    const pki = makeTestPki(pkiDir);
    const tls = await MosquittoService.start({ tls: { caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey, requireClientCert: true } });
    try {
      rec = await MqttRecorder.connect(tls.url, ['solar/tls/readings'], { ca: [require('node:fs').readFileSync(pki.caFile)], cert: require('node:fs').readFileSync(pki.clientCert), key: require('node:fs').readFileSync(pki.clientKey) });
      const r = await startBridge({
        'source.url': mcu.url, 'mqtt.url': tls.url, device_id: 'tls', 'spool.dir': path.join(dir, 'tls'),
        'mqtt.tls.ca': pki.caFile, 'mqtt.tls.cert': pki.clientCert, 'mqtt.tls.key': pki.clientKey,
      });
      bridge = r.bridge;
      await waitFor(() => mcu.clientCount >= 1, { timeoutMs: 10000, what: 'source connection' });
      await mcu.send(readingStream(2));
      await rec.waitFor('readings over TLS', () => rec!.readings('solar/tls/readings').length === 2);

      // Without the client certificate the broker must refuse the bridge.
      const noCert = await startBridge({ 'source.url': mcu.url, 'mqtt.url': tls.url, device_id: 'tls2', 'spool.dir': path.join(dir, 'tls2'), 'mqtt.tls.ca': pki.caFile, 'mqtt.reconnect_initial_ms': 200, 'mqtt.reconnect_max_ms': 400 });
      try {
        await waitFor(() => noCert.bridge.metrics.sinkErrors.get({ sink: 'mqtt', kind: 'connection' }) > 0 || /broker/.test(noCert.log.text()), { timeoutMs: 10000, what: 'a refused TLS connection', detail: () => noCert.log.text() });
        assert.equal(noCert.bridge.metrics.sinkConnected.get({ sink: 'mqtt' }), 0);
      } finally {
        await noCert.bridge.stop();
      }
    } finally {
      await bridge?.stop();
      bridge = null;
      await rec?.close();
      rec = null;
      await tls.dispose();
      removeDir(pkiDir);
    }
  });

  it('marks the bridge offline through its last will when the process is SIGKILLed', async () => {
    rec = await MqttRecorder.connect(broker.url, ['solar/lwt/availability', 'solar/lwt/source/availability']);
    const p = await BridgeProcess.create(['--source', mcu.url, '--mqtt', broker.url, '--device-id', 'lwt', '--spool', path.join(dir, 'lwt')], path.join(dir, 'bridge.log'));
    try {
      await p.start();
      await rec.waitFor('bridge online', () => rec!.last('solar/lwt/availability')?.payload === 'online' && rec!.last('solar/lwt/source/availability')?.payload === 'online');
      await p.kill();
      await rec.waitFor('offline from the last will', () => rec!.last('solar/lwt/availability')?.payload === 'offline');
    } finally {
      await p.kill();
    }
  });
});
