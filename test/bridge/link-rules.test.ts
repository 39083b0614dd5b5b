/**
 * The rules behind a flapping or silent link and the command log, one by one: when a
 * link counts as proven (the backoff starts over), what silence is, how the rate-limited
 * log summarises what it held back, which commands the network paths refuse, and that a
 * stream of made-up command names cannot grow the log's table of kinds.
 */
import assert from 'node:assert/strict';
import { handsOverMcu } from '../../protocol';
import { CommandLog, CommandRouter, MetricsRegistry, RateLimitedLog, ReconnectingSource, createLogger, parseCommandPayload, tcpConnector } from '../../bridge/src';
import { LineServer, sleep, waitFor } from '../helpers/services';

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger('debug', 'text', { write: (l: string) => lines.push(l) }) };
}

describe('link and command rules', function () {
  this.timeout(30000);

  describe('rate-limited log with summaries', () => {
    it('logs a burst, holds the rest back, then logs the latest held entry with the count; close() flushes', async () => {
      const { lines, log } = capture();
      const limited = new RateLimitedLog(log, 200, Date.now, { summarize: true, burst: 2 });
      for (let i = 1; i <= 50; i++) limited.emit('warn', 'link', `event ${i}`, { i });
      assert.equal(lines.length, 2);
      assert.match(lines[0], /event 1 i=1 kind=link/);
      assert.match(lines[1], /event 2 i=2 kind=link/);
      await waitFor(() => lines.length === 3, { timeoutMs: 2000, what: 'the summary at the end of the window' });
      assert.match(lines[2], /WARN  event 50 \(latest of 48 like it in 0 s, not logged one by one\) i=50 kind=link suppressed=48/);
      // The summary opened a new window (and counts in its burst): one more is logged, the next held, and close() says so.
      limited.emit('info', 'link', 'event 51');
      limited.emit('info', 'link', 'event 52');
      assert.equal(lines.length, 4);
      limited.close();
      assert.equal(lines.length, 5);
      assert.match(lines[4], /INFO  event 52 \(latest of 1 like it/);
      limited.emit('info', 'link', 'event 53');
      limited.emit('info', 'link', 'event 54');
      assert.equal(lines.length, 6);
      await sleep(300);
      assert.equal(lines.length, 6, 'no summary timer after close');
    });

    it('without summarize, keeps the old behaviour: the count comes with the next logged entry', () => {
      const { lines, log } = capture();
      let t = 0;
      const limited = new RateLimitedLog(log, 1000, () => t);
      limited.warn('k', 'a');
      limited.warn('k', 'b');
      limited.warn('k', 'c');
      t = 1000;
      limited.warn('k', 'd');
      assert.equal(lines.length, 2);
      assert.match(lines[1], /d kind=k suppressed_since_last=2/);
    });
  });

  describe('reconnecting source', () => {
    it('a link that delivers frames but closes before it proved itself does not reset the backoff; one that proved itself does', async () => {
      const mcu = await LineServer.start();
      const ups: number[] = [];
      const src = new ReconnectingSource(mcu.url, tcpConnector({ host: '127.0.0.1', port: mcu.port, connectTimeoutMs: 2000 }),
        { initialMs: 40, maxMs: 5000, jitter: 0, idleTimeoutMs: 0, proven: { frames: 3, ms: 400 } });
      const downs: string[] = [];
      try {
        src.start({ data: () => undefined, up: () => ups.push(Date.now()), down: (r) => downs.push(r), end: () => undefined });
        // Five short-lived links, each with two valid frames (below the 3 required): delays 40, 80, 160, 320, 640.
        for (let n = 1; n <= 5; n++) {
          await waitFor(() => ups.length === n && mcu.clientCount === 1, { timeoutMs: 5000, what: `link ${n}` });
          src.frameArrived();
          src.frameArrived();
          mcu.dropClients();
          await waitFor(() => downs.length === n, { timeoutMs: 5000, what: `loss ${n}` });
        }
        assert.deepEqual(downs.map((d) => /retrying in (\d+) ms/.exec(d)![1]), ['40', '80', '160', '320', '640']);
        // Now a link that works: 3 frames over more than 400 ms. The next loss starts from 40 ms.
        await waitFor(() => ups.length === 6 && mcu.clientCount === 1, { timeoutMs: 5000, what: 'link 6' });
        for (let i = 0; i < 3; i++) {
          src.frameArrived();
          await sleep(200);
        }
        mcu.dropClients();
        await waitFor(() => downs.length === 6, { timeoutMs: 5000, what: 'loss 6' });
        assert.match(downs[5], /retrying in 40 ms/);
      } finally {
        await src.stop();
        await mcu.close();
      }
    });

    it('silence: only valid frames count; bytes that are not frames do not keep a link alive', async () => {
      const mcu = await LineServer.start();
      const downs: string[] = [];
      const src = new ReconnectingSource(mcu.url, tcpConnector({ host: '127.0.0.1', port: mcu.port, connectTimeoutMs: 2000 }), { initialMs: 50, maxMs: 100, idleTimeoutMs: 400 });
      const noise = setInterval(() => void mcu.send('> garbage\n'), 50);
      try {
        src.start({ data: () => undefined, up: () => undefined, down: (r) => downs.push(r), end: () => undefined });
        assert.equal(src.silenceLimitMs, 400);
        await waitFor(() => downs.length >= 1, { timeoutMs: 5000, what: 'a noisy but frameless link reopened' });
        assert.match(downs[0], /^silent: no valid frame for 400 ms; reopening now$/);
        // Valid frames (reported by the decoder) keep it open.
        await waitFor(() => src.isUp(), { timeoutMs: 5000, what: 'the link back' });
        const before = downs.length;
        for (let i = 0; i < 8; i++) {
          src.frameArrived();
          await sleep(100);
        }
        assert.equal(downs.length, before, 'a link with frames every 100 ms stays open');
      } finally {
        clearInterval(noise);
        await src.stop();
        await mcu.close();
      }
    });
    it('silence: a reopened link that stays silent gets 4x the limit of the one before, up to 64x, reopened at once; a valid frame brings it back', async () => {
      const mcu = await LineServer.start();
      const downs: string[] = [];
      const ups: boolean[] = [];
      // A backoff of 20 s: a silent link that waited for it would not reopen within the test.
      const src = new ReconnectingSource(mcu.url, tcpConnector({ host: '127.0.0.1', port: mcu.port, connectTimeoutMs: 2000 }), { initialMs: 20000, maxMs: 20000, idleTimeoutMs: 10 });
      const limits = (): number[] => downs.map((d) => Number(/^silent: no valid frame for (\d+) ms; reopening now$/.exec(d)?.[1]));
      try {
        src.start({ data: () => undefined, up: (afterSilence) => ups.push(afterSilence === true), down: (r) => downs.push(r), end: () => undefined });
        await waitFor(() => downs.length >= 5, { timeoutMs: 10000, what: 'five silent links in a row' });
        assert.deepEqual(limits().slice(0, 5), [10, 40, 160, 640, 640]);
        assert.equal(src.silenceLimitMs, 10, 'the configured limit (what /healthz judges by) does not grow');
        // Only the first link was opened for its own sake; the others were reopened after silence.
        assert.deepEqual(ups.slice(0, 5), [false, true, true, true, true]);
        assert.ok(mcu.connectionCount >= 5, 'each silent link was closed and a new one opened');
        await waitFor(() => src.isUp(), { timeoutMs: 5000, what: 'the link back' });
        src.frameArrived();
        const n = downs.length;
        await waitFor(() => downs.length > n, { timeoutMs: 5000, what: 'silence after the frame' });
        assert.equal(limits()[n], 10, 'after a valid frame the configured limit applies again');
      } finally {
        await src.stop();
        await mcu.close();
      }
    });
  });

  describe('commands from the network', () => {
    it('console is refused as forbidden before anything else in the payload, under any JSON spelling of it', () => {
      assert.equal(handsOverMcu('console'), true);
      assert.equal(handsOverMcu('status'), false);
      assert.equal(handsOverMcu('console|'), false);
      assert.equal(handsOverMcu(''), false);
      for (const p of ['{"cmd":"console"}', '{"cmd":"\\u0063onsole","bon":1}', '{"cmd":"console","id":3}', '{"cmd":"set","cmd":"console"}']) {
        const r = parseCommandPayload(p);
        assert.equal(r.ok, false, p);
        if (!r.ok) {
          assert.equal(r.error, 'forbidden', p);
          assert.equal(r.cmd, 'console');
        }
      }
      assert.equal(parseCommandPayload('{"cmd":"Console"}').ok, false);
    });

    it('submit() refuses console too (a feature cannot send it either), and a period the silence limit would mistake for a dead link', async () => {
      const sent: string[] = [];
      const router = new CommandRouter({ linkUp: () => true, send: async (l) => { sent.push(l); } }, { timeoutMs: 1000, maxPending: 4, firstId: 1, silenceLimitMs: 10000 });
      const a = await router.submit({ cmd: 'console' }, 'x', 'test');
      assert.deepEqual([a.ok, a.error], [false, 'forbidden']);
      const b = await router.request('{"cmd":"set","period":6}', 'test');
      assert.equal(b.error, 'forbidden');
      assert.match(b.detail!, /period 6 s is more than half of source\.idle_timeout_ms \(10000 ms\).*at least 12000/);
      void router.request('{"cmd":"set","period":5}', 'test');
      assert.equal(sent.length, 1, 'period 5 s (half the limit) is sent');
      assert.match(sent[0], /cmd=set,period=5\*/);
      router.close();
    });

    it('the command log: one line per kind per interval, kinds bounded however many names a flood makes up', async () => {
      const { lines, log } = capture();
      const registry = new MetricsRegistry();
      const counter = registry.counter('t_commands_total', 'test');
      const clog = new CommandLog(log, counter, 60000);
      const router = new CommandRouter({ linkUp: () => false, send: async () => undefined }, { timeoutMs: 1000, maxPending: 4, firstId: 1 }, (r) => clog.record(r));
      for (let i = 0; i < 3000; i++) await router.request(`{"cmd":"made-up-${i}","request_id":${i}}`, 'mqtt');
      for (let i = 0; i < 100; i++) await router.request(`{"cmd":"status"}`, 'mqtt');
      for (let i = 0; i < 100; i++) await router.request(`{"cmd":"console"}`, 'web');
      assert.equal(counter.get({ result: 'invalid' }), 3000);
      assert.equal(counter.get({ result: 'unavailable' }), 100);
      assert.equal(counter.get({ result: 'forbidden' }), 100);
      assert.equal(lines.length, 3, lines.join(''));
      assert.match(lines[0], /refused command made-up-0 from mqtt: bad_value: .* kind=command:mqtt:other:invalid:bad_value/);
      assert.match(lines[1], /command status from mqtt: unavailable: unavailable the link to the MCU is down/);
      assert.match(lines[2], /refused command console from web: forbidden: console is never forwarded/);
      const kinds = (clog as unknown as { limited: { last: Map<string, unknown> } }).limited.last;
      assert.equal(kinds.size, 3);
      clog.close();
      assert.equal(lines.length, 6);
      assert.match(lines[3], /refused command made-up-2999 from mqtt: .*latest of 2999 like it/);
    });
  });
});
