/** The bridge's pure logic, without services: decisions that the integration tests rely on. */
import assert from 'node:assert/strict';
import { ReadingFrame, decodeLine, encodeReply } from '../../protocol';
import { AnchorStore, Backoff, BootClock, classifyFailure, CommandReply, CommandRouter, createLogger, encodeSpooledFrame, eventLine as influxEventLine, MetricsRegistry, parseCommandPayload, parseRetryAfter, payloadLines, RateLimitedLog, readingLines, readingState, readingValues, SequenceTracker } from '../../bridge/src';
import { eventLine, readingLine } from './helpers/frames';

function decodeReading(line: string): ReadingFrame {
  const d = decodeLine(line);
  assert.ok(d.ok && d.frame.type === 'R', line);
  return d.frame as ReadingFrame;
}

describe('bridge pure logic', () => {
  it('backoff doubles from the initial delay up to the cap, jitters downwards only, and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [100, 200, 400, 800, 1000, 1000]);
    b.reset();
    assert.equal(b.next(), 100);
    const j = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2 }, () => 1);
    assert.deepEqual([j.next(), j.next()], [80, 160]);
    assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), /0 < initial/);
  });

  it('sequence tracker: next, gaps, reboots (boot changed or uptime went back) and repeats', () => {
    const t = new SequenceTracker();
    assert.deepEqual(t.observe(7, 1, 1.0), { kind: 'first' });
    assert.deepEqual(t.observe(7, 2, 2.0), { kind: 'next' });
    assert.deepEqual(t.observe(7, 5, 5.0), { kind: 'gap', missing: 2 });
    assert.deepEqual(t.observe(8, 3, 3.0), { kind: 'reboot', reason: 'boot_changed', missing: 2 });
    assert.deepEqual(t.observe(8, 1, 0.5), { kind: 'reboot', reason: 'uptime_back', missing: 0 });
    assert.deepEqual(t.observe(8, 1, 0.5), { kind: 'seq_back' });
    const resumed = new SequenceTracker(t.state());
    assert.deepEqual(resumed.observe(8, 4, 4.0), { kind: 'gap', missing: 2 }, 'a gap across a bridge restart is seen');
  });

  it('boot clock: anchors a boot at its first frame, persists the anchor before use, and gives replays the same timestamps', () => {
    const saved: Array<Map<number, number>> = [];
    const store: AnchorStore = { load: () => new Map(saved.length ? saved[saved.length - 1] : []), save: (m) => saved.push(new Map(m)) };
    const c = new BootClock(store);
    assert.equal(c.timestampMs(7, 10.5, 1_000_000), 1_000_000);
    assert.equal(saved.length, 1, 'saved when the boot was first seen');
    assert.equal(c.timestampMs(7, 11.5, 1_000_999), 1_001_000, 'later frames: anchor + uptime, whatever the clock says');
    assert.equal(c.timestampMs(7, 10.001, 5_000_000), 999_501);
    assert.equal(saved.length, 1, 'no write per frame');
    const again = new BootClock(store);
    assert.equal(again.timestampMs(7, 10.5, 9_999_999), 1_000_000, 'after a restart the boot keeps its anchor');
    assert.equal(again.timestampMs(8, 0.004, 2_000_000), 2_000_000);
    assert.equal(again.anchorOf(8), 1_999_996);
    const small = new BootClock(store, 2);
    small.timestampMs(9, 0, 3_000_000);
    assert.equal(small.anchorOf(7), undefined, 'old boots are forgotten beyond the limit');
  });

  it('boot clock: a new boot starts after the newest timestamp given, so two boots never share a millisecond', () => {
    const saved: Array<Map<number, number>> = [];
    const store: AnchorStore = { load: () => new Map(saved.length ? saved[saved.length - 1] : []), save: (m) => saved.push(new Map(m)) };
    const c = new BootClock(store);
    assert.equal(c.timestampMs(1, 100, 1_000_000), 1_000_000);
    // Boot 1 ran far ahead of the host clock (a fast MCU clock, a host clock set back, a
    // simulated day in seconds): at now - uptime boot 2 would land among boot 1's stamps.
    assert.equal(c.timestampMs(1, 5000, 1_000_001), 5_900_000);
    assert.equal(c.timestampMs(2, 0.5, 1_000_002), 5_900_001, 'the first frame of the new boot follows the newest stamp');
    assert.equal(c.timestampMs(2, 2.5, 1_000_003), 5_902_001, 'and the boot keeps that anchor');
    assert.equal(c.timestampMs(1, 4000, 9_000_000), 4_900_000, 'an earlier boot (a replay) keeps its own anchor');
    const restarted = new BootClock(store);
    restarted.resumeAfter(2, 2.5);
    assert.equal(restarted.timestampMs(3, 0.004, 1_000_010), 5_902_002, 'after a restart, from the newest reading in the spool');
    const fresh = new BootClock({ load: () => new Map(), save: () => undefined });
    fresh.resumeAfter(9, 1);
    assert.equal(fresh.timestampMs(4, 1, 2_000_000), 2_000_000, 'a newest reading of a boot without an anchor bounds nothing');
    assert.equal(c.timestampMs(5, 1, 9_000_000), 9_000_000, 'a clock already past the newest stamp anchors at now - uptime');
  });

  it('rate-limited log: the first of a kind at once, then one line with the count of suppressed ones', () => {
    const out: string[] = [];
    let now = 0;
    const log = new RateLimitedLog(createLogger('info', 'text', { write: (l: string) => out.push(l) }, () => new Date(0)), 1000, () => now);
    assert.equal(log.warn('bad_crc', 'bad'), true);
    for (let i = 0; i < 50; i++) assert.equal(log.warn('bad_crc', 'bad'), false);
    assert.equal(log.warn('noise', 'other kind'), true);
    now = 1500;
    assert.equal(log.warn('bad_crc', 'bad'), true);
    assert.equal(out.length, 3);
    assert.match(out[2], /bad kind=bad_crc suppressed_since_last=50/);
  });

  it('metrics: Prometheus text with HELP, TYPE, escaped labels', () => {
    const r = new MetricsRegistry();
    const c = r.counter('x_total', 'Things.\nMore.');
    c.inc({ reason: 'a"b\\c' }, 2);
    r.gauge('y', 'A gauge.').set(1.5);
    assert.equal(r.render(), '# HELP x_total Things.\\nMore.\n# TYPE x_total counter\nx_total{reason="a\\"b\\\\c"} 2\n# HELP y A gauge.\n# TYPE y gauge\ny 1.5\n');
    assert.throws(() => r.counter('x_total', 'again'), /registered twice/);
  });

  it('metrics cells: one label set updated without a lookup, absent until first used, the same series as inc/get', () => {
    const r = new MetricsRegistry();
    const c = r.counter('f_total', 'Frames.');
    const labels = { type: 'R' };
    const cell = c.cell(labels);
    labels.type = 'changed after'; // the cell keeps its own copy
    const g = r.gauge('t', 'Time.').cell();
    assert.equal(r.render(), '# HELP f_total Frames.\n# TYPE f_total counter\n# HELP t Time.\n# TYPE t gauge\n', 'no series before the first update');
    cell.inc();
    c.inc({ type: 'R' }, 2);
    cell.inc(3);
    g.set(4.5);
    assert.equal(c.get({ type: 'R' }), 6);
    assert.equal(r.render(), '# HELP f_total Frames.\n# TYPE f_total counter\nf_total{type="R"} 6\n# HELP t Time.\n# TYPE t gauge\nt 4.5\n');
  });

  it('line protocol: power per channel and charger point per reading, nulls omitted, ms timestamps, escaping', () => {
    const r = decodeReading(readingLine(42, 7, { ba: null, bw: null, sa: 2.5, sw: null }));
    const lines = readingLines(r, 'my house', 1700000000123);
    assert.deepEqual(lines, [
      `power,channel=battery,device=my\\ house voltage=${r.bv},charge_in=10.5,charge_out=${r.baho},energy_in=140,energy_out=155.5,seq=42i,boot=7i 1700000000123`,
      'power,channel=load,device=my\\ house voltage=12.4,current=1.78,power=22.07,charge_in=0,charge_out=18,energy_in=0,energy_out=230.25,seq=42i,boot=7i 1700000000123',
      'power,channel=solar,device=my\\ house voltage=18.2,current=2.5,seq=42i,boot=7i 1700000000123',
      'charger,device=my\\ house on=1i,reason="sun_down",mode="auto",faults=0i,uptime=52,seq=42i,boot=7i 1700000000123',
    ]);
    const e = decodeLine(eventLine({ kind: 'error', msg: 'say "hi" \\ there', fw: undefined }));
    assert.ok(e.ok && e.frame.type === 'E');
    assert.equal(influxEventLine(e.frame, 'd', 5), 'event,device=d,kind=error uptime=0.004,boot=7i,message="say \\"hi\\" \\\\ there" 5');
    const { lines: fromSpool, bad } = payloadLines([encodeSpooledFrame(9, decodeReading(readingLine(1))), 'garbage', '{"ts":9,"frame":{"type":"X"}}'], 'd');
    assert.equal(fromSpool.length, 4);
    assert.equal(bad, 2);
  });

  it('write failures: what is retried, split, parked or waited out; Retry-After as seconds or a date', () => {
    assert.deepEqual([undefined, 500, 503, 429, 408, 413, 400, 422, 401, 403, 404].map(classifyFailure),
      ['retry', 'retry', 'retry', 'retry', 'retry', 'split', 'reject', 'reject', 'config', 'config', 'config']);
    assert.equal(parseRetryAfter('7', 0), 7000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(undefined, 0), undefined);
  });

  it('MQTT state: nested JSON with nulls, charger and fault names; per-value topics as plain text', () => {
    const r = decodeReading(readingLine(3, 7, { lv: null, flt: 0x0101 }));
    const s = readingState(r, Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    assert.equal(s.time, '2026-01-02T03:04:05.678Z');
    assert.deepEqual(s.load.voltage, null);
    assert.deepEqual(s.faults, { word: '0101', names: ['BAT_COMM', 'SOLAR_INVALID'] });
    assert.deepEqual(Object.keys(s.solar), ['voltage'], 'no solar current unless the MCU sends it');
    const v = new Map(readingValues(r));
    assert.equal(v.get('load/voltage'), 'null');
    assert.equal(v.get('battery/voltage'), String(r.bv));
    assert.equal(v.get('charger/state'), 'OFF');
    assert.equal(v.get('faults'), '0101');
  });

  it('command payloads: validated with the protocol rules; request_id echoed; errors say what is wrong', () => {
    assert.deepEqual(parseCommandPayload('{"cmd":"set","bon":"12.5","request_id":"x"}'), { ok: true, command: { cmd: 'set', bon: 12.5 }, requestId: 'x' });
    assert.deepEqual(parseCommandPayload('{"cmd":"force","mode":"auto","for":5}'), { ok: false, error: 'bad_value', detail: 'force auto takes no for', requestId: undefined, cmd: 'force' });
    assert.deepEqual(parseCommandPayload('{"cmd":"get","request_id":{"a":1}}'), { ok: false, error: 'invalid', detail: 'request_id must be a string of at most 128 characters or a number', cmd: 'get' });
  });

  it('command router: ids increase and wrap, replies match their request, unknown ids are refused', async () => {
    const sent: string[] = [];
    const replies: CommandReply[] = [];
    const router = new CommandRouter({ linkUp: () => true, send: async (l) => { sent.push(l); }, reply: (r) => replies.push(r) }, { timeoutMs: 60000, maxPending: 2, firstId: 4294967294 });
    router.request('{"cmd":"get","request_id":"a"}');
    router.request('{"cmd":"status","request_id":"b"}');
    router.request('{"cmd":"save","request_id":"c"}');
    await new Promise((r) => setImmediate(r));
    const ids = sent.map((l) => { const d = decodeLine(l.trimEnd()); assert.ok(d.ok && d.frame.type === 'C'); return d.frame.id; });
    assert.deepEqual(ids, [4294967295, 1]);
    assert.deepEqual(replies, [{ request_id: 'c', ok: false, cmd: 'save', error: 'busy', detail: '2 commands already waiting for the MCU' }]);
    const answer = decodeLine(encodeReply({ id: 1, ok: 1, data: { up: 5 } }));
    assert.ok(answer.ok && answer.frame.type === 'A');
    assert.equal(router.reply(answer.frame), true);
    assert.deepEqual(replies[1], { request_id: 'b', id: 1, ok: true, cmd: 'status', data: { up: 5 } });
    assert.equal(router.reply(answer.frame), false, 'answered once only');
    router.close();
  });
});
