/**
 * A bad link to the MCU, against the bridge as a real process and a real mosquitto:
 * - a server that accepts and closes at once: the retry interval grows (the backoff starts
 *   over only after a link delivered valid frames for a while), the up/down log stays
 *   bounded, the process stays up, and a real MCU behind the same port is picked up;
 * - a server that goes silent with the connection open (a half-open TCP link): with the
 *   default settings the bridge notices within source.idle_timeout_ms (10 s), shows the
 *   last frame's age on /healthz (503) and /metrics, reconnects, and when the MCU speaks
 *   again every reading reaches MQTT exactly once.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import type { SpooledFrame } from '../../bridge/src';
import { BridgeProcess, metricValue } from '../bridge/helpers/bridge-harness';
import { readingLine } from '../bridge/helpers/frames';
import { MqttRecorder } from '../bridge/helpers/mqtt-recorder';
import { LineServer, MosquittoService, freePort, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';

interface Healthz { healthy: boolean; problems: string[]; source: { up: boolean; last_frame_age_s: number | null; silence_limit_s: number } }

/** Log lines of the bridge's source component that report the link going up or down. */
function linkLines(output: string): string[] {
  return output.split('\n').filter((l) => / source: tcp:\/\/\S+ is (up|down)/.test(l));
}

/** Seqs of boot 7 delivered on the readings topic, each as often as it came. */
function deliveredSeqs(rec: MqttRecorder, topic: string): number[] {
  return rec.readings(topic).map((r: SpooledFrame) => (r.frame as { seq: number }).seq);
}

function assertExactlyOnce(seqs: number[], n: number): void {
  const counts = new Map<number, number>();
  for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
  const missing = [...Array(n).keys()].map((i) => i + 1).filter((s) => !counts.has(s));
  const repeated = [...counts].filter(([, c]) => c > 1).map(([s]) => s);
  assert.deepEqual({ missing, repeated, extra: [...counts.keys()].filter((s) => s < 1 || s > n) }, { missing: [], repeated: [], extra: [] });
}

describe('end to end: a flapping or silent source', function () {
  this.timeout(120000);
  let dir: string;
  let broker: MosquittoService;
  let bridge: BridgeProcess | null = null;
  let rec: MqttRecorder | null = null;
  before(async () => {
    dir = makeTempDir('e2e-source-faults');
    broker = await MosquittoService.start();
  });
  afterEach(async () => {
    await rec?.close();
    rec = null;
    await bridge?.stop();
    bridge = null;
  });
  after(async () => {
    await broker?.dispose();
    removeDir(dir);
  });

  it('accept-and-close: retries back off (not twice a second forever), the log stays bounded, the process stays up, a real MCU is then picked up', async () => {
    const port = await freePort();
    const accepts: number[] = [];
    const rude = net.createServer((s) => { accepts.push(Date.now()); s.destroy(); });
    await new Promise<void>((r) => rude.listen(port, '127.0.0.1', () => r()));
    const device = 'flap';
    rec = await MqttRecorder.connect(broker.url, [`solar/${device}/readings`]);
    bridge = await BridgeProcess.create(['--source', `tcp://127.0.0.1:${port}`, '--mqtt', broker.url, '--device-id', device, '--spool', path.join(dir, 'flap-spool')],
      path.join(dir, 'flap.log'), { SOLAR_BRIDGE_SOURCE_RECONNECT_INITIAL_MS: '100', SOLAR_BRIDGE_SOURCE_RECONNECT_MAX_MS: '3200' });
    await bridge.start();
    const b = bridge;
    try {
      await sleep(12000);
      // 100 ms doubling to 3.2 s (jitter up to -20 %): about 9 connections in 12 s. The old
      // rule (start over on every connect) made it one per ~100 ms: over 100.
      assert.ok(accepts.length >= 5 && accepts.length <= 14, `${accepts.length} connections in 12 s`);
      const gaps = accepts.slice(1).map((t, i) => t - accepts[i]);
      assert.ok(gaps[0] < 1500, `first retry after ${gaps[0]} ms`);
      assert.ok(gaps[gaps.length - 1] >= 2000, `the retry interval grew: gaps ${gaps.join(', ')} ms`);
      for (let i = 3; i < gaps.length; i++) assert.ok(gaps[i] >= 0.7 * gaps[i - 3], `gaps never fall back: ${gaps.join(', ')} ms`);

      const m = await b.metrics();
      assert.equal(metricValue(m, 'solar_bridge_source_connects_total'), accepts.length, 'every connection counted');
      assert.ok(metricValue(m, 'solar_bridge_source_failures_total') >= accepts.length, 'every loss counted');
      const lines = linkLines(b.output());
      assert.ok(lines.length >= 2 && lines.length <= 5, `${lines.length} up/down log lines for ${accepts.length * 2} transitions:\n${lines.join('\n')}`);
      assert.match(lines[0], /is up/);
      assert.match(lines[1], /is down: connection closed by peer; retrying in \d+ ms/);
      const h = await fetch(`http://127.0.0.1:${b.httpPort}/healthz`);
      assert.equal(h.status, 503);
      assert.ok(b.proc!.running, 'the bridge is still running');
    } finally {
      await new Promise<void>((r) => rude.close(() => r()));
    }

    // The export is fixed: a real MCU behind the same port, one reading every 200 ms.
    const mcu = await LineServer.start(port);
    let seq = 0;
    const talk = setInterval(() => { if (mcu.clientCount > 0 && seq < 40) void mcu.send(readingLine(++seq) + '\n'); }, 200);
    try {
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 8000, what: 'the bridge to reconnect within its capped backoff', detail: () => b.output().slice(-2000) });
      await waitFor(() => seq === 40, { timeoutMs: 20000, what: '40 readings sent' });
      await rec.waitFor('40 readings on MQTT', () => deliveredSeqs(rec!, `solar/${device}/readings`).length >= 40);
      await sleep(300);
      assertExactlyOnce(deliveredSeqs(rec, `solar/${device}/readings`), 40);
      const h = (await (await fetch(`http://127.0.0.1:${b.httpPort}/healthz`)).json()) as Healthz;
      assert.equal(h.source.up, true);
      assert.ok(h.source.last_frame_age_s !== null && h.source.last_frame_age_s < 5, JSON.stringify(h.source));
    } finally {
      clearInterval(talk);
      await mcu.close();
    }
  });

  it('silent server: noticed within the default 10 s, last-frame age on /healthz and /metrics, reconnect, then readings flow again exactly once', async () => {
    const mcu = await LineServer.start();
    const device = 'quiet';
    rec = await MqttRecorder.connect(broker.url, [`solar/${device}/readings`]);
    // No idle or reconnect settings: the defaults must notice a silent link.
    bridge = await BridgeProcess.create(['--source', mcu.url, '--mqtt', broker.url, '--device-id', device, '--spool', path.join(dir, 'quiet-spool')], path.join(dir, 'quiet.log'));
    await bridge.start();
    const b = bridge;
    const url = `http://127.0.0.1:${b.httpPort}`;
    try {
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect' });
      for (let s = 1; s <= 10; s++) {
        await mcu.send(readingLine(s) + '\n');
        await sleep(100);
      }
      await rec.waitFor('10 readings on MQTT', () => deliveredSeqs(rec!, `solar/${device}/readings`).length >= 10);
      const quietFrom = Date.now();
      let h = (await (await fetch(`${url}/healthz`)).json()) as Healthz;
      assert.equal(h.healthy, true, JSON.stringify(h));
      assert.equal(h.source.silence_limit_s, 10);

      // Silence with the connection open: the peer is gone but no FIN came.
      await waitFor(() => mcu.connectionCount === 2, { timeoutMs: 16000, what: 'the bridge to drop the silent link and reconnect', detail: () => b.output().slice(-2000) });
      const noticedAfter = Date.now() - quietFrom;
      assert.ok(noticedAfter >= 9000 && noticedAfter <= 14000, `silence noticed after ${noticedAfter} ms (limit 10000)`);
      assert.match(b.output(), /is down: silent: no valid frame for 10000 ms; reopening now/);

      // Still silent on the new connection: /healthz says so, with the age.
      const r = await fetch(`${url}/healthz`);
      assert.equal(r.status, 503);
      h = (await r.json()) as Healthz;
      assert.ok(h.source.last_frame_age_s! >= 10, JSON.stringify(h.source));
      assert.ok(h.problems.some((p) => /is silent: no valid frame for 1\d s \(limit 10 s, source\.idle_timeout_ms\)/.test(p)), h.problems.join('; '));
      const age = metricValue(await b.metrics(), 'solar_bridge_source_last_frame_age_seconds');
      assert.ok(age >= 10 && age < 20, `solar_bridge_source_last_frame_age_seconds ${age}`);

      // The MCU speaks again on the new connection.
      for (let s = 11; s <= 30; s++) {
        await mcu.send(readingLine(s) + '\n');
        await sleep(50);
      }
      await rec.waitFor('30 readings on MQTT', () => deliveredSeqs(rec!, `solar/${device}/readings`).length >= 30);
      await sleep(300);
      assertExactlyOnce(deliveredSeqs(rec, `solar/${device}/readings`), 30);
      const after = await fetch(`${url}/healthz`);
      h = (await after.json()) as Healthz;
      assert.equal(after.status, 200, JSON.stringify(h));
      assert.ok(h.source.last_frame_age_s! < 3, JSON.stringify(h.source));
      assert.ok(metricValue(await b.metrics(), 'solar_bridge_source_last_frame_age_seconds') < 3);
      assert.equal(metricValue(await b.metrics(), 'solar_bridge_frames_missing_total'), 0);
    } finally {
      await mcu.close();
    }
  });
});
