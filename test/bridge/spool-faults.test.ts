/**
 * The spool's bad days, against the real bridge process, mosquitto and influxd:
 *
 * - Its disk fills (a 2 MiB tmpfs; the test needs root) while both sinks are down: the
 *   bridge stays up and answers /healthz throughout, counts and logs what it cannot keep,
 *   restarts on the full disk, and once the sinks are back and space is free resumes by
 *   itself; every reading it accepted reaches InfluxDB exactly once.
 * - Its files are damaged (a torn tail, a flipped bit mid-segment, the last record of an
 *   older segment): each damage is logged once, counted once, quarantined, never reported
 *   again on a restart, pending ends at 0, and every undamaged reading is delivered once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HEADER_BYTES, STALL_RETRY_MAX_MS, STALL_RETRY_MIN_MS, Spool, SpoolOptions, WriteStall, checkRecord, decodeSpooledFrame, encodeRecord, encodeSpooledFrame } from '../../bridge/src';
import { decodeLine } from '../../protocol';
import { Influxd1Service, LineServer, MosquittoService, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { BridgeProcess, FAST_RETRY_ENV, metricValue } from './helpers/bridge-harness';
import { readingLine } from './helpers/frames';
import { MqttRecorder } from './helpers/mqtt-recorder';

const DB = 'solar';
const DEVICE = 'sf';

interface Rig {
  broker: MosquittoService;
  influx: Influxd1Service;
  mcu: LineServer;
}

function bridgeArgs(rig: Rig, spoolDir: string): string[] {
  return ['--source', rig.mcu.url, '--mqtt', rig.broker.url, '--influx-url', rig.influx.url, '--influx-api', 'v1', '--influx-db', DB, '--device-id', DEVICE, '--spool', spoolDir];
}

const ENV = { ...FAST_RETRY_ENV, SOLAR_BRIDGE_SPOOL_SEGMENT_BYTES: String(64 * 1024), SOLAR_BRIDGE_BATTERY_HISTORY_DAYS: '0' };

/** Sends readings from..to in chunks, as a serial line would. */
async function send(mcu: LineServer, from: number, to: number): Promise<void> {
  for (let s = from; s <= to; s += 50) {
    let text = '';
    for (let i = s; i <= Math.min(to, s + 49); i++) text += readingLine(i, 7, { up: i * 0.1 }) + '\n';
    await mcu.send(text);
    await sleep(5);
  }
}

async function framesRead(b: BridgeProcess): Promise<number> {
  return metricValue(await b.metrics(), 'solar_bridge_frames_total', 'type="R"');
}

async function influxSeqs(influx: Influxd1Service): Promise<number[]> {
  const rows = await influx.query(DB, 'SELECT seq FROM charger');
  return rows.length === 0 ? [] : rows[0].values.map((v) => Number(v[1]));
}

function lines(text: string, re: RegExp): string[] {
  return text.split('\n').filter((l) => re.test(l));
}

describe('bridge spool on a full disk (tmpfs, needs root)', function () {
  this.timeout(90000);
  let dir: string;
  let disk = '';
  let rig: Rig;
  let bridge: BridgeProcess | null = null;
  let sub: MqttRecorder | null = null;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs and must run as root (CI does)');
    dir = makeTempDir('spool-full');
    disk = path.join(dir, 'disk');
    fs.mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
    const [broker, influx, mcu] = await Promise.all([MosquittoService.start(), Influxd1Service.start(), LineServer.start()]);
    rig = { broker, influx, mcu };
    await influx.createDatabase(DB);
  });
  after(async () => {
    await bridge?.kill();
    await sub?.close();
    await rig?.mcu.close();
    await rig?.broker.dispose();
    await rig?.influx.dispose();
    if (disk) {
      try { execFileSync('umount', [disk]); } catch { execFileSync('umount', ['-l', disk]); }
    }
    removeDir(dir);
  });

  it('keeps running and counting while full, restarts on the full disk, resumes by itself, delivers every accepted reading once', async () => {
    const { broker, influx, mcu } = rig;
    const TOTAL = 3400;
    sub = await MqttRecorder.connect(broker.url, [`solar/${DEVICE}/readings`], { clientId: 'spool-full-check', clean: false });
    const mqttSeen = new Set<number>();
    sub.client.on('message', (_t, payload) => { for (const r of JSON.parse(payload.toString()) as Array<{ frame: { seq: number } }>) mqttSeen.add(r.frame.seq); });
    await broker.stop();
    await influx.kill();

    const spoolDir = path.join(disk, 'spool');
    fs.mkdirSync(spoolDir);
    // Leave ~300 KiB: about a thousand readings fit before the disk is full.
    const free = (): number => { const st = fs.statfsSync(disk); return st.bavail * st.bsize; };
    const filler = path.join(disk, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(free() - 300 * 1024));

    // /healthz must answer the whole time a bridge is meant to be up: every answer is kept
    // with the bridge run that gave it and whether it named the full disk.
    let polling = false;
    let pollFailures = 0;
    let run = 0;
    const answers: Array<{ run: number; diskFull: boolean }> = [];
    const fullAnswers = (r: number): number => answers.filter((a) => a.run === r && a.diskFull).length;
    const healthProblems = new Set<string>();
    const poller = setInterval(() => {
      if (!polling || !bridge) return;
      const b = bridge;
      const r = run;
      fetch(`http://127.0.0.1:${b.httpPort}/healthz`, { signal: AbortSignal.timeout(2000) })
        .then(async (res) => {
          const problems = ((await res.json()) as { problems: string[] }).problems.map((p) => p.replace(/ since .*/, ''));
          for (const p of problems) healthProblems.add(p);
          answers.push({ run: r, diskFull: problems.includes('spool disk full') });
        })
        .catch(() => { if (polling && b === bridge) pollFailures++; });
    }, 100);
    /** /healthz keeps answering on the full disk and says so: a few polls in a row, however long the phase took. */
    const healthzAnswersFull = async (r: number): Promise<void> => {
      const from = fullAnswers(r);
      await waitFor(() => fullAnswers(r) >= from + 3, { timeoutMs: 10000, what: `/healthz to answer 3 more polls naming the full disk (run ${r})`, detail: () => `failures ${pollFailures}` });
    };

    let sent = 0;
    const start = async (): Promise<void> => {
      bridge = await BridgeProcess.create(bridgeArgs(rig, spoolDir), path.join(dir, `bridge-${++run}.log`), ENV);
      await bridge.start();
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 15000, what: 'the bridge to connect to the source' });
      polling = true;
    };
    const sendAndWait = async (to: number, readBefore: number): Promise<void> => {
      await send(mcu, sent + 1, to);
      const want = readBefore + (to - sent);
      sent = to;
      await waitFor(async () => (await framesRead(bridge!)) === want, { timeoutMs: 20000, what: `the bridge to read ${want} readings`, detail: () => bridge!.output().slice(-2000) });
    };
    try {
      // 1. The disk fills while both sinks are down.
      await start();
      await sendAndWait(2500, 0);
      const m1 = await bridge!.metrics();
      assert.ok(bridge!.proc!.running, 'the bridge is still running on a full disk');
      assert.equal(metricValue(m1, 'solar_bridge_spool_write_failing'), 1, 'metrics say the spool cannot write');
      const lost1 = metricValue(m1, 'solar_bridge_spool_lost_records_total');
      assert.ok(lost1 > 0, 'readings beyond the memory hold are counted as lost');
      const h1 = await (await fetch(`http://127.0.0.1:${bridge!.httpPort}/healthz`)).json() as { healthy: boolean; problems: string[]; spool: { write_failing: { reason: string; lost_records: number } | null } };
      assert.equal(h1.healthy, false);
      assert.ok(h1.problems.some((p) => p.startsWith('spool disk full since')), `healthz names the full disk: ${h1.problems.join('; ')}`);
      assert.equal(h1.spool.write_failing?.lost_records, lost1);
      assert.equal(lines(bridge!.output(), /readings are being lost from/).length, 1, 'one line when loss starts, not one per reading');
      assert.doesNotMatch(bridge!.output(), /ENOSPC.*\n\s+at /, 'no stack trace');
      await healthzAnswersFull(1);

      // 2. A restart on the still-full disk: the lock is taken without free space.
      polling = false;
      await bridge!.stop();
      const out1 = bridge!.output();
      const summary1 = lines(out1, /spool disk full: lost \d+ reading/);
      assert.equal(summary1.length, 1, `one loss summary when the bridge stops:\n${out1.slice(-3000)}`);
      const atClose = Number(/(\d+) record\(s\) held in memory could not be written before closing/.exec(out1)?.[1] ?? 0);
      assert.ok(atClose > 0, 'the readings held in memory when it stopped are counted');
      assert.ok(free() < 8192, `the disk is still full (${free()} bytes free): no room for another chunk of readings`);
      await start();
      assert.doesNotMatch(bridge!.output(), /cannot start/);
      assert.ok(fs.lstatSync(path.join(spoolDir, 'lock')).isSymbolicLink(), 'the lock is held');
      assert.ok(!fs.existsSync(path.join(spoolDir, 'lock.tmp')), 'no temporary lock file left behind');
      // More than the memory hold (two 64 KiB segments, ~440 readings): some are lost again.
      await sendAndWait(3200, 0);
      assert.equal(metricValue(await bridge!.metrics(), 'solar_bridge_spool_write_failing'), 1);
      await healthzAnswersFull(2);

      // 3. Sinks back and space freed: it resumes by itself, no restart.
      await broker.restart();
      await influx.restart();
      fs.rmSync(filler);
      await waitFor(() => /spool: writing again after/.test(bridge!.output()), { timeoutMs: 30000, what: 'the spool to write again', detail: () => bridge!.output().slice(-3000) });
      // Polled through the freeing: once writing again, /healthz stops naming the full disk.
      const answeredBeforeFree = answers.length;
      await waitFor(() => answers.slice(answeredBeforeFree).some((a) => a.run === 2 && !a.diskFull), { timeoutMs: 10000, what: '/healthz to stop naming the full disk once the spool writes again' });
      await sendAndWait(3400, 700);
      const summary2 = lines(bridge!.output(), /spool disk full: lost \d+ reading/);
      assert.equal(summary2.length, 1, 'the second run lost from its start until space returned: one summary');

      // Every reading lost is named by the summaries (seq ranges) or the count at close.
      const lostSeqs = new Set<number>();
      let lostCounted = 0;
      for (const l of [...summary1, ...summary2]) {
        const m = /lost (\d+) reading\(s\).* seq (\d+)\.\.(\d+) of boot 7/.exec(l);
        assert.ok(m, `a summary with a seq range: ${l}`);
        const [n, a, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
        assert.equal(b - a + 1, n, `one unbroken run: ${l}`);
        for (let s = a; s <= b; s++) lostSeqs.add(s);
        lostCounted += n;
      }
      assert.equal(lostSeqs.size, lostCounted, 'no reading counted twice');
      const m2 = await bridge!.metrics();
      assert.equal(metricValue(m2, 'solar_bridge_spool_lost_records_total'), Number(/lost (\d+) reading/.exec(summary2[0])![1]), 'the metric counts what the log says');
      assert.equal(lost1 <= Number(/lost (\d+) reading/.exec(summary1[0])![1]), true);

      const expected = TOTAL - lostCounted - atClose;
      await waitFor(async () => (await influxSeqs(influx)).length >= expected, { timeoutMs: 30000, what: `${expected} readings in InfluxDB`, detail: async () => `have ${(await influxSeqs(influx)).length}\n${bridge!.output().slice(-2000)}` });
      await waitFor(async () => {
        const m = await bridge!.metrics();
        return metricValue(m, 'solar_bridge_sink_pending_records', 'sink="influx"') === 0 && metricValue(m, 'solar_bridge_sink_pending_records', 'sink="mqtt"') === 0;
      }, { timeoutMs: 20000, what: 'both sinks to have everything confirmed' });
      const seqs = await influxSeqs(influx);
      assert.equal(new Set(seqs).size, seqs.length, 'no reading twice in InfluxDB');
      assert.equal(seqs.length, expected, `every accepted reading delivered: ${TOTAL} sent - ${lostCounted} lost while full - ${atClose} held at the restart`);
      for (const s of seqs) assert.ok(!lostSeqs.has(s), `seq ${s} was reported lost but delivered`);
      // The readings held at close are the newest accepted before the restart: right before the run lost in the first bridge.
      const missing = [...Array(TOTAL).keys()].map((i) => i + 1).filter((s) => !seqs.includes(s) && !lostSeqs.has(s));
      assert.equal(missing.length, atClose);
      await waitFor(() => seqs.every((s) => mqttSeen.has(s)), { timeoutMs: 20000, what: 'every delivered reading over MQTT too' });
      assert.equal(metricValue(m2, 'solar_bridge_spool_write_failing'), 0);

      polling = false;
      assert.ok(fullAnswers(1) >= 3 && fullAnswers(2) >= 3, `/healthz named the full disk in ${fullAnswers(1)} and ${fullAnswers(2)} answers of the two runs on it`);
      assert.equal(pollFailures, 0, `/healthz answered every poll while the bridge was up (${answers.length} answers)`);
      assert.ok(healthProblems.has('spool disk full'), `the full disk showed in /healthz: ${[...healthProblems].join('; ')}`);
      assert.ok(bridge!.proc!.running);
    } finally {
      clearInterval(poller);
    }
  });
});

/** Byte offsets of the records in a segment file, with the seq of each reading. */
function records(file: string): Array<{ at: number; end: number; seq: number }> {
  const buf = fs.readFileSync(file);
  const out: Array<{ at: number; end: number; seq: number }> = [];
  for (let at = 0; at < buf.length;) {
    const c = checkRecord(buf, at, buf.length);
    if (c.kind !== 'record') throw new Error(`${file}: no record at ${at}`);
    const rec = decodeSpooledFrame(buf.toString('latin1', at + HEADER_BYTES, c.end));
    out.push({ at, end: c.end, seq: rec?.frame.type === 'R' ? rec.frame.seq : -1 });
    at = c.end;
  }
  return out;
}

function flipByte(file: string, at: number): void {
  const buf = fs.readFileSync(file);
  buf[at] ^= 0x20;
  fs.writeFileSync(file, buf);
}

describe('bridge spool damaged at the tail, mid-segment and at a segment boundary', function () {
  this.timeout(90000);
  let dir: string;
  let rig: Rig;
  let bridge: BridgeProcess | null = null;

  before(async () => {
    dir = makeTempDir('spool-damage');
    const [broker, influx, mcu] = await Promise.all([MosquittoService.start(), Influxd1Service.start(), LineServer.start()]);
    rig = { broker, influx, mcu };
    await influx.createDatabase(DB);
  });
  after(async () => {
    await bridge?.kill();
    await rig?.mcu.close();
    await rig?.broker.dispose();
    await rig?.influx.dispose();
    removeDir(dir);
  });

  it('logs, counts and quarantines each damage once, keeps pending exact and delivers every undamaged reading once', async () => {
    const { broker, influx, mcu } = rig;
    const N = 1000;
    const spoolDir = path.join(dir, 'spool');
    await broker.stop();
    await influx.kill();
    let run = 0;
    const start = async (): Promise<BridgeProcess> => {
      const b = await BridgeProcess.create(bridgeArgs(rig, spoolDir), path.join(dir, `bridge-${++run}.log`), { ...ENV, SOLAR_BRIDGE_WEB_ENABLED: 'false' });
      bridge = b;
      await b.start();
      await waitFor(() => mcu.clientCount === 1, { timeoutMs: 15000, what: 'the bridge to connect to the source' });
      return b;
    };

    // A spool as the bridge leaves it with its sinks down: N readings, 64 KiB segments.
    const writer = Spool.open({ dir: spoolDir, maxBytes: 1 << 30, segmentBytes: 64 * 1024, fsyncIntervalMs: 1000, sinks: ['influx', 'mqtt'] });
    const t = Date.now() - N * 1000;
    for (let i = 1; i <= N; i++) {
      const d = decodeLine(readingLine(i, 7, { up: i }));
      assert.ok(d.ok && d.frame.type === 'R');
      writer.append(encodeSpooledFrame(t + i * 1000, d.frame));
      if (i % 50 === 0) writer.flush();
    }
    writer.close();

    const segs = fs.readdirSync(spoolDir).filter((n) => n.startsWith('seg-')).sort().map((n) => path.join(spoolDir, n));
    assert.ok(segs.length >= 4, `${segs.length} segments`);
    const damaged: number[] = [];
    // At a segment boundary: the last record of the oldest segment.
    const first = records(segs[0]);
    const boundary = first[first.length - 1];
    flipByte(segs[0], boundary.at + HEADER_BYTES + 5);
    damaged.push(boundary.seq);
    // Mid-segment in an older segment.
    const second = records(segs[1]);
    const mid = second[Math.floor(second.length / 2)];
    flipByte(segs[1], mid.at + HEADER_BYTES + 20);
    damaged.push(mid.seq);
    // Mid-segment in the newest one, and a torn record at its end (power lost mid-write).
    const newest = segs[segs.length - 1];
    const last = records(newest);
    const midNew = last[Math.floor(last.length / 2)];
    flipByte(newest, midNew.at + HEADER_BYTES + 20);
    damaged.push(midNew.seq);
    const torn = encodeRecord('{"ts":1,"frame":{"type":"R","seq":999999}}');
    fs.appendFileSync(newest, torn.subarray(0, torn.length - 9));

    // Run 2, sinks still down: the newest segment's damage is found on open, the older
    // segments' by the sinks' readers (they read a batch, then wait for their server).
    let b = await start();
    const damageLine = /damaged bytes in seg-/;
    await waitFor(() => lines(b.output(), damageLine).length >= 4, { timeoutMs: 5000, what: 'the four damages to be logged', detail: () => b.output() });
    await sleep(1000);
    const out2 = b.output();
    assert.equal(lines(out2, damageLine).length, 4, `four damages, each once although two sinks and the last-reading scan read past them:\n${lines(out2, damageLine).join('\n')}`);
    assert.equal(lines(out2, /cut; kept in quarantine\//).length, 1, 'the torn tail is cut and kept');
    const m2 = await b.metrics();
    assert.equal(metricValue(m2, 'solar_bridge_spool_torn_records_total'), 1);
    const newestName = path.basename(newest, '.log');
    const midBad = path.join(spoolDir, 'quarantine', `${newestName}-${midNew.at}.bad`);
    const quarantine = path.join(spoolDir, 'quarantine');
    const olderBad = [`${path.basename(segs[0], '.log')}-${boundary.at}.bad`, `${path.basename(segs[1], '.log')}-${mid.at}.bad`].map((n) => path.join(quarantine, n));
    const skippedBytes = [midBad, ...olderBad].reduce((sum, f) => sum + fs.statSync(f).size, 0);
    assert.equal(skippedBytes, (boundary.end - boundary.at) + (mid.end - mid.at) + (midNew.end - midNew.at), 'exactly the damaged records are quarantined');
    assert.equal(metricValue(m2, 'solar_bridge_spool_corrupt_bytes_total'), skippedBytes, 'each damage counted once');
    assert.equal(fs.statSync(midBad).size, midNew.end - midNew.at, 'exactly the damaged record is quarantined');
    assert.match(fs.readFileSync(midBad.replace(/\.bad$/, '.txt'), 'utf8'), /CRC mismatch/);
    await b.kill();

    // Run 3, still down: nothing reported again.
    b = await start();
    await sleep(1000);
    assert.equal(lines(b.output(), damageLine).length, 0, `nothing reported again on restart:\n${b.output()}`);
    const m3 = await b.metrics();
    assert.equal(metricValue(m3, 'solar_bridge_spool_corrupt_bytes_total') + metricValue(m3, 'solar_bridge_spool_torn_records_total'), 0);

    // Sinks back: they read past the damage again, silently.
    await broker.restart();
    await influx.restart();
    await waitFor(async () => {
      const m = await b.metrics();
      return metricValue(m, 'solar_bridge_sink_pending_records', 'sink="influx"') === 0 && metricValue(m, 'solar_bridge_sink_pending_records', 'sink="mqtt"') === 0;
    }, { timeoutMs: 30000, what: 'pending to reach exactly 0 for both sinks', detail: async () => `${[...(await b.metrics())].filter(([k]) => k.includes('pending')).join('\n')}\n${b.output().slice(-2000)}` });
    assert.equal(lines(b.output(), damageLine).length, 0, 'nothing reported again while delivering');
    const quarantined = fs.readdirSync(quarantine);
    assert.equal(quarantined.filter((n) => n.endsWith('.bad')).length, 4);
    assert.equal(quarantined.filter((n) => n.endsWith('.txt')).length, 4);

    const want = N - damaged.length;
    await waitFor(async () => (await influxSeqs(influx)).length >= want, { timeoutMs: 20000, what: `${want} readings in InfluxDB` });
    const seqs = await influxSeqs(influx);
    assert.equal(seqs.length, want);
    assert.equal(new Set(seqs).size, want, 'each once');
    for (const s of damaged) assert.ok(!seqs.includes(s), `damaged seq ${s} not delivered`);
    await b.stop();
  });
});

describe('bridge spool faults, in process', () => {
  let dir: string;
  beforeEach(() => { dir = makeTempDir('spool-faults-unit'); });
  afterEach(() => removeDir(dir));

  const open = (o: Partial<SpoolOptions> = {}, warnings: string[] = []): Spool =>
    Spool.open({ dir, maxBytes: 1 << 30, segmentBytes: 16 * 1024, fsyncIntervalMs: 50, sinks: ['a', 'b'], onWarning: (m) => warnings.push(m), ...o });

  /** Reads and acks everything for `sink` in batches of `batch`, as a drainer does. */
  const drain = (s: Spool, sink: string, batch: number): string[] => {
    const got: string[] = [];
    for (let i = 0; i < 10000; i++) {
      const b = s.read(s.ackedPosition(sink), batch, 1 << 20);
      if (b.payloads.length === 0) break;
      got.push(...b.payloads);
      s.ack(sink, b.next);
    }
    return got;
  };

  it('the lock is a pid symlink: taken over from a dead process (either format), refused to a live one, no temporary file left', () => {
    const lock = path.join(dir, 'lock');
    fs.writeFileSync(path.join(dir, 'lock.tmp'), '123\n'); // left by an earlier version on a full disk
    fs.symlinkSync(String(process.ppid), lock);
    assert.throws(() => open(), new RegExp(`in use by process ${process.ppid}`));
    fs.unlinkSync(lock);
    fs.writeFileSync(lock, '999999999\n'); // a dead pid, the old plain-file format
    let s = open();
    assert.equal(fs.readlinkSync(lock), String(process.pid));
    assert.ok(!fs.existsSync(path.join(dir, 'lock.tmp')));
    s.close();
    assert.throws(() => fs.lstatSync(lock), /ENOENT/, 'close releases the lock');
    fs.symlinkSync('999999999', lock); // a dead pid, the new format
    s = open();
    assert.equal(fs.readlinkSync(lock), String(process.pid));
    s.close();
  });

  it('pending is exact after damage at a segment boundary and mid-segment, and each damage is reported once across sinks and restarts', () => {
    const warnings: string[] = [];
    let s = open({}, warnings);
    const n = 400;
    for (let i = 1; i <= n; i++) { s.append(`${i} `.padEnd(100, 'x')); if (i % 10 === 0) s.flush(); }
    s.close();
    const segs = fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).sort().map((f) => path.join(dir, f));
    assert.ok(segs.length >= 3);
    const recSize = encodeRecord('1 '.padEnd(100, 'x')).length;
    const perSeg = Math.floor(16 * 1024 / recSize);
    // The last record of segment 0 (the boundary) and one in the middle of segment 1.
    flipByte(segs[0], (perSeg - 1) * recSize + HEADER_BYTES + 50);
    flipByte(segs[1], 10 * recSize + HEADER_BYTES + 50);
    // Sink c reads nothing yet: it keeps the segments for after the restart.
    s = open({ sinks: ['a', 'b', 'c'] }, warnings);
    assert.equal(s.stats().sinks.a.pendingRecords, n, 'before reading, the damaged records still count (old segments are not scanned on open)');
    // One record at a time: the boundary is crossed exactly where the damage is.
    const gotA = drain(s, 'a', 1);
    assert.equal(gotA.length, n - 2);
    assert.equal(s.stats().sinks.a.pendingRecords, 0, 'pending is exactly 0 once read past both damages');
    // Stop sink b right after the mid-segment damage: pending is the exact number left.
    const upTo = perSeg + 12;
    let pos = s.ackedPosition('b');
    let seen = 0;
    while (seen < upTo - 1) {
      const b = s.read(pos, 1, 1 << 20);
      seen += b.payloads.length;
      pos = b.next;
    }
    s.ack('b', pos);
    assert.equal(s.stats().sinks.b.pendingRecords, n - 2 - seen, `after ${seen} valid records read`);
    assert.equal(drain(s, 'b', 7).length, n - 2 - seen);
    assert.equal(s.stats().sinks.b.pendingRecords, 0);
    assert.equal(warnings.filter((w) => /damaged bytes/.test(w)).length, 2, warnings.join('\n'));
    assert.equal(s.stats().corruptBytes, 2 * recSize, 'counted once although two sinks read past');
    s.close();
    warnings.length = 0;
    s = open({ sinks: ['a', 'b', 'c'] }, warnings);
    assert.equal(drain(s, 'c', 50).length, n - 2, 'a new sink still gets every undamaged record');
    assert.equal(warnings.length, 0, `nothing reported again after a restart: ${warnings.join('\n')}`);
    assert.equal(s.stats().corruptBytes, 0);
    s.close();
  });

  it('write stall: a bounded backoff, at once after space is freed, and refusals latch until the stall ends', () => {
    const st = new WriteStall(1000, Object.assign(new Error('no space'), { code: 'ENOSPC' }), 0);
    assert.equal(st.reason, 'spool disk full');
    assert.equal(st.retryAtMs, STALL_RETRY_MIN_MS);
    let t = 0;
    for (let i = 0; i < 20; i++) { t = st.retryAtMs; st.failedAgain(t); }
    assert.equal(st.retryAtMs - t, STALL_RETRY_MAX_MS);
    st.spaceFreed(t);
    assert.equal(st.retryAtMs, t);
    assert.equal(st.mayHold(0, 100, 250), true);
    assert.equal(st.mayHold(100, 100, 250), true);
    assert.equal(st.mayHold(200, 100, 250), false);
    assert.equal(st.mayHold(0, 10, 250), false, 'once losing, a small record is refused too: the loss is one unbroken run');
    assert.equal(st.lost, 2);
    assert.match(new WriteStall(0, Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }), 0).reason, /cannot write \(EIO/);
  });

  it('a full disk (1 MiB tmpfs, root): append never throws, holds then refuses, writes what it held in order when space returns', async () => {
    assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs and must run as root (CI does)');
    const disk = path.join(dir, 'disk');
    fs.mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
    try {
      const spoolDir = path.join(disk, 'spool');
      const warnings: string[] = [];
      const s = Spool.open({ dir: spoolDir, maxBytes: 1 << 30, segmentBytes: 64 * 1024, fsyncIntervalMs: 50, sinks: ['a'], holdBytes: 32 * 1024, onWarning: (m) => warnings.push(m) });
      const filler = path.join(disk, 'filler');
      const st = fs.statfsSync(disk);
      fs.writeFileSync(filler, Buffer.alloc(st.bavail * st.bsize - 100 * 1024));
      const accepted: number[] = [];
      let refused = 0;
      for (let i = 1; i <= 2000; i++) {
        if (s.append(`${i} `.padEnd(200, 'y'))) accepted.push(i);
        else refused++;
        if (i % 20 === 0) s.flush();
      }
      const f = s.stats().writeFailing;
      assert.ok(f, 'the spool knows it cannot write');
      assert.equal(f.reason, 'spool disk full');
      assert.ok(f.heldRecords > 100, `${f.heldRecords} held in memory`);
      assert.equal(refused, s.stats().lostRecords);
      assert.equal(refused, f.lostRecords);
      assert.ok(refused > 0 && accepted.length + refused === 2000);
      assert.deepEqual(accepted, Array.from({ length: accepted.length }, (_, k) => k + 1), 'the newest records are the ones refused');
      assert.ok(warnings.some((w) => w.startsWith('spool disk full: cannot write')), warnings.join('\n'));
      fs.rmSync(filler);
      await waitFor(() => s.stats().writeFailing === null, { timeoutMs: 10000, what: 'the spool to write again by itself' });
      assert.ok(warnings.some((w) => /writing again/.test(w)));
      const got = drain(s, 'a', 100).map((p) => Number(p.split(' ')[0]));
      assert.deepEqual(got, accepted, 'every accepted record once, in order');
      assert.equal(s.stats().sinks.a.pendingRecords, 0);
      s.close();
    } finally {
      execFileSync('umount', [disk]);
    }
  });
});
