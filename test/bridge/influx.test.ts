import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AnchorFile, BootClock, Bridge } from '../../bridge/src';
import { HttpFaultProxy, Influxd1Service, ProxiedRequest, LineServer, VictoriaMetricsService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { metricValue, parseMetrics, startBridge } from './helpers/bridge-harness';
import { eventLine, reading, readingLine, readingStream, withExtraField } from './helpers/frames';

const DB = 'solar';

async function count(influx: Influxd1Service, q: string): Promise<number> {
  const s = await influx.query(DB, q);
  return s.length === 0 ? 0 : Number(s[0].values[0][1]);
}

describe('bridge InfluxDB sink', function () {
  this.timeout(90000);
  let mcu: LineServer;
  let dir: string;
  let bridge: Bridge | null;

  beforeEach(async () => {
    dir = makeTempDir('bridge-influx');
    mcu = await LineServer.start();
    bridge = null;
  });
  afterEach(async () => {
    await bridge?.stop();
    await mcu.close();
    removeDir(dir);
  });

  async function run(settings: { [k: string]: string | number | boolean }): Promise<Bridge> {
    const r = await startBridge({ 'source.url': mcu.url, 'spool.dir': path.join(dir, 'spool'), 'influx.retry_initial_ms': 100, 'influx.retry_max_ms': 1000, ...settings });
    bridge = r.bridge;
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect to the TCP source' });
    return r.bridge;
  }

  describe('v1 /write against InfluxDB 1.6', () => {
    let influx: Influxd1Service;
    before(async () => { influx = await Influxd1Service.start(); });
    after(async () => { await influx.dispose(); });
    beforeEach(async () => {
      await influx.query(DB, `DROP DATABASE "${DB}"`).catch(() => undefined);
      await influx.createDatabase(DB);
    });

    it('writes readings as power (tags device, channel) and charger points, events, with boot-anchored ms timestamps and seq/boot fields', async () => {
      await run({ 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB, device_id: 'house' });
      await mcu.send(eventLine({ boot: 7, up: 0.004, kind: 'boot', msg: 'hello, "world"' }) + '\n' + readingStream(20));
      await waitFor(async () => (await count(influx, `SELECT count(seq) FROM charger`)) === 20, { timeoutMs: 20000, what: '20 charger points' });
      const tags = await influx.query(DB, 'SHOW TAG VALUES FROM power WITH KEY = channel');
      assert.deepEqual(tags[0].values.map((v) => v[1]).sort(), ['battery', 'load', 'solar']);
      const battery = await influx.query(DB, `SELECT voltage, current, power, energy_out, charge_in, seq, boot FROM power WHERE device = 'house' AND channel = 'battery' ORDER BY time`);
      assert.equal(battery[0].values.length, 20);
      const anchor = new BootClock(new AnchorFile(path.join(dir, 'spool'))).anchorOf(7)!;
      assert.ok(Math.abs(anchor - Date.now()) < 60000, 'the anchor is the bridge clock at the first frame, minus uptime');
      battery[0].values.forEach((row, i) => {
        const r = reading(i + 1);
        assert.deepEqual(row, [anchor + Math.round(r.up * 1000), r.bv, r.ba, r.bw, r.bwho, r.bahi, i + 1, 7]);
      });
      const charger = await influx.query(DB, `SELECT "on", reason, mode, faults, uptime, seq FROM charger WHERE seq = 2`);
      assert.deepEqual(charger[0].values[0].slice(1), [1, 'sun_down', 'auto', 0, 12, 2]);
      const ev = await influx.query(DB, `SELECT message, fw, boot, uptime FROM event WHERE kind = 'boot'`);
      assert.deepEqual(ev[0].values[0], [anchor + 4, 'hello_ "world"', '0.1.0', 7, 0.004]);
      const m = parseMetrics(bridge!.metrics.registry.render());
      await waitFor(() => metricValue(parseMetrics(bridge!.metrics.registry.render()), 'solar_bridge_sink_sent_total', 'sink="influx"') === 21, { timeoutMs: 5000, what: 'sent counter' });
      assert.equal(metricValue(m, 'solar_bridge_sink_parked_total', 'sink="influx"'), 0);
    });

    it('a replay of the same capture overwrites the same points instead of duplicating them', async () => {
      const capture = path.join(dir, 'capture.log');
      const lines = readingStream(30);
      fs.writeFileSync(capture, '> console noise\n' + lines);
      await run({ 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB });
      await mcu.send(lines);
      await waitFor(async () => (await count(influx, `SELECT count(seq) FROM power WHERE channel = 'battery'`)) === 30, { timeoutMs: 20000, what: '30 battery points' });
      await bridge!.stop();
      bridge = null;
      // The same frames again, from a file: same spool directory, so the same boot anchors.
      const replay = await startBridge({ 'source.url': `file:${capture}`, 'spool.dir': path.join(dir, 'spool'), 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB });
      bridge = replay.bridge;
      await replay.bridge.replayDone();
      assert.equal(metricValue(parseMetrics(replay.bridge.metrics.registry.render()), 'solar_bridge_sink_sent_total', 'sink="influx"'), 30, 'the replay was written');
      assert.equal(await count(influx, `SELECT count(seq) FROM power WHERE channel = 'battery'`), 30);
      assert.equal(await count(influx, `SELECT count(seq) FROM charger`), 30);
      const seqs = await influx.query(DB, `SELECT seq FROM charger ORDER BY time`);
      assert.deepEqual(seqs[0].values.map((v) => v[1]), Array.from({ length: 30 }, (_, i) => i + 1));
    });

    it('isolates a point the server rejects (field type conflict): parks it with the reason, writes every other point', async () => {
      // A newer firmware's extra key, first seen as a number, then as a word.
      // One second before the readings, not an hour: InfluxDB 1.x keeps field types per
      // shard, and its week-long shard groups start on Mondays 00:00 UTC, so an hour-old
      // point lands in last week's shard every Monday before 01:00 and no conflict happens.
      const t0 = Date.now();
      const pre = await influx.write(DB, `charger,device=solar-cluster x_k=1.5 ${t0 - 1000}`);
      assert.equal(pre.status, 204);
      await run({ 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB });
      let text = '';
      for (let i = 1; i <= 40; i++) text += (i === 13 ? withExtraField(readingLine(i), 'k=abc') : readingLine(i)) + '\n';
      await mcu.send(text);
      await waitFor(() => bridge!.metrics.sinkParked.get({ sink: 'influx' }) === 1 && bridge!.metrics.sinkSent.get({ sink: 'influx' }) === 40, { timeoutMs: 20000, what: 'one parked point and 40 records confirmed' });
      assert.equal(await count(influx, `SELECT count(seq) FROM power WHERE channel = 'battery'`), 40, 'the power points of the same reading are written');
      assert.equal(await count(influx, `SELECT count(seq) FROM charger`), 39, 'only the bad point is missing');
      const parked = fs.readFileSync(path.join(dir, 'spool', 'parked-influx.lp'), 'utf8').split('\n');
      assert.match(parked[0], /^# \S+ HTTP 400: .*field type conflict/);
      assert.match(parked[1], /^charger,device=solar-cluster .*seq=13i,boot=7i,x_k="abc" \d+$/);
      assert.equal(parked.filter((l) => l && !l.startsWith('#')).length, 1);
      assert.ok(bridge!.metrics.sinkErrors.get({ sink: 'influx', kind: 'rejected' }) >= 1);
    });

    it('retries 503, honours 429 Retry-After, survives cut connections, and parks nothing', async () => {
      const proxy = await HttpFaultProxy.start(influx.url);
      try {
        // The cut comes on the connection kept alive after the 503, so it is tried again at
        // once on a new connection (kept-alive connections, below); cut again there, it counts.
        proxy.inject({ kind: 'status', status: 503 }, { kind: 'cut' }, { kind: 'cut' }, { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
        await run({ 'influx.url': proxy.url, 'influx.api': 'v1', 'influx.db': DB });
        await mcu.send(readingStream(10));
        await waitFor(async () => (await count(influx, `SELECT count(seq) FROM charger`)) === 10, { timeoutMs: 20000, what: '10 points through the faults' });
        // InfluxDB holds the points before its answer has passed the proxy: the proxy has
        // recorded the answer once the bridge counts the batch confirmed.
        await waitFor(() => bridge!.metrics.sinkSent.get({ sink: 'influx' }) === 10, { timeoutMs: 10000, what: 'the bridge to count the 10 confirmed' });
        const writes = proxy.requests.filter((r) => r.path.startsWith('/write'));
        assert.deepEqual(writes.slice(0, 4).map((r) => r.outcome), [503, 'cut', 'cut', 429]);
        // The same batch (same body) again, no sooner than the server asked.
        const throttled = writes[3];
        const retry = writes.find((w, i) => i > 3 && w.bodyBytes === throttled.bodyBytes);
        assert.ok(retry, 'the throttled batch was sent again');
        assert.ok(retry.at - throttled.at >= 950, `retried ${retry.at - throttled.at} ms after a 429 with Retry-After: 1`);
        assert.equal(retry.outcome, 204);
        assert.equal(bridge!.metrics.sinkParked.get({ sink: 'influx' }), 0);
        assert.equal(bridge!.metrics.sinkErrors.get({ sink: 'influx', kind: 'server' }), 2);
        assert.equal(bridge!.metrics.sinkErrors.get({ sink: 'influx', kind: 'network' }), 1);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('kept-alive connections', () => {
    let influx: Influxd1Service;
    before(async () => { influx = await Influxd1Service.start(); await influx.createDatabase(DB); });
    after(async () => { await influx.dispose(); });

    it('a write on a kept-alive connection closed meanwhile goes again at once on a new one, uncounted; a failure on the new one is counted and backed off', async () => {
      // The proxy closes the connection when the request arrives, as a server (or a NAT)
      // that dropped an idle connection does the moment the client writes on it.
      const proxy = await HttpFaultProxy.start(influx.url);
      try {
        await run({ 'influx.url': proxy.url, 'influx.api': 'v1', 'influx.db': DB, 'influx.flush_interval_ms': 0, 'influx.retry_initial_ms': 3000, 'influx.retry_max_ms': 3000 });
        const writes = (): ProxiedRequest[] => proxy.requests.filter((r) => r.path.startsWith('/write'));
        const errors = (): number => bridge!.metrics.sinkErrors.get({ sink: 'influx', kind: 'network' });
        const charger = (): Promise<number> => count(influx, `SELECT count(seq) FROM charger`);
        await mcu.send(readingLine(1) + '\n');
        await waitFor(() => bridge!.metrics.sinkSent.get({ sink: 'influx' }) === 1, { timeoutMs: 10000, what: 'the first reading confirmed' });

        proxy.inject({ kind: 'cut' });
        await mcu.send(readingLine(2) + '\n');
        await waitFor(() => bridge!.metrics.sinkSent.get({ sink: 'influx' }) === 2, { timeoutMs: 10000, what: 'the second reading confirmed' });
        let w = writes();
        assert.deepEqual(w.map((r) => r.outcome), [204, 'cut', 204]);
        assert.equal(w[2].bodyBytes, w[1].bodyBytes, 'the same write again');
        assert.ok(w[2].at - w[1].at < 1000, `sent again ${w[2].at - w[1].at} ms after the cut: at once, not after the 3 s backoff`);
        assert.equal(errors(), 0, 'a closed kept-alive connection is no failure');
        assert.equal(bridge!.metrics.sinkConnected.get({ sink: 'influx' }), 1);
        assert.equal(await charger(), 2);

        // The new connection served one request and closed; the next write opens one to keep alive.
        await mcu.send(readingLine(3) + '\n');
        await waitFor(() => bridge!.metrics.sinkSent.get({ sink: 'influx' }) === 3, { timeoutMs: 10000, what: 'the third reading confirmed' });
        assert.deepEqual(writes().slice(3).map((r) => r.outcome), [204]);

        // Cut again on the new connection: a real failure, counted, and backed off.
        proxy.inject({ kind: 'cut' }, { kind: 'cut' });
        await mcu.send(readingLine(4) + '\n');
        await waitFor(() => bridge!.metrics.sinkSent.get({ sink: 'influx' }) === 4, { timeoutMs: 15000, what: 'the fourth reading confirmed after the backoff' });
        w = writes().slice(4);
        assert.deepEqual(w.map((r) => r.outcome), ['cut', 'cut', 204], 'retried once at once, then after the backoff');
        assert.ok(w[1].at - w[0].at < 1000, `the one retry at once (${w[1].at - w[0].at} ms)`);
        assert.ok(w[2].at - w[1].at >= 2350, `then the backoff, 3 s less at most 20 % jitter (${w[2].at - w[1].at} ms)`);
        assert.equal(errors(), 1, 'the failure on the new connection is counted, once');
      } finally {
        await proxy.close();
      }
    });

    it('a server that stays down is counted as failing on every try, however its kept-alive connection died; nothing is lost', async () => {
      await run({ 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB, device_id: 'down', 'influx.flush_interval_ms': 0, 'influx.retry_initial_ms': 100, 'influx.retry_max_ms': 200 });
      const sent = (): number => bridge!.metrics.sinkSent.get({ sink: 'influx' });
      const errors = (): number => bridge!.metrics.sinkErrors.get({ sink: 'influx', kind: 'network' });
      await mcu.send(readingLine(1) + '\n');
      await waitFor(() => sent() === 1, { timeoutMs: 10000, what: 'the first reading confirmed' });
      await influx.stop();
      try {
        await mcu.send(readingLine(2) + '\n');
        await waitFor(() => errors() >= 3, { timeoutMs: 10000, what: 'three failed tries counted while influxd is down' });
        assert.equal(sent(), 1);
        assert.equal(bridge!.metrics.sinkConnected.get({ sink: 'influx' }), 0);
      } finally {
        await influx.restart();
      }
      await waitFor(() => sent() === 2, { timeoutMs: 10000, what: 'the second reading confirmed once influxd is back' });
      assert.equal(await count(influx, `SELECT count(seq) FROM charger WHERE device = 'down'`), 2);
    });
  });

  describe('write rate', () => {
    let influx: Influxd1Service;
    before(async () => { influx = await Influxd1Service.start(); await influx.createDatabase(DB); });
    after(async () => { await influx.dispose(); });

    it('gathers live readings for influx.flush_interval_ms into one write, and sends a backlog of full batches at once', async () => {
      const proxy = await HttpFaultProxy.start(influx.url);
      try {
        // batch_size 40 lines = 10 readings a batch.
        await run({ 'influx.url': proxy.url, 'influx.api': 'v1', 'influx.db': DB, 'influx.flush_interval_ms': 5000, 'influx.batch_size': 40 });
        const writes = (): number => proxy.requests.filter((r) => r.path.startsWith('/write')).length;
        for (let seq = 1; seq <= 8; seq++) {
          await mcu.send(readingLine(seq) + '\n');
          await new Promise((r) => setTimeout(r, 200));
        }
        await waitFor(async () => (await count(influx, `SELECT count(seq) FROM charger`)) === 8, { timeoutMs: 15000, what: '8 paced readings in InfluxDB' });
        assert.ok(writes() <= 2, `8 readings 200 ms apart took ${writes()} writes (one each without gathering)`);

        const before = writes();
        const sentAt = Date.now();
        await mcu.send(readingStream(30, 7, 9));
        await waitFor(async () => (await count(influx, `SELECT count(seq) FROM charger`)) === 38, { timeoutMs: 15000, what: 'the backlog of 30 in InfluxDB' });
        const took = Date.now() - sentAt;
        assert.ok(took < 4500, `three full batches waited ${took} ms: they should not wait for the 5 s flush interval`);
        assert.ok(writes() - before >= 3, `${writes() - before} writes for three full batches`);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('v1 with authentication', () => {
    let influx: Influxd1Service;
    before(async () => {
      influx = await Influxd1Service.start({ auth: { username: 'admin', password: 'pw' } });
      await influx.createDatabase(DB);
    });
    after(async () => { await influx.dispose(); });

    it('writes with user and password; with a wrong password it keeps the data, says so, and parks nothing', async () => {
      const b = await run({ 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB, 'influx.username': 'admin', 'influx.password': 'wrong' });
      await mcu.send(readingStream(5));
      await waitFor(() => b.metrics.sinkErrors.get({ sink: 'influx', kind: 'refused' }) >= 2, { timeoutMs: 10000, what: 'refused writes to be retried' });
      assert.equal(b.metrics.sinkParked.get({ sink: 'influx' }), 0);
      assert.equal(parseMetrics(b.metrics.registry.render()).get('solar_bridge_sink_pending_records{sink="influx"}'), 5);
      await b.stop();
      bridge = null;
      // Fixed password, same spool: the 5 readings waiting there go out.
      await run({ 'influx.url': influx.url, 'influx.api': 'v1', 'influx.db': DB, 'influx.username': 'admin', 'influx.password': 'pw' });
      await waitFor(async () => (await count(influx, 'SELECT count(seq) FROM charger')) === 5, { timeoutMs: 20000, what: 'the spooled readings after fixing the password' });
    });
  });

  describe('v2 API (@influxdata/influxdb-client) against VictoriaMetrics', () => {
    let vm: VictoriaMetricsService;
    before(async () => { vm = await VictoriaMetricsService.start(); });
    after(async () => { await vm.dispose(); });

    it('writes through /api/v2/write: one series per field with device and channel labels, exact timestamps, replay deduplicated', async () => {
      const capture = path.join(dir, 'capture.log');
      fs.writeFileSync(capture, readingStream(25));
      await run({ 'influx.url': vm.url, 'influx.api': 'v2', 'influx.bucket': 'solar', 'influx.org': 'home', 'influx.token': 'unused-by-vm', device_id: 'vm1' });
      await mcu.send(fs.readFileSync(capture, 'latin1'));
      await waitFor(async () => {
        const s = await vm.export('power_voltage{device="vm1",channel="battery"}');
        return s.length === 1 && s[0].values.length === 25;
      }, { timeoutMs: 20000, what: '25 battery voltages in VictoriaMetrics' });
      const anchor = new BootClock(new AnchorFile(path.join(dir, 'spool'))).anchorOf(7)!;
      const [bv] = await vm.export('power_voltage{device="vm1",channel="battery"}');
      assert.deepEqual(bv.timestamps, Array.from({ length: 25 }, (_, i) => anchor + Math.round(reading(i + 1).up * 1000)));
      assert.deepEqual(bv.values, Array.from({ length: 25 }, (_, i) => reading(i + 1).bv));
      const [seq] = await vm.export('charger_seq{device="vm1"}');
      assert.deepEqual(seq.values, Array.from({ length: 25 }, (_, i) => i + 1));
      const solar = await vm.export('power_voltage{device="vm1",channel="solar"}');
      assert.equal(solar.length, 1);

      await bridge!.stop();
      // Replay the capture plus 5 newer readings: once those are visible, so is the replay,
      // and every reading must be there once.
      fs.writeFileSync(capture, readingStream(30));
      const replay = await startBridge({ 'source.url': `file:${capture}`, 'spool.dir': path.join(dir, 'spool'), 'influx.url': vm.url, 'influx.api': 'v2', 'influx.bucket': 'solar', device_id: 'vm1' });
      bridge = replay.bridge;
      await replay.bridge.replayDone();
      let again: number[] = [];
      await waitFor(async () => {
        again = (await vm.export('charger_seq{device="vm1"}'))[0].values;
        return again.includes(30);
      }, { timeoutMs: 20000, what: 'the replayed readings in VictoriaMetrics', detail: () => JSON.stringify(again) });
      assert.deepEqual(again, Array.from({ length: 30 }, (_, i) => i + 1), 'the replay kept one sample per reading');
    });
  });
});
