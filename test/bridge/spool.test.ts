import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkRecord, decodeSpooledFrame, encodeRecord, encodeSpooledFrame, HEADER_BYTES, isSpooledReading, MAX_PAYLOAD, resync, Spool, SpoolOptions, SpoolPosition } from '../../bridge/src';
import { ReadingFrame, decodeLine } from '../../protocol';
import { eventLine, readingLine } from './helpers/frames';
import { ManagedProcess, makeTempDir, removeDir, waitFor } from '../helpers/services';

const root = path.join(__dirname, '..', '..');

function open(dir: string, o: Partial<SpoolOptions> = {}): Spool {
  return Spool.open({ dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 64 * 1024, fsyncIntervalMs: 50, sinks: ['a', 'b'], ...o });
}

/** Everything a sink would read from `from`, in batches, as the drainer does. */
function readAll(s: Spool, from: SpoolPosition, batch = 100): { payloads: string[]; next: SpoolPosition } {
  const payloads: string[] = [];
  let pos = from;
  for (let i = 0; i < 100000; i++) {
    const b = s.read(pos, batch, 64 * 1024);
    pos = b.next;
    if (b.payloads.length === 0) break;
    payloads.push(...b.payloads);
  }
  return { payloads, next: pos };
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
}

describe('bridge spool: record format', () => {
  it('accepts a whole record and rejects bad magic, bad length, a flipped bit and a short buffer', () => {
    const rec = encodeRecord('1700000000123 a payload');
    assert.deepEqual(checkRecord(rec, 0, rec.length), { kind: 'record', end: rec.length });
    assert.equal(checkRecord(rec, 0, rec.length - 1).kind, 'incomplete');
    const flipped = Buffer.from(rec);
    flipped[HEADER_BYTES + 3] ^= 0x01;
    assert.deepEqual(checkRecord(flipped, 0, flipped.length), { kind: 'corrupt', why: 'CRC mismatch' });
    const magic = Buffer.from(rec);
    magic[0] = 0x00;
    assert.equal(checkRecord(magic, 0, magic.length).kind, 'corrupt');
    const len = Buffer.from(rec);
    len.writeUInt32LE(MAX_PAYLOAD + 1, 2);
    assert.match((checkRecord(len, 0, len.length) as { why: string }).why, /length/);
  });

  it('resyncs to the next whole record after damage', () => {
    const a = encodeRecord('1 first');
    const b = encodeRecord('2 second');
    const buf = Buffer.concat([a, b]);
    buf[HEADER_BYTES] ^= 0xff; // damage the first payload
    assert.equal(checkRecord(buf, 0, buf.length).kind, 'corrupt');
    assert.equal(resync(buf, 0, buf.length), a.length);
  });

  it('round-trips a spooled frame exactly as the decoder gave it, and refuses anything else', () => {
    const d = decodeLine(readingLine(42, 7, { ba: null, sa: 1.5 }));
    assert.ok(d.ok);
    const frame = d.frame as ReadingFrame;
    assert.deepEqual(decodeSpooledFrame(encodeSpooledFrame(1700000000123, frame)), { ts: 1700000000123, frame });
    assert.equal(isSpooledReading(encodeSpooledFrame(1, frame)), true);
    const ev = decodeLine(eventLine());
    assert.ok(ev.ok && ev.frame.type === 'E');
    assert.equal(isSpooledReading(encodeSpooledFrame(1, ev.frame)), false);
    for (const bad of ['', 'not json', '{"ts":-1,"frame":{"type":"R"}}', '{"ts":1.5,"frame":{"type":"R"}}', '{"ts":1,"frame":{"type":"C"}}', '{"ts":1}', 'null']) {
      assert.equal(decodeSpooledFrame(bad), null, bad);
    }
  });
});

describe('bridge spool', () => {
  let dir: string;
  beforeEach(() => { dir = makeTempDir('spool'); });
  afterEach(() => removeDir(dir));

  it('returns every record in order across segment rolls, and each sink reads independently', () => {
    const s = open(dir, { segmentBytes: 16 * 1024 });
    const n = 3000;
    for (let i = 1; i <= n; i++) {
      s.append(`${i} record number ${i} ${'x'.repeat(i % 50)}`);
      if (i % 37 === 0) s.flush();
    }
    s.flush();
    assert.ok(segmentFiles(dir).length > 3, `expected several segments, got ${segmentFiles(dir).length}`);
    const a = readAll(s, s.ackedPosition('a'), 64);
    assert.equal(a.payloads.length, n);
    a.payloads.forEach((p, i) => assert.ok(p.startsWith(`${i + 1} record number ${i + 1} `), `record ${i}: ${p}`));
    assert.equal(a.next.index, n);
    const b = readAll(s, s.ackedPosition('b'), 1000);
    assert.deepEqual(b.payloads, a.payloads);
    s.close();
  });

  it('keeps cursors across a restart and deletes a segment only when every sink is past it', () => {
    let s = open(dir);
    for (let i = 1; i <= 2000; i++) s.append(`${i} r`.padEnd(200, '.'));
    s.flush();
    const before = segmentFiles(dir).length;
    const half = s.read(s.ackedPosition('a'), 1000, 1 << 30);
    assert.equal(half.payloads.length, 1000);
    s.ack('a', half.next);
    assert.equal(segmentFiles(dir).length, before, 'sink b has not read anything: nothing may be deleted');
    const all = readAll(s, s.ackedPosition('b'));
    s.ack('b', all.next);
    assert.ok(segmentFiles(dir).length < before, 'segments both sinks are past must go');
    s.close();

    s = open(dir);
    const restA = readAll(s, s.ackedPosition('a'));
    assert.equal(restA.payloads.length, 1000, 'sink a resumes after what it acked');
    assert.ok(restA.payloads[0].startsWith('1001 r'));
    assert.equal(readAll(s, s.ackedPosition('b')).payloads.length, 0, 'sink b had acked everything');
    assert.equal(s.stats().sinks.a.pendingRecords, 1000);
    assert.equal(s.stats().sinks.b.pendingRecords, 0);
    s.close();
  });

  it('cuts a torn last record on open, counts it, and appends after the last good one', () => {
    let s = open(dir);
    for (let i = 1; i <= 10; i++) s.append(`${i} good`);
    s.close();
    const seg = path.join(dir, segmentFiles(dir).pop()!);
    const whole = encodeRecord('11 this record was being written when the power went');
    fs.appendFileSync(seg, whole.subarray(0, whole.length - 7));
    s = open(dir);
    assert.equal(s.stats().tornRecords, 1);
    s.append('12 after restart');
    s.flush();
    const got = readAll(s, s.ackedPosition('a')).payloads;
    assert.deepEqual(got, [...Array.from({ length: 10 }, (_, i) => `${i + 1} good`), '12 after restart']);
    s.close();
  });

  it('skips a damaged record in the middle of a segment, counts the bytes, and keeps the rest', () => {
    let s = open(dir);
    for (let i = 1; i <= 20; i++) s.append(`${i} payload`);
    s.close();
    const seg = path.join(dir, segmentFiles(dir)[0]);
    const buf = fs.readFileSync(seg);
    const rec = encodeRecord('1 payload').length;
    buf[5 * rec + HEADER_BYTES + 1] ^= 0x20; // inside record 6's payload
    fs.writeFileSync(seg, buf);
    s = open(dir);
    const got = readAll(s, s.ackedPosition('a')).payloads;
    assert.equal(got.length, 19);
    assert.ok(!got.some((p) => p.startsWith('6 ')), 'the damaged record is not delivered');
    assert.ok(got.includes('7 payload') && got.includes('20 payload'));
    assert.ok(s.stats().corruptBytes >= rec, `corrupt bytes ${s.stats().corruptBytes}`);
    s.close();
  });

  it('drops the oldest segments when full, and counts what each sink lost', () => {
    const s = open(dir, { maxBytes: 4 * 16 * 1024, segmentBytes: 16 * 1024 });
    const partA = s.read(s.ackedPosition('a'), 10, 1 << 20);
    assert.equal(partA.payloads.length, 0);
    const n = 2000;
    for (let i = 1; i <= n; i++) {
      s.append(`${i} `.padEnd(100, 'z'));
      s.flush();
    }
    const st = s.stats();
    assert.ok(st.bytes <= 4 * 16 * 1024, `spool holds ${st.bytes} bytes, over its bound`);
    assert.ok(st.droppedRecords > 0);
    const kept = readAll(s, s.ackedPosition('a')).payloads;
    assert.equal(kept.length + st.sinks.a.droppedRecords, n, 'every record is either kept or counted as dropped');
    assert.equal(st.sinks.b.droppedRecords, st.sinks.a.droppedRecords);
    assert.ok(kept[kept.length - 1].startsWith(`${n} `), 'the newest data is kept');
    s.close();
  });

  it('loses nothing it flushed when its process is SIGKILLed (no fsync yet)', async () => {
    const child = new ManagedProcess(process.execPath, ['scripts/ts-run.js', 'test/bridge/helpers/spool-writer-child.ts', dir, '5000', String(64 * 1024)], { cwd: root, logFile: path.join(dir, 'child.log') });
    try {
      await waitFor(() => child.output().includes('written'), { timeoutMs: 20000, what: 'the child to write 5000 records', detail: () => child.output() });
      await child.kill();
    } finally {
      await child.kill();
    }
    fs.rmSync(path.join(dir, 'child.log'));
    const s = open(dir, { sinks: ['a'] });
    const got = readAll(s, s.ackedPosition('a')).payloads;
    assert.equal(got.length, 5000);
    assert.equal(got[4999], '6000 record-5000');
    assert.equal(s.stats().tornRecords, 0);
    s.close();
  });

  it('refuses a directory another live process is using, naming the process', async () => {
    fs.writeFileSync(path.join(dir, 'lock'), `${process.ppid}\n`);
    assert.throws(() => open(dir), new RegExp(`in use by process ${process.ppid}`));
    fs.writeFileSync(path.join(dir, 'lock'), '999999999\n'); // a pid that is not running: stale lock
    const s = open(dir);
    s.close();
    assert.ok(!fs.existsSync(path.join(dir, 'lock')), 'close releases the lock');
  });
});
