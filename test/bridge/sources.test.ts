import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { Bridge, ReconnectingSource, serialConnector, Spool } from '../../bridge/src';
import type { BridgeCore } from '../../bridge/src';
import { LineServer, PtyPair, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { LogCapture, configFrom, metricValue, parseMetrics, repoRoot, startBridge } from './helpers/bridge-harness';
import { readingLine, readingStream } from './helpers/frames';

function spooledCount(dir: string): number {
  const s = Spool.open({ dir, maxBytes: 1 << 30, segmentBytes: 8 << 20, fsyncIntervalMs: 1000, sinks: ['check'] });
  let n = 0;
  let pos = s.ackedPosition('check');
  for (;;) {
    const b = s.read(pos, 10000, 8 << 20);
    if (b.payloads.length === 0) break;
    n += b.payloads.length;
    pos = b.next;
  }
  s.close();
  return n;
}

describe('bridge sources', function () {
  this.timeout(60000);
  let dir: string;
  let bridge: Bridge | null;
  beforeEach(() => { dir = makeTempDir('sources'); bridge = null; });
  afterEach(async () => { await bridge?.stop(); removeDir(dir); });

  it('tcp: reconnects with backoff when the server goes away and comes back, and reports the source in /metrics and /healthz', async () => {
    let mcu = await LineServer.start();
    const port = mcu.port;
    const r = await startBridge({ 'source.url': mcu.url, 'spool.dir': path.join(dir, 'spool'), 'source.reconnect_initial_ms': 50, 'source.reconnect_max_ms': 200, 'http.listen': '127.0.0.1:0' });
    bridge = r.bridge;
    const url = `http://127.0.0.1:${bridge.healthPort()}`;
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'first connection' });
    await mcu.send(readingStream(3));
    await waitFor(() => bridge!.metrics.framesIn.get({ type: 'R' }) === 3, { timeoutMs: 5000, what: '3 frames' });
    let h = await fetch(`${url}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { source: { up: boolean } }).source.up, true);

    await mcu.close(); // the TS-7670 reboots: nothing listens any more
    await waitFor(() => bridge!.metrics.sourceUp.get() === 0, { timeoutMs: 5000, what: 'source down' });
    await waitFor(() => bridge!.metrics.sourceFailures.get() >= 4, { timeoutMs: 10000, what: 'several failed reconnects' });
    h = await fetch(`${url}/healthz`);
    assert.equal(h.status, 503);
    const body = (await h.json()) as { healthy: boolean; problems: string[] };
    assert.equal(body.healthy, false);
    assert.match(body.problems[0], /source tcp:\/\/127\.0\.0\.1:\d+ is down/);
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /# TYPE solar_bridge_source_up gauge\nsolar_bridge_source_up 0\n/);
    assert.match(r.log.text(), /source: tcp:\/\/127\.0\.0\.1:\d+ is down: connect to 127\.0\.0\.1:\d+: connect ECONNREFUSED.*; retrying in \d+ ms/);

    mcu = await LineServer.start(port);
    try {
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to reconnect' });
      await mcu.send(readingStream(2, 7, 4));
      await waitFor(() => bridge!.metrics.framesIn.get({ type: 'R' }) === 5, { timeoutMs: 5000, what: 'frames after reconnecting' });
      const m = parseMetrics(bridge.metrics.registry.render());
      assert.equal(metricValue(m, 'solar_bridge_source_up'), 1);
      assert.equal(metricValue(m, 'solar_bridge_source_connects_total'), 2);
      assert.equal(metricValue(m, 'solar_bridge_sequence_gaps_total'), 0);
    } finally {
      await mcu.close();
    }
  });

  it('tcp: a connection that goes silent longer than idle_timeout_ms is reopened', async () => {
    const mcu = await LineServer.start();
    try {
      const r = await startBridge({ 'source.url': mcu.url, 'spool.dir': path.join(dir, 'spool'), 'source.idle_timeout_ms': 300, 'source.reconnect_initial_ms': 50, 'source.reconnect_max_ms': 100 });
      bridge = r.bridge;
      await waitFor(() => mcu.connectionCount >= 3, { timeoutMs: 10000, what: 'reconnections of a silent link' });
      assert.match(r.log.text(), /is down: silent: no valid frame for 300 ms/);
    } finally {
      await mcu.close();
    }
  });

  it('tcp: features hear of a link that stays silent once, not at each reopen; the first valid frame on a reopened link announces it', async () => {
    const mcu = await LineServer.start();
    const heard: string[] = [];
    const recorder = { name: 'recorder', enabled: () => true, create: (core: BridgeCore) => ({ start: () => { core.onLink((up) => heard.push(up ? 'up' : 'down')); }, stop: () => undefined }) };
    try {
      bridge = new Bridge({ config: configFrom({ 'http.listen': '', 'source.url': mcu.url, 'spool.dir': path.join(dir, 'spool'), 'source.idle_timeout_ms': 100, 'source.reconnect_initial_ms': 20, 'source.reconnect_max_ms': 40 }), log: new LogCapture().logger, version: 'test', features: [recorder] });
      await bridge.start();
      await waitFor(() => mcu.connectionCount >= 4, { timeoutMs: 10000, what: 'reopens of a silent link' });
      assert.deepEqual(heard, ['up', 'down'], 'opened, then silent: told once, whatever the reopens');
      assert.ok(bridge.metrics.sourceConnects.get() >= 4, 'each reopen still counts as a connection');
      // Resent until heard: a reading may meet a link in the moment it is being reopened.
      // Once heard, 100 ms without another frame is silence again (a later 'down' is right).
      for (let seq = 1; seq <= 20 && heard.length < 3; seq++) {
        await mcu.send(readingLine(seq) + '\n');
        await waitFor(() => heard.length >= 3, { timeoutMs: 250, what: 'the reading heard' }).catch(() => undefined);
      }
      assert.deepEqual(heard.slice(0, 3), ['up', 'down', 'up'], 'the first valid frame on the reopened link announced it');
    } finally {
      await mcu.close();
    }
  });

  it('serial: reads frames from a pty (socat), writes commands to it, and reopens it when the device comes back', async () => {
    const pty = await PtyPair.start();
    const events: string[] = [];
    let data = '';
    const src = new ReconnectingSource(`serial:${pty.b}`, serialConnector({ path: pty.b, baudRate: 115200 }), { initialMs: 50, maxMs: 200, idleTimeoutMs: 0 });
    const mcuFd = fs.openSync(pty.a, 'r+');
    try {
      src.start({ data: (c) => { data += c; }, up: () => events.push('up'), down: (why) => events.push(`down: ${why}`), end: () => events.push('end') });
      await waitFor(() => src.isUp(), { timeoutMs: 10000, what: 'the serial port to open' });
      fs.writeSync(mcuFd, readingLine(1) + '\r\n' + readingLine(2) + '\r\n');
      await waitFor(() => data.split('\n').length >= 3, { timeoutMs: 5000, what: 'frames through the pty' });
      assert.equal(data, readingLine(1) + '\r\n' + readingLine(2) + '\r\n');
      // Read the MCU side through libuv's tty handle: never blocks the event loop.
      const mcuIn = new tty.ReadStream(mcuFd);
      let fromHost = '';
      mcuIn.on('data', (d: Buffer) => { fromHost += d.toString('latin1'); });
      await src.write('$C,v=1,id=1,cmd=get*123D3344\n');
      await waitFor(() => fromHost.includes('\n'), { timeoutMs: 5000, what: 'the command on the MCU side of the pty', detail: () => JSON.stringify(fromHost) });
      assert.equal(fromHost, '$C,v=1,id=1,cmd=get*123D3344\n');
      mcuIn.destroy();

      await pty.kill(); // cable pulled
      await waitFor(() => events.some((e) => e.startsWith('down')), { timeoutMs: 10000, what: 'the port to be reported down', detail: () => events.join('\n') });
      await assert.rejects(src.write('x\n'), /is not connected/);
      await pty.restart();
      await waitFor(() => events.filter((e) => e === 'up').length === 2, { timeoutMs: 10000, what: 'the port to be reopened', detail: () => events.join('\n') });
    } finally {
      await src.stop();
      await pty.dispose();
    }
  });

  it('replay: `--source -` reads stdin to the end, spools every frame, and exits 0', () => {
    const spool = path.join(dir, 'spool');
    const input = '> noise\n' + readingStream(250) + readingLine(251); // the last line has no newline
    const r = spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/bridge.ts', '--source', '-', '--spool', spool, '--http', ''], { cwd: repoRoot, input, encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /replay input finished/);
    assert.equal(spooledCount(spool), 251);
    const anchors = JSON.parse(fs.readFileSync(path.join(spool, 'boot-anchors.json'), 'utf8'));
    assert.equal(anchors.anchors[0][0], 7, 'the boot is anchored and kept for later replays');
  });

  it('replay: a missing file is reported and the bridge finishes instead of hanging', async () => {
    const r = await startBridge({ 'source.url': `file:${path.join(dir, 'nope.log')}`, 'spool.dir': path.join(dir, 'spool') });
    bridge = r.bridge;
    await bridge.replayDone();
    assert.match(r.log.text(), /replay of file:.*nope\.log failed: ENOENT/);
  });
});
