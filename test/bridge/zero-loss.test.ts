/**
 * Zero loss, end to end through real processes: a TCP source streams N readings while the
 * broker is stopped and restarted, InfluxDB is SIGKILLed and restarted, and the bridge is
 * SIGKILLed (twice, each time with deliveries outstanding) and restarted. Afterwards every
 * seq 1..N is in InfluxDB exactly once and reached an MQTT subscriber.
 *
 * The bridge is killed only once it has read every frame sent so far (its frames counter
 * equals what the source sent on that connection): bytes still in a socket buffer when a
 * process dies are lost to any reader, and a real serial line does not resend. What this
 * test holds the bridge to is the rest: a frame it has read survives anything.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Influxd1Service, LineServer, MosquittoService, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { BridgeProcess, FAST_RETRY_ENV, metricValue } from './helpers/bridge-harness';
import { readingLine } from './helpers/frames';
import { MqttRecorder } from './helpers/mqtt-recorder';

const N = 3000;
const DB = 'solar';

describe('bridge zero loss under broker, InfluxDB and bridge failures', function () {
  this.timeout(240000);
  let dir: string;
  let broker: MosquittoService;
  let influx: Influxd1Service;
  let mcu: LineServer;
  let sub: MqttRecorder | null = null;
  let bridge: BridgeProcess | null = null;

  before(async () => {
    dir = makeTempDir('zero-loss');
    [broker, influx, mcu] = await Promise.all([MosquittoService.start(), Influxd1Service.start(), LineServer.start()]);
    await influx.createDatabase(DB);
  });
  after(async () => {
    await bridge?.kill();
    await sub?.close();
    await mcu?.close();
    await broker?.dispose();
    await influx?.dispose();
    removeDir(dir);
  });

  it(`delivers every one of ${N} readings: InfluxDB exactly once, MQTT at least once`, async () => {
    // A persistent session: what the broker accepted while this subscriber was cut off
    // (broker restart) is delivered when it reconnects.
    sub = await MqttRecorder.connect(broker.url, ['solar/zl/readings'], { clientId: 'zero-loss-check', clean: false });
    const seen = new Set<number>();
    sub.client.on('message', (_t, payload) => { for (const r of JSON.parse(payload.toString()) as Array<{ frame: { seq: number } }>) seen.add(r.frame.seq); });

    const env = {
      ...FAST_RETRY_ENV,
      // Small segments, so segments roll and are deleted while the test runs.
      SOLAR_BRIDGE_SPOOL_SEGMENT_BYTES: String(64 * 1024),
      // The web page asks the spool to keep a week (keepHistory), which keeps delivered segments;
      // this test checks that delivery alone deletes them (test/web/web-feature.test.ts checks the keeping).
      SOLAR_BRIDGE_WEB_ENABLED: 'false',
      // The battery feature runs (killed and restarted with the rest) but keeps no extra
      // spool history for --battery-rebuild: this checks that confirmed segments go.
      SOLAR_BRIDGE_BATTERY_HISTORY_DAYS: '0',
    };
    const args = ['--source', mcu.url, '--mqtt', broker.url, '--influx-url', influx.url, '--influx-api', 'v1', '--influx-db', DB, '--device-id', 'zl', '--spool', path.join(dir, 'spool')];
    let run = 0;
    let sentThisRun = 0;
    const startBridge = async (): Promise<void> => {
      bridge = await BridgeProcess.create(args, path.join(dir, `bridge-${++run}.log`), env);
      await bridge.start();
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 15000, what: 'the bridge to connect to the source' });
      sentThisRun = 0;
    };
    const send = async (from: number, to: number): Promise<void> => {
      for (let s = from; s <= to; s += 50) {
        let text = '';
        const end = Math.min(to, s + 49);
        for (let i = s; i <= end; i++) text += readingLine(i, 7, { up: i * 0.1 }) + '\n';
        await mcu.send(text);
        sentThisRun += end - s + 1;
        await sleep(5);
      }
    };
    const readEverythingSent = async (): Promise<void> => {
      await waitFor(async () => metricValue(await bridge!.metrics(), 'solar_bridge_frames_total', 'type="R"') === sentThisRun, {
        timeoutMs: 15000, what: `the bridge to read all ${sentThisRun} frames sent to it`,
      });
    };

    await startBridge();
    await send(1, 400);
    await broker.stop();                        // broker down (graceful: it saves its sessions)
    await send(401, 800);
    await broker.restart();
    await send(801, 1200);
    await influx.kill();                        // InfluxDB SIGKILLed
    await send(1201, 1500);
    await readEverythingSent();
    const before = await bridge!.metrics();
    assert.ok(metricValue(before, 'solar_bridge_sink_pending_records', 'sink="influx"') > 0, 'InfluxDB is down, so the spool holds its backlog');
    await bridge!.kill();                       // bridge SIGKILLed with the InfluxDB backlog unconfirmed
    await startBridge();
    await send(1501, 1900);
    await influx.restart();
    await send(1901, 2300);
    await broker.stop();
    await send(2301, 2600);
    await readEverythingSent();
    await bridge!.kill();                       // bridge SIGKILLed with MQTT deliveries outstanding
    await broker.restart();
    await startBridge();
    await send(2601, N);

    const q = async (query: string): Promise<number> => {
      const s = await influx.query(DB, query);
      return s.length === 0 ? 0 : Number(s[0].values[0][1]);
    };
    await waitFor(async () => (await q('SELECT count(seq) FROM charger')) >= N, { timeoutMs: 60000, what: `${N} readings in InfluxDB`, detail: async () => `have ${await q('SELECT count(seq) FROM charger')}; bridge log:\n${bridge!.output().slice(-3000)}` });
    await waitFor(() => seen.size === N, { timeoutMs: 60000, what: `all ${N} readings over MQTT`, detail: () => `have ${seen.size}; missing e.g. ${[...Array(N).keys()].map((i) => i + 1).filter((s) => !seen.has(s)).slice(0, 10)}` });

    const rows = await influx.query(DB, 'SELECT seq FROM charger ORDER BY time');
    const seqs = rows[0].values.map((v) => v[1] as number);
    assert.equal(seqs.length, N, 'exactly N charger points: none lost, none duplicated');
    assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i + 1), 'every seq once, in time order');
    assert.equal(await q(`SELECT count(voltage) FROM power WHERE channel = 'battery'`), N);

    const m = await bridge!.metrics();
    await waitFor(async () => metricValue(await bridge!.metrics(), 'solar_bridge_sink_pending_records', 'sink="influx"') === 0
      && metricValue(await bridge!.metrics(), 'solar_bridge_sink_pending_records', 'sink="mqtt"') === 0, { timeoutMs: 15000, what: 'both sinks to have confirmed everything' });
    assert.equal(metricValue(m, 'solar_bridge_spool_dropped_total'), 0);
    assert.equal(metricValue(m, 'solar_bridge_sink_parked_total', 'sink="influx"'), 0);
    assert.equal(metricValue(m, 'solar_bridge_sequence_gaps_total'), 0, 'no reading was missed between bridge runs either');
    await bridge!.stop();
    const left = fs.readdirSync(path.join(dir, 'spool')).filter((f) => f.startsWith('seg-'));
    assert.ok(left.length <= 2, `consumed segments are deleted (left: ${left.join(', ')})`);
  });
});
