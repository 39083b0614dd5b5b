/**
 * Read pacing (source.read_interval_ms): a trickle is read a few lines per wake-up, a
 * fast stream in short pauses bounded by the byte budget, a burst without pauses, and
 * commands and live pages are never kept waiting. The pacer's arithmetic is checked
 * alone; the rest over a real TCP connection.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Bridge, MIN_READ_PAUSE_MS, READ_BUDGET_BYTES, ReadPacer, ReconnectingSource, readPacing, resolveConfig, tcpConnector } from '../../bridge/src';
import type { ReadPacing, Source } from '../../bridge/src';
import { LineServer, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { startBridge } from './helpers/bridge-harness';
import { readingLine } from './helpers/frames';

const PACING: ReadPacing = { maxPauseMs: 5000, budgetBytes: READ_BUDGET_BYTES, minPauseMs: MIN_READ_PAUSE_MS };

describe('read pacer (pure)', () => {
  it('pauses a trickle for the longest pause, and a faster stream only until about the byte budget waits', () => {
    const p = new ReadPacer(PACING);
    p.opened(0);
    assert.equal(p.afterRead(250, 1000), 5000, 'one 250-byte reading a second: budget lasts 8 s, so the cap decides');
    // 12,500 bytes/s (50 readings/s): 2048 bytes take 164 ms.
    assert.equal(p.afterRead(250, 1020), Math.floor((READ_BUDGET_BYTES * 20) / 250));
    assert.equal(p.afterRead(64 * 1024, 1021), 0, 'a burst is read on without pausing');
    assert.equal(p.afterRead(100, 1021), 5000, 'no time passed: nothing to measure a rate from, so the cap');
  });

  it('reads on while held (a live page) or until a command\'s reply is due, and never with a zero cap', () => {
    const p = new ReadPacer(PACING);
    p.opened(0);
    p.hold(true);
    p.hold(true);
    assert.equal(p.afterRead(250, 1000), 0);
    p.hold(false);
    assert.equal(p.afterRead(250, 2000), 0, 'still one holder');
    p.hold(false);
    assert.equal(p.afterRead(250, 3000), 5000);
    p.holdUntil(10000);
    assert.equal(p.held(9999), true);
    assert.equal(p.afterRead(250, 9999), 0);
    assert.equal(p.afterRead(250, 11000), 5000);
    const off = new ReadPacer({ ...PACING, maxPauseMs: 0 });
    off.opened(0);
    assert.equal(off.afterRead(10, 60000), 0);
  });

  it('never pauses for more than a third of the silence limit, whatever the interval says', () => {
    const cfg = (over: Record<string, number>) => {
      const flags = Object.entries({ 'source.url': 'tcp://127.0.0.1:1', ...over }).map(([key, v]) => ({ key, value: String(v), flag: key }));
      const r = resolveConfig({ flags });
      assert.ok(r.ok, JSON.stringify(r));
      return r.config;
    };
    assert.equal(readPacing(cfg({ 'source.read_interval_ms': 5000, 'source.idle_timeout_ms': 30000 })).maxPauseMs, 5000);
    assert.equal(readPacing(cfg({ 'source.read_interval_ms': 5000, 'source.idle_timeout_ms': 3000 })).maxPauseMs, 1000);
    assert.equal(readPacing(cfg({ 'source.read_interval_ms': 5000, 'source.idle_timeout_ms': 0 })).maxPauseMs, 5000);
    assert.equal(readPacing(cfg({ 'source.read_interval_ms': 0 })).maxPauseMs, 0);
  });
});

describe('read pacing over TCP', function () {
  this.timeout(30000);
  let mcu: LineServer;
  let source: Source | null = null;
  beforeEach(async () => { mcu = await LineServer.start(); });
  afterEach(async () => { await source?.stop(); source = null; await mcu.close(); });

  interface Chunk { at: number; text: string }
  const open = async (maxPauseMs: number): Promise<{ chunks: Chunk[]; src: ReconnectingSource }> => {
    const chunks: Chunk[] = [];
    const src = new ReconnectingSource(mcu.url, tcpConnector({ host: '127.0.0.1', port: mcu.port, connectTimeoutMs: 2000 }), {
      initialMs: 50, maxMs: 200, idleTimeoutMs: 0, pacing: { ...PACING, maxPauseMs }, promptAfterWriteMs: 2000,
    });
    source = src;
    src.start({ data: (text) => chunks.push({ at: performance.now(), text }), up: () => undefined, down: () => undefined, end: () => undefined });
    await waitFor(() => mcu.clientCount === 1 && src.isUp(), { timeoutMs: 5000, what: 'the connection' });
    return { chunks, src };
  };
  const line = (i: number): string => `R,${i},${'x'.repeat(40)}\n`;
  const trickle = async (n: number, everyMs: number): Promise<string> => {
    let all = '';
    for (let i = 1; i <= n; i++) {
      all += line(i);
      await mcu.send(line(i));
      await sleep(everyMs);
    }
    return all;
  };

  it('reads a trickle a few lines per read, every line in order, and reads each line at once with pacing off', async () => {
    const paced = await open(600);
    const sent = await trickle(40, 50);
    await waitFor(() => paced.chunks.map((c) => c.text).join('') === sent, { timeoutMs: 5000, what: 'all 40 lines' });
    const pacedReads = paced.chunks.length;
    await source!.stop();
    mcu.dropClients();

    const prompt = await open(0);
    const sent2 = await trickle(40, 50);
    await waitFor(() => prompt.chunks.map((c) => c.text).join('') === sent2, { timeoutMs: 5000, what: 'all 40 lines, unpaced' });
    // 40 lines over 2 s with 600 ms pauses: about 4 reads (the first line is read at once).
    assert.ok(pacedReads >= 3 && pacedReads <= 8, `paced reads: ${pacedReads}`);
    assert.ok(prompt.chunks.length >= 30, `unpaced reads: ${prompt.chunks.length} (each line as it comes)`);
  });

  it('reads a burst without pausing', async () => {
    const paced = await open(5000);
    await mcu.send(line(0));
    await waitFor(() => paced.chunks.length === 1, { timeoutMs: 5000, what: 'the first line' });
    // The first line paused the link for up to 5 s; what follows the pause is a burst.
    let burst = '';
    for (let i = 1; i <= 5000; i++) burst += line(i);
    const t0 = performance.now();
    await mcu.send(burst);
    await waitFor(() => paced.chunks.slice(1).map((c) => c.text).join('') === burst, { timeoutMs: 15000, what: 'the burst' });
    const took = performance.now() - t0;
    // One pause (the one after the first line, at most 5 s), then 230 KB read without
    // another: many reads, each at once.
    assert.ok(took < 6500, `burst read in ${took.toFixed(0)} ms`);
    const readsAfterPause = paced.chunks.length - 2;
    assert.ok(readsAfterPause >= 3, `reads: ${readsAfterPause}`);
    const gaps = paced.chunks.slice(2).map((c, i) => c.at - paced.chunks[i + 1].at);
    assert.ok(Math.max(...gaps) < 1000, `no long pause inside the burst (longest gap ${Math.max(...gaps).toFixed(0)} ms)`);
  });

  it('a command written to a paused link gets its reply at once, and a held link reads each line as it comes', async () => {
    const paced = await open(5000);
    mcu.respond((l, reply) => reply(`reply to ${l}\n`));
    await mcu.send(line(1));
    await waitFor(() => paced.chunks.length === 1, { timeoutMs: 5000, what: 'the first line (the link now pauses 5 s)' });
    await sleep(50);
    const t0 = performance.now();
    await paced.src.write('C,1,status\n');
    await waitFor(() => paced.chunks.some((c) => c.text.includes('reply to C,1,status')), { timeoutMs: 5000, what: 'the reply' });
    const replyMs = performance.now() - t0;
    assert.ok(replyMs < 1000, `reply read ${replyMs.toFixed(0)} ms after the command (a pause is 5000 ms)`);

    await sleep(2100); // the command's prompt window (2 s) is over
    const before = paced.chunks.length;
    await mcu.send(line(2));
    await waitFor(() => paced.chunks.length === before + 1, { timeoutMs: 5000, what: 'line 2' });
    paced.src.readPromptly(true);
    const lags: number[] = [];
    for (let i = 3; i <= 8; i++) {
      const n = paced.chunks.length;
      const t = performance.now();
      await mcu.send(line(i));
      await waitFor(() => paced.chunks.length === n + 1, { timeoutMs: 5000, what: `line ${i}` });
      lags.push(paced.chunks[n].at - t);
      await sleep(100);
    }
    assert.ok(Math.max(...lags) < 500, `held: each line read at once (lags ${lags.map((l) => l.toFixed(0)).join(', ')} ms)`);
    paced.src.readPromptly(false);
    await mcu.send(line(9));
    await waitFor(() => paced.chunks.at(-1)!.text === line(9), { timeoutMs: 5000, what: 'line 9' });
    const n = paced.chunks.length;
    const t = performance.now();
    await mcu.send(line(10));
    await waitFor(() => paced.chunks.length === n + 1, { timeoutMs: 8000, what: 'line 10' });
    assert.ok(paced.chunks[n].at - t > 2000, 'released: a trickle waits for the pause again');
  });
});

describe('read pacing in the bridge', function () {
  this.timeout(60000);
  let dir: string;
  let mcu: LineServer;
  let bridge: Bridge | null = null;
  beforeEach(async () => { dir = makeTempDir('read-pacing'); mcu = await LineServer.start(); });
  afterEach(async () => { await bridge?.stop(); bridge = null; await mcu.close(); removeDir(dir); });

  /** How long after it was sent the bridge counted reading `seq`. */
  const lagOf = async (seq: number): Promise<number> => {
    const before = bridge!.metrics.framesIn.get({ type: 'R' });
    const t0 = performance.now();
    await mcu.send(readingLine(seq) + '\n');
    await waitFor(() => bridge!.metrics.framesIn.get({ type: 'R' }) > before, { timeoutMs: 10000, intervalMs: 10, what: `reading ${seq}` });
    return performance.now() - t0;
  };

  it('with the default interval a trickle waits for the pause; while a web page is open each reading is read at once; a clean stop reads what waited', async () => {
    // The web page asks the MCU for its settings at the first reading: the link reads at
    // once until that command's reply is due (300 ms here; this MCU never answers).
    const r = await startBridge({ 'source.url': mcu.url, 'spool.dir': path.join(dir, 'spool'), 'http.listen': '127.0.0.1:0', 'mqtt.commands.timeout_ms': 300 });
    bridge = r.bridge;
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect' });
    await lagOf(1);
    await sleep(400);
    await lagOf(2); // read at once, then the link pauses
    const paused = await lagOf(3);
    assert.ok(paused > 1000, `a trickle is read after the pause (3 s by default): ${paused.toFixed(0)} ms`);

    const ctl = new AbortController();
    const live = await fetch(`http://127.0.0.1:${bridge.healthPort()}/api/live`, { signal: ctl.signal });
    assert.equal(live.status, 200);
    const lags: number[] = [];
    for (let seq = 4; seq <= 7; seq++) {
      lags.push(await lagOf(seq));
      await sleep(200);
    }
    assert.ok(Math.max(...lags) < 500, `page open: each reading read at once (${lags.map((l) => l.toFixed(0)).join(', ')} ms)`);
    ctl.abort();
    await sleep(200); // the page's connection closes on the server's side
    await lagOf(8);
    const again = await lagOf(9);
    assert.ok(again > 1000, `page closed: a trickle waits for the pause again (${again.toFixed(0)} ms)`);

    await mcu.send(readingLine(10) + '\n');
    await sleep(100);
    assert.equal(bridge.metrics.framesIn.get({ type: 'R' }), 9, 'reading 10 waits in the kernel while the link is paused');
    await bridge.stop();
    assert.equal(bridge.metrics.framesIn.get({ type: 'R' }), 10, 'a clean stop reads what the paused link held');
    bridge = null;
  });
});
