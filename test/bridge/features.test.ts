/**
 * The feature seam, used the way the battery estimator, NUT server and web page will use
 * it: a probe feature defined here, composed with the real MQTT feature against a real
 * mosquitto and a TCP "MCU", sees every frame in order, rebuilds its state from the spool
 * on the next start (history kept past the sinks' confirmation), reads a time range,
 * serves HTTP routes on the health server, sends commands through the one validated path
 * and gets the MCU's reply, and publishes derived values that reach MQTT, Home Assistant
 * discovery and /metrics without the core or the MQTT feature knowing it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { decodeLine, encodeReply } from '../../protocol';
import { Bridge, FEATURES } from '../../bridge/src';
import type { BridgeCore, FeatureDefinition, SpooledFrame } from '../../bridge/src';
import { Influxd1Service, LineServer, MosquittoService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { LogCapture, configFrom, metricValue, parseMetrics } from './helpers/bridge-harness';
import { eventLine, readingStream } from './helpers/frames';
import { MqttRecorder } from './helpers/mqtt-recorder';

interface Probe {
  replayed: SpooledFrame[];
  live: SpooledFrame[];
  links: boolean[];
  core: BridgeCore | null;
  routeClash: string;
}

function probeFeature(p: Probe): FeatureDefinition {
  return {
    name: 'probe',
    enabled: () => true,
    create(core) {
      p.core = core;
      core.spool.keepHistory(3600 * 1000);
      core.derived.declare('probe', [
        { key: 'probe_count', label: 'Frames seen', homeassistant: { state_class: 'measurement' } },
        { key: 'probe_last_seq_even', label: 'Last reading even', homeassistant: { component: 'binary_sensor' } },
      ]);
      try {
        core.http.route({ path: '/metrics' }, () => undefined);
      } catch (e) {
        p.routeClash = (e as Error).message;
      }
      core.http.route({ path: '/probe/range' }, (req, res) => {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        const seqs: number[] = [];
        core.spool.readRange(Number(q.get('from')), Number(q.get('to')), (rec) => { if (rec.frame.type === 'R') seqs.push(rec.frame.seq); });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seqs));
      });
      core.http.route({ path: '/probe/command', methods: ['POST'] }, async (req, res) => {
        let body = '';
        for await (const chunk of req) body += chunk;
        const reply = await core.commands.request(body);
        res.writeHead(reply.ok ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      });
      const unsubscribe: Array<() => void> = [];
      return {
        start() {
          core.spool.replay((rec) => p.replayed.push(rec));
          unsubscribe.push(core.onFrame((rec) => {
            p.live.push(rec);
            const values: { [k: string]: number | boolean } = { probe_count: p.replayed.length + p.live.length };
            if (rec.frame.type === 'R') values.probe_last_seq_even = rec.frame.seq % 2 === 0;
            core.derived.set(rec.ts, values);
          }));
          unsubscribe.push(core.onLink((up) => p.links.push(up)));
        },
        stop() {
          for (const u of unsubscribe) u();
        },
        health: () => ({ problems: p.live.length === 0 ? ['no frame yet'] : [], frames: p.live.length }),
      };
    },
  };
}

describe('bridge features: the seam a new feature plugs into', function () {
  this.timeout(60000);
  let broker: MosquittoService;
  let mcu: LineServer;
  let dir: string;
  let bridge: Bridge | null = null;
  let rec: MqttRecorder | null = null;

  before(async () => { broker = await MosquittoService.start(); });
  after(async () => { await broker.dispose(); });
  beforeEach(async () => {
    dir = makeTempDir('bridge-features');
    mcu = await LineServer.start();
  });
  afterEach(async () => {
    await bridge?.stop();
    bridge = null;
    await rec?.close();
    rec = null;
    await mcu.close();
    removeDir(dir);
  });

  async function run(p: Probe): Promise<Bridge> {
    const config = configFrom({
      'source.url': mcu.url, 'mqtt.url': broker.url, device_id: 'f1', 'http.listen': '127.0.0.1:0',
      'spool.dir': path.join(dir, 'spool'), 'spool.segment_bytes': 65536, 'spool.max_bytes': 64 * 1024 * 1024, 'mqtt.commands.timeout_ms': 3000,
      'mqtt.derived_interval_s': 1,
    });
    const b = new Bridge({ config, log: new LogCapture().logger, version: 'test', features: [...FEATURES, probeFeature(p)] });
    bridge = b;
    await b.start();
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect to the TCP source' });
    return b;
  }

  const newProbe = (): Probe => ({ replayed: [], live: [], links: [], core: null, routeClash: '' });

  it('streams frames in order, publishes derived values everywhere, serves routes and commands with the MCU reply', async () => {
    rec = await MqttRecorder.connect(broker.url, ['solar/f1/derived/#', 'homeassistant/+/solar_f1/+/config']);
    const p = newProbe();
    const b = await run(p);
    assert.match(p.routeClash, /\/metrics is the bridge's own/);
    const base = `http://127.0.0.1:${b.healthPort()}`;
    let health = await (await fetch(`${base}/healthz`)).json() as { healthy: boolean; problems: string[]; features: { probe: { frames: number } } };
    assert.ok(health.problems.includes('probe: no frame yet'), JSON.stringify(health));

    await mcu.send(eventLine({ boot: 7 }) + '\n' + readingStream(30));
    await waitFor(() => p.live.length === 31, { timeoutMs: 10000, what: '31 frames at the probe' });
    assert.equal(p.live[0].frame.type, 'E');
    assert.deepEqual(p.live.slice(1).map((r) => r.frame.type === 'R' && r.frame.seq), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(p.links, [true]);
    assert.equal(p.core!.latestReading()!.record.frame.type === 'R' && (p.core!.latestReading()!.record.frame as { seq: number }).seq, 30);
    assert.ok(Date.now() - p.core!.latestReading()!.receivedAtMs < 10000);

    await rec.waitFor('derived values on MQTT', () => rec!.last('solar/f1/derived/probe_count')?.payload === '31' && rec!.last('solar/f1/derived/probe_last_seq_even')?.payload === 'true');
    const late = await MqttRecorder.connect(broker.url, ['solar/f1/derived/probe_count']);
    try {
      await late.waitFor('the retained derived value', () => late.messages.length > 0);
      assert.equal(late.last('solar/f1/derived/probe_count')!.payload, '31');
      assert.ok(late.last('solar/f1/derived/probe_count')!.retain);
    } finally {
      await late.close();
    }
    await rec.waitFor('Home Assistant discovery of the derived values', () => rec!.on('homeassistant/binary_sensor/solar_f1/f1_probe_last_seq_even/config').length > 0);
    const count = JSON.parse(rec.last('homeassistant/sensor/solar_f1/f1_probe_count/config')!.payload) as { state_topic: string; name: string };
    assert.equal(count.state_topic, 'solar/f1/derived/probe_count');
    assert.equal(count.name, 'Frames seen');
    const m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    assert.equal(metricValue(m, 'solar_derived_probe_count'), 31);
    assert.equal(metricValue(m, 'solar_derived_probe_last_seq_even'), 1);
    health = await (await fetch(`${base}/healthz`)).json() as typeof health;
    assert.equal(health.features.probe.frames, 31);
    assert.deepEqual(p.core!.health().features, health.features, 'a feature reads the same health the server answers');
    assert.ok(!health.problems.some((x) => x.startsWith('probe:')), JSON.stringify(health));

    // A time range of the spool: readings 10..19 by their timestamps (1 s apart).
    const ts = (seq: number): number => p.live.find((r) => r.frame.type === 'R' && r.frame.seq === seq)!.ts;
    const range = await (await fetch(`${base}/probe/range?from=${ts(10)}&to=${ts(20)}`)).json() as number[];
    assert.deepEqual(range, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);

    // Commands: the same validated path as MQTT, with the MCU's answer.
    const sent: string[] = [];
    mcu.respond((line, reply) => {
      sent.push(line);
      const d = decodeLine(line);
      if (d.ok && d.frame.type === 'C') reply(encodeReply({ id: d.frame.id, ok: 1, data: { chg: 1, why: 'sun_down' } }) + '\n');
    });
    const ok = await fetch(`${base}/probe/command`, { method: 'POST', body: '{"cmd":"status","request_id":"web-1"}' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { request_id: 'web-1', id: (JSON.parse(JSON.stringify(decodeLine(sent[0]))) as { frame: { id: number } }).frame.id, ok: true, cmd: 'status', data: { chg: 1, why: 'sun_down' } });
    const bad = await fetch(`${base}/probe/command`, { method: 'POST', body: '{"cmd":"force","mode":"sideways"}' });
    assert.equal(bad.status, 400);
    const refusal = await bad.json() as { ok: boolean; error: string; detail: string };
    assert.equal(refusal.ok, false);
    assert.match(refusal.detail, /mode/);
    assert.equal(sent.length, 1, 'a refused command never reaches the MCU');
    assert.equal((await fetch(`${base}/probe/command`)).status, 405, 'a route answers only its methods');
    const m2 = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    assert.equal(metricValue(m2, 'solar_bridge_commands_total', 'result="ok"'), 1);
    assert.equal(metricValue(m2, 'solar_bridge_commands_total', 'result="invalid"') + metricValue(m2, 'solar_bridge_commands_total', 'result="bad_value"'), 1);
  });

  it('rebuilds from the spool at start-up: a replay of every kept frame, then the live stream with nothing missed or repeated', async () => {
    const first = newProbe();
    const b1 = await run(first);
    // About 2,000 records: several 64 KiB segments, all confirmed by MQTT, so only the
    // probe's keepHistory keeps the older ones.
    await mcu.send(readingStream(2000));
    await waitFor(() => first.live.length === 2000, { timeoutMs: 20000, what: '2000 frames at the probe' });
    await waitFor(() => b1.health().sinks.mqtt?.pending_records === 0, { timeoutMs: 20000, what: 'MQTT to confirm everything' });
    const segments = b1.health().spool!.segments;
    assert.ok(segments >= 4, `expected several segments, got ${segments}`);
    await b1.stop();
    bridge = null;
    await mcu.close();

    mcu = await LineServer.start();
    const second = newProbe();
    await run(second);
    assert.deepEqual(second.replayed.map((r) => r.frame.type === 'R' && r.frame.seq), Array.from({ length: 2000 }, (_, i) => i + 1), 'every kept frame, in order');
    assert.deepEqual(second.replayed, first.live, 'the same frames and timestamps as they were streamed live');
    assert.equal(second.live.length, 0, 'nothing live before the source delivers');
    await mcu.send(readingStream(5, 7, 2001));
    await waitFor(() => second.live.length === 5, { timeoutMs: 10000, what: '5 live frames' });
    assert.deepEqual(second.live.map((r) => r.frame.type === 'R' && r.frame.seq), [2001, 2002, 2003, 2004, 2005]);
  });

  it('derived values reach InfluxDB as derived points at the reading\'s time, beside the readings', async () => {
    const influx = await Influxd1Service.start();
    try {
      const p = newProbe();
      const config = configFrom({
        'source.url': mcu.url, 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': 'features', device_id: 'f2',
        'spool.dir': path.join(dir, 'spool'), 'influx.retry_initial_ms': 100, 'influx.retry_max_ms': 1000,
      });
      await influx.query('features', 'CREATE DATABASE "features"');
      bridge = new Bridge({ config, log: new LogCapture().logger, version: 'test', features: [...FEATURES, probeFeature(p)] });
      await bridge.start();
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect' });
      await mcu.send(readingStream(10));
      // Derived points go with the next batch: one more reading carries the last value out.
      await waitFor(() => p.live.length === 10, { timeoutMs: 10000, what: '10 frames at the probe' });
      await mcu.send(readingStream(1, 7, 11));
      let rows: unknown[][] = [];
      await waitFor(async () => {
        const s = await influx.query('features', `SELECT probe_count, probe_last_seq_even FROM derived WHERE device = 'f2' ORDER BY time`);
        rows = s.length ? s[0].values : [];
        return rows.length >= 10;
      }, { timeoutMs: 15000, what: '10 derived points in InfluxDB', detail: () => JSON.stringify(rows) });
      const times = p.live.slice(0, 10).map((r) => r.ts);
      assert.deepEqual(rows.slice(0, 10).map((r) => [r[0], r[1], r[2]]), times.map((t, i) => [t, i + 1, (i + 1) % 2 === 0]));
    } finally {
      await bridge?.stop();
      bridge = null;
      await influx.dispose();
    }
  });
});
