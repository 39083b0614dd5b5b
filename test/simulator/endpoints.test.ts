import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { performance } from 'node:perf_hooks';
import { LineSplitter, MAX_LINE_LENGTH, Frame, decodeLine, encodeCommand } from '../../protocol';
import { SerialEndpoint, parseEndpoint, startPtyEndpoint, startTcpEndpoint } from '../../simulator/endpoints';
import { runPaced } from '../../simulator/runner';
import { Simulation } from '../../simulator/simulation';
import { firmwareBundle } from './bundle';

/** Collects decoded frames from a byte stream and resolves waits on them. */
class FrameReader {
  readonly frames: Frame[] = [];
  private waiters: Array<{ test: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private readonly splitter = new LineSplitter(MAX_LINE_LENGTH, (line) => {
    const r = decodeLine(line);
    if (!r.ok) return;
    this.frames.push(r.frame);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(r.frame)) return true;
      w.resolve(r.frame);
      return false;
    });
  });

  push(chunk: string): void {
    this.splitter.push(chunk);
  }

  next(test: (f: Frame) => boolean, what: string, timeoutMs = 10000): Promise<Frame> {
    const found = this.frames.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ test, resolve: (f) => { clearTimeout(timer); resolve(f); } });
    });
  }
}

function simulation(hours: number, onSerial: (d: string) => void): Simulation {
  return new Simulation({ scenario: 'day', seed: 3, hours, firmware: firmwareBundle(), onSerial });
}

describe('serial endpoints: the bridge side of the simulated MCU', function () {
  this.timeout(60000);

  it('parses --serve specs', () => {
    assert.deepEqual(parseEndpoint('tcp:7000'), { kind: 'tcp', host: '127.0.0.1', port: 7000 });
    assert.deepEqual(parseEndpoint('tcp:0.0.0.0:7001'), { kind: 'tcp', host: '0.0.0.0', port: 7001 });
    assert.deepEqual(parseEndpoint('pty:/tmp/ttySIM'), { kind: 'pty', path: '/tmp/ttySIM' });
    assert.throws(() => parseEndpoint('udp:7000'), /expected tcp:PORT/);
    assert.throws(() => parseEndpoint('tcp:70000'), /0\.\.65535/);
  });

  it('TCP: frames arrive paced at --speed, commands reach the firmware and are answered, the charger obeys', async () => {
    let endpoint: SerialEndpoint | null = null;
    const sim = simulation(240 / 3600, (d) => endpoint?.write(d));
    endpoint = await startTcpEndpoint('127.0.0.1', 0, (d) => sim.hostInput(d));
    const port = Number(endpoint.address.split(':').pop());
    const client = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.setEncoding('latin1');
    const reader = new FrameReader();
    client.on('data', (d: string) => reader.push(d));
    const speed = 120;
    const wallStart = performance.now();
    const running = runPaced(sim, { speed });
    try {
      await reader.next((f) => f.type === 'R', 'a reading');
      client.write(encodeCommand({ id: 7, cmd: 'get' }) + '\n');
      const reply = await reader.next((f) => f.type === 'A' && f.id === 7, 'the reply to get');
      assert.equal(reply.type === 'A' && reply.ok, 1);
      assert.equal(reply.type === 'A' && reply.data?.bon, 12);
      // Midnight: the sun is down, so the charger is ON; force it OFF from the host.
      client.write(encodeCommand({ id: 8, cmd: 'force', mode: 'off', for: 60 }) + '\r\n');
      await reader.next((f) => f.type === 'A' && f.id === 8 && f.ok === 1, 'the reply to force');
      const forced = await reader.next((f) => f.type === 'R' && f.why === 'forced_off', 'a forced-off reading');
      assert.equal(forced.type === 'R' && forced.chg, 0);
      assert.equal(sim.plant.truth.chargerRemoteOn, false, 'REMOTE holds the charger OFF');
      await running;
    } finally {
      client.destroy();
      await endpoint.close();
    }
    const wallS = (performance.now() - wallStart) / 1000;
    assert.ok(wallS > 240 / speed * 0.9, `paced: ${wallS.toFixed(2)} s wall for 240 s at ${speed}×`);
    assert.ok(wallS < 240 / speed * 3, `and not much slower: ${wallS.toFixed(2)} s`);
    const readings = reader.frames.filter((f) => f.type === 'R');
    assert.ok(readings.length >= 235, `${readings.length} readings over TCP`);
    assert.ok(sim.settingsHistory.length === 1, 'the simulator asked for the settings too');
    assert.deepEqual(reader.frames.filter((f) => f.type === 'A').map((f) => f.type === 'A' && f.id), [7, 8],
      'but the client sees only the replies to its own commands');
    assert.ok(sim.events.length > 0);
  });

  it('pty (socat): a program opens a tty path and talks to the firmware as to /dev/ttyACM0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-pty-'));
    const ptyPath = path.join(dir, 'ttySIM');
    let endpoint: SerialEndpoint | null = null;
    const sim = simulation(120 / 3600, (d) => endpoint?.write(d));
    endpoint = await startPtyEndpoint(ptyPath, (d) => sim.hostInput(d));
    assert.equal(endpoint.address, ptyPath);
    assert.ok(fs.lstatSync(ptyPath).isSymbolicLink() && fs.realpathSync(ptyPath).startsWith('/dev/pts/'));
    const fd = fs.openSync(ptyPath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    const stream = new tty.ReadStream(fd);
    stream.setEncoding('latin1');
    const reader = new FrameReader();
    stream.on('data', (d: string) => reader.push(d));
    const running = runPaced(sim, { speed: 60 });
    try {
      await reader.next((f) => f.type === 'R', 'a reading through the pty');
      fs.writeSync(fd, encodeCommand({ id: 21, cmd: 'status' }) + '\n');
      const reply = await reader.next((f) => f.type === 'A' && f.id === 21, 'the reply to status');
      assert.equal(reply.type === 'A' && reply.ok, 1);
      await running;
    } finally {
      stream.destroy();
      await endpoint.close();
    }
    assert.ok(reader.frames.filter((f) => f.type === 'R').length > 60);
    assert.equal(fs.existsSync(ptyPath), false, 'the link is removed on close');
  });
});
