/**
 * The MQTT keepalive clock (bridge/src/sinks/mqtt/keepalive-timer.ts): the timer alone
 * (no empty half-way tick, the first two ticks together, the verdict one keepalive
 * later, clear() honoured from inside a tick, a restarted count keeping the armed
 * timer), then mqtt.js driven by it against a real mosquitto
 * through a loopback relay that counts PINGREQs and can swallow the broker's answers:
 * a ping once per keepalive, and a broker that stops answering declared dead at
 * 2 x keepalive after its last answer (mqtt.js's own clock: 1.5 x).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { keepaliveTimer } from '../../bridge/src';
import { MosquittoService, sleep, waitFor } from '../helpers/services';

/** Relays one TCP client to the broker; counts PINGREQs on the way up, can drop everything on the way down. */
class Relay {
  pings: number[] = [];
  swallowReplies = false;
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server, readonly port: number) {}

  static start(brokerPort: number): Promise<Relay> {
    return new Promise((resolve) => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1', () => {
        const relay = new Relay(server, (server.address() as net.AddressInfo).port);
        server.on('connection', (client) => relay.pipe(client, brokerPort));
        resolve(relay);
      });
    });
  }

  private pipe(client: net.Socket, brokerPort: number): void {
    const broker = net.connect(brokerPort, '127.0.0.1');
    for (const s of [client, broker]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => { client.destroy(); broker.destroy(); });
    }
    client.on('data', (d: Buffer) => {
      // A PINGREQ is the two bytes C0 00; at this pace it arrives in a chunk of its own.
      if (d.length === 2 && d[0] === 0xc0 && d[1] === 0) this.pings.push(performance.now());
      broker.write(d);
    });
    broker.on('data', (d: Buffer) => { if (!this.swallowReplies) client.write(d); });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('MQTT keepalive clock', function () {
  this.timeout(30000);

  it('ticks twice at two periods (the ping), then once two periods later (the verdict); clear() stops it, also from inside a tick', async () => {
    const timer = keepaliveTimer();
    const t0 = performance.now();
    const ticks: number[] = [];
    const id = timer.set(() => ticks.push(performance.now() - t0), 200);
    try {
      await sleep(250);
      assert.equal(ticks.length, 0, 'nothing at half the keepalive');
      await sleep(350);
      assert.equal(ticks.length, 2, `ticks at ${ticks.map((t) => t.toFixed(0)).join(', ')} ms`);
      assert.ok(ticks[0] >= 395 && ticks[1] - ticks[0] < 5, `the first two together at two periods: ${ticks.join(', ')}`);
      await sleep(400);
      assert.equal(ticks.length, 3, `the verdict two periods after the ping: ${ticks.join(', ')}`);
      assert.ok(ticks[2] - ticks[1] >= 395, `the verdict two periods after the ping: ${ticks.join(', ')}`);
    } finally {
      timer.clear(id);
    }
    const n = ticks.length;
    await sleep(900);
    assert.equal(ticks.length, n, 'cleared: no more ticks');

    let calls = 0;
    const self: { id?: number } = {};
    self.id = timer.set(() => { calls++; timer.clear(self.id!); }, 20);
    await sleep(150);
    assert.equal(calls, 1, 'a tick that clears its timer is the last one');
  });

  it('an answer that restarts the count keeps the timer already armed: the next ping is one keepalive after the last, not after the answer', async () => {
    const timer = keepaliveTimer();
    const t0 = performance.now();
    const first: number[] = [];
    const id = timer.set(() => first.push(performance.now() - t0), 200);
    const second: number[] = [];
    let id2 = 0;
    try {
      await waitFor(() => first.length === 2, { timeoutMs: 3000, what: 'the first ping' });
      // The PINGRESP comes 120 ms after the ping; mqtt.js clears and sets again at once.
      await sleep(120);
      timer.clear(id);
      id2 = timer.set(() => second.push(performance.now() - t0), 200);
      await waitFor(() => second.length === 2, { timeoutMs: 3000, what: 'the second ping' });
    } finally {
      timer.clear(id);
      timer.clear(id2);
    }
    const gap = second[0] - first[0];
    assert.equal(first.length, 2, 'the first count ended with its ping');
    assert.ok(gap >= 395 && gap < 500, `second ping ${gap.toFixed(0)} ms after the first (one keepalive, 400 ms; 520 if the timer had been replaced)`);
  });

  it('drives mqtt.js: a PINGREQ once per keepalive, and a broker that stops answering is dead at 2 x keepalive', async () => {
    const broker = await MosquittoService.start();
    const relay = await Relay.start(broker.port);
    const client = mqtt.connect(`mqtt://127.0.0.1:${relay.port}`, { keepalive: 1, reconnectPeriod: 0, reschedulePings: false, timerVariant: keepaliveTimer() });
    const errors: Array<{ at: number; message: string }> = [];
    client.on('error', (e) => errors.push({ at: performance.now(), message: e.message }));
    try {
      await waitFor(() => client.connected, { timeoutMs: 10000, what: 'mqtt.js to connect through the relay' });
      const connectedAt = performance.now();
      await sleep(3400);
      assert.equal(client.connected, true, 'pings answered: still connected');
      assert.equal(relay.pings.length, 3, `one PINGREQ a second: at ${relay.pings.map((p) => (p - connectedAt).toFixed(0)).join(', ')} ms after connecting`);
      for (let i = 1; i < relay.pings.length; i++) {
        const gap = relay.pings[i] - relay.pings[i - 1];
        assert.ok(gap >= 950 && gap <= 1300, `PINGREQs ${gap.toFixed(0)} ms apart`);
      }
      relay.swallowReplies = true;
      const lastAnswered = relay.pings[relay.pings.length - 1];
      await waitFor(() => errors.length > 0, { timeoutMs: 5000, what: 'mqtt.js to give up on a broker that stopped answering' });
      assert.equal(errors[0].message, 'Keepalive timeout');
      // The last answered ping restarted the count: the next goes 1 s later, and the
      // broker is dead when the one after that would be due, 2 x keepalive.
      const deadAfter = errors[0].at - lastAnswered;
      assert.ok(deadAfter >= 1900 && deadAfter <= 2400, `declared dead ${deadAfter.toFixed(0)} ms after the last answered ping`);
      assert.equal(relay.pings.length, 4, 'exactly one unanswered PINGREQ before giving up');
    } finally {
      client.end(true);
      await relay.close();
      await broker.dispose();
    }
  });
});
