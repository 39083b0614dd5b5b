/**
 * The sink cursor file (cursors.bin): one file for every sink, saved in place into two
 * alternating checksummed slots. Real files throughout; the crash is a real SIGKILL; a lost
 * file is read from the real bridge's /metrics.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Bridge, CURSOR_FILE, DEFAULT_SLOT_BYTES, SLOT_HEADER_BYTES, SinkCursors, Spool, SpoolOptions, SpoolPosition, decodeCursorFile, encodeSlot } from '../../bridge/src';
import { LineServer, ManagedProcess, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { LogCapture, configFrom, metricValue, parseMetrics } from './helpers/bridge-harness';

const root = path.join(__dirname, '..', '..');

function open(dir: string, o: Partial<SpoolOptions> & { warnings?: string[] } = {}): Spool {
  const warnings = o.warnings ?? [];
  return Spool.open({ dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 64 * 1024, fsyncIntervalMs: 50, sinks: ['a', 'b'], onWarning: (m) => warnings.push(m), ...o });
}

/** Reads every record from `from` on; returns them and where reading ended. */
function readAll(s: Spool, from: SpoolPosition): { payloads: string[]; next: SpoolPosition } {
  const payloads: string[] = [];
  let pos = from;
  for (let i = 0; i < 100000; i++) {
    const b = s.read(pos, 500, 1 << 20);
    if (b.payloads.length === 0) break;
    payloads.push(...b.payloads);
    pos = b.next;
  }
  return { payloads, next: pos };
}

/** The records from..to-1 appended and flushed; the position after record `ackTo` - 1. */
function fill(s: Spool, from: number, to: number): void {
  for (let i = from; i < to; i++) s.append(`${i} record`.padEnd(40, '.'));
  s.flush();
}

/** Reads `n` records for `sink` from its acked position and acks them; returns the new position. */
function ackNext(s: Spool, sink: string, n: number): SpoolPosition {
  const b = s.read(s.ackedPosition(sink), n, 1 << 20);
  assert.equal(b.payloads.length, n, `${sink} has ${n} records to ack`);
  s.ack(sink, b.next);
  return b.next;
}

function onDisk(dir: string): ReturnType<typeof decodeCursorFile> {
  return decodeCursorFile(fs.readFileSync(path.join(dir, CURSOR_FILE)));
}

function positionsOnDisk(dir: string): Record<string, number> {
  const c = onDisk(dir);
  assert.ok(c.newest, `a good slot in ${CURSOR_FILE}: ${c.damaged.join('; ')}`);
  return Object.fromEntries([...c.newest.positions].map(([k, v]) => [k, v.index]));
}

/** Two saves: slot with generation g-1 holds a=10,b=5, the newer slot holds a=30,b=20. Returns which slot is newer. */
function twoSaves(dir: string): 0 | 1 {
  let s = open(dir);
  fill(s, 0, 100);
  ackNext(s, 'a', 10);
  ackNext(s, 'b', 5);
  s.close();
  s = open(dir);
  ackNext(s, 'a', 20);
  ackNext(s, 'b', 15);
  s.close();
  const c = onDisk(dir);
  assert.deepEqual(positionsOnDisk(dir), { a: 30, b: 20 });
  return c.newest!.slot;
}

describe('bridge spool: the cursor file', () => {
  let dir: string;
  beforeEach(() => { dir = makeTempDir('cursors'); });
  afterEach(() => removeDir(dir));

  it('holds every sink in one file whose size and inode never change, alternating its two slots', () => {
    const s = open(dir);
    fill(s, 0, 100);
    ackNext(s, 'a', 10);
    s.close();
    const file = path.join(dir, CURSOR_FILE);
    const st0 = fs.statSync(file);
    assert.equal(st0.size, 2 * DEFAULT_SLOT_BYTES);
    assert.deepEqual(positionsOnDisk(dir), { a: 10, b: 0 });
    const slots: number[] = [];
    const generations: number[] = [];
    for (let round = 1; round <= 4; round++) {
      const r = open(dir);
      ackNext(r, round % 2 ? 'a' : 'b', 5);
      r.close();
      const c = onDisk(dir);
      slots.push(c.newest!.slot);
      generations.push(c.newest!.generation);
      assert.equal(fs.statSync(file).ino, st0.ino, 'written in place, not replaced');
      assert.equal(fs.statSync(file).size, st0.size);
    }
    assert.deepEqual(positionsOnDisk(dir), { a: 20, b: 10 });
    assert.deepEqual(slots.slice(1), slots.slice(1).map((_, i) => (slots[0] + i + 1) % 2), `slots alternate: ${slots}`);
    assert.deepEqual(generations, generations.map((_, i) => generations[0] + i), `one generation per save: ${generations}`);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('cursor')), [CURSOR_FILE], 'no per-sink or temporary files');
  });

  it('a torn newest slot: resumes from the slot before, says so, loses no record', () => {
    const newer = twoSaves(dir);
    const file = path.join(dir, CURSOR_FILE);
    const fd = fs.openSync(file, 'r+');
    // Power lost mid-write: the header reached the disk, the payload only half.
    const half = Buffer.alloc(12, 0);
    fs.writeSync(fd, half, 0, half.length, newer * DEFAULT_SLOT_BYTES + SLOT_HEADER_BYTES + 4);
    fs.closeSync(fd);
    const warnings: string[] = [];
    const s = open(dir, { warnings });
    assert.equal(s.ackedPosition('a').index, 10);
    assert.equal(s.ackedPosition('b').index, 5);
    assert.equal(readAll(s, s.ackedPosition('a')).payloads[0], '10 record'.padEnd(40, '.'), 'a is delivered again from its older cursor, nothing skipped');
    assert.equal(s.stats().cursorsLost, 0);
    assert.ok(warnings.some((w) => w.includes(`slot ${newer}: CRC mismatch`) && w.includes('using the other slot')), warnings.join('\n'));
    s.close();
  });

  it('a bad checksum in either slot: the good one is used, the damaged one is overwritten next', () => {
    const newer = twoSaves(dir);
    const older = newer === 0 ? 1 : 0;
    const file = path.join(dir, CURSOR_FILE);
    const buf = fs.readFileSync(file);
    buf[older * DEFAULT_SLOT_BYTES + SLOT_HEADER_BYTES + 2] ^= 0x04; // a flipped bit in the older slot
    fs.writeFileSync(file, buf);
    const warnings: string[] = [];
    let s = open(dir, { warnings });
    assert.equal(s.ackedPosition('a').index, 30, 'the newest good save wins');
    assert.ok(warnings.some((w) => w.includes(`slot ${older}: CRC mismatch`)), warnings.join('\n'));
    ackNext(s, 'a', 1);
    s.close();
    const c = onDisk(dir);
    assert.equal(c.newest!.slot, older, 'the next save goes to the slot not holding the newest save');
    assert.deepEqual(c.damaged, []);

    // Now damage the newest: the save before it (a=30) is what remains.
    const again = fs.readFileSync(file);
    again[older * DEFAULT_SLOT_BYTES + 9] ^= 0x80; // its generation
    fs.writeFileSync(file, again);
    s = open(dir);
    assert.equal(s.ackedPosition('a').index, 30);
    s.close();
  });

  it('both slots bad (or a file of the wrong size): a loud warning, counted, every sink from the oldest record, file rewritten', () => {
    for (const damage of ['both', 'short'] as const) {
      removeDir(dir);
      dir = makeTempDir('cursors');
      twoSaves(dir);
      const file = path.join(dir, CURSOR_FILE);
      if (damage === 'both') {
        const buf = fs.readFileSync(file);
        buf[SLOT_HEADER_BYTES] ^= 0x01;
        buf[DEFAULT_SLOT_BYTES + SLOT_HEADER_BYTES] ^= 0x01;
        fs.writeFileSync(file, buf);
      } else {
        fs.truncateSync(file, 101);
      }
      const warnings: string[] = [];
      let s = open(dir, { warnings });
      assert.equal(s.stats().cursorsLost, 1, damage);
      assert.ok(warnings.some((w) => /SINK CURSORS LOST/.test(w) && /oldest record/.test(w)), warnings.join('\n'));
      for (const sink of ['a', 'b']) {
        assert.deepEqual(s.ackedPosition(sink), s.startPosition(), `${damage}: ${sink} starts from the oldest record`);
        assert.equal(readAll(s, s.ackedPosition(sink)).payloads.length, 100, `${damage}: ${sink} gets every record again`);
      }
      s.close();
      assert.equal(fs.statSync(file).size, 2 * DEFAULT_SLOT_BYTES, 'rewritten whole');
      const quiet: string[] = [];
      s = open(dir, { warnings: quiet });
      assert.equal(s.stats().cursorsLost, 0);
      assert.deepEqual(quiet, []);
      s.close();
    }
  });

  it('a lost cursor file is counted in the bridge\'s /metrics (solar_bridge_spool_cursors_lost_total), once per open that found it', async () => {
    const spoolDir = path.join(dir, 'spool');
    fs.mkdirSync(spoolDir);
    twoSaves(spoolDir);
    const mcu = await LineServer.start();
    let bridge: Bridge | null = null;
    const lostOnStart = async (): Promise<{ value: number; help: boolean; log: string }> => {
      const log = new LogCapture();
      bridge = new Bridge({ config: configFrom({ 'source.url': mcu.url, 'http.listen': '127.0.0.1:0', 'spool.dir': spoolDir }), log: log.logger, version: 'test' });
      await bridge.start();
      const text = await (await fetch(`http://127.0.0.1:${bridge.healthPort()}/metrics`)).text();
      await bridge.stop();
      bridge = null;
      return { value: metricValue(parseMetrics(text), 'solar_bridge_spool_cursors_lost_total'), help: /^# HELP solar_bridge_spool_cursors_lost_total .*oldest record/m.test(text), log: log.text() };
    };
    try {
      const good = await lostOnStart();
      assert.equal(good.value, 0, 'a good cursor file: nothing lost');
      assert.ok(good.help, 'the counter is exported (with its HELP) before it ever counts');
      const file = path.join(spoolDir, CURSOR_FILE);
      const buf = fs.readFileSync(file);
      buf[SLOT_HEADER_BYTES] ^= 0x01;
      buf[DEFAULT_SLOT_BYTES + SLOT_HEADER_BYTES] ^= 0x01;
      fs.writeFileSync(file, buf);
      const lost = await lostOnStart();
      assert.equal(lost.value, 1, lost.log);
      assert.match(lost.log, /SINK CURSORS LOST/);
      const after = await lostOnStart();
      assert.equal(after.value, 0, 'the file was written anew: the next start finds it good');
    } finally {
      await (bridge as Bridge | null)?.stop();
      await mcu.close();
    }
  });

  it('upgrades from the per-sink cursor-<sink>.json files, deleting them once cursors.bin is durable', () => {
    let s = open(dir);
    fill(s, 0, 100);
    const a = ackNext(s, 'a', 40);
    const b = ackNext(s, 'b', 25);
    s.close();
    // What an earlier version left: one JSON file per sink, one of a sink no longer configured, one unreadable.
    fs.rmSync(path.join(dir, CURSOR_FILE));
    fs.writeFileSync(path.join(dir, 'cursor-a.json'), JSON.stringify(a) + '\n');
    fs.writeFileSync(path.join(dir, 'cursor-b.json'), JSON.stringify(b) + '\n');
    fs.writeFileSync(path.join(dir, 'cursor-old.json'), JSON.stringify({ offset: 0, index: 0 }) + '\n');
    fs.writeFileSync(path.join(dir, 'cursor-c.json'), '{"offset": 12');
    const warnings: string[] = [];
    s = open(dir, { sinks: ['a', 'b', 'c'], warnings });
    assert.equal(s.ackedPosition('a').index, 40);
    assert.equal(s.ackedPosition('b').index, 25);
    assert.equal(s.ackedPosition('c').index, 0);
    assert.ok(warnings.some((w) => w.includes('cursor-c.json') && w.includes('oldest record')), warnings.join('\n'));
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('cursor')), [CURSOR_FILE], 'the old files are gone once the new one is written');
    assert.deepEqual(positionsOnDisk(dir), { a: 40, b: 25, c: 0, old: 0 });
    // A SIGKILL now (no close) would find the new file: read it without closing the spool.
    const again = new SinkCursors(dir, ['a', 'b'], s.startPosition(), s.endPosition(), s.endPosition().offset, () => undefined);
    assert.equal(again.get('a')!.index, 40);
    assert.equal(again.origin, 'file');
    again.close();
    s.close();
  });

  it('a sink added starts from the oldest record, a sink removed keeps its place for when it returns', () => {
    let s = open(dir, { sinks: ['a', 'b'] });
    fill(s, 0, 100);
    ackNext(s, 'a', 60);
    ackNext(s, 'b', 30);
    s.close();
    s = open(dir, { sinks: ['a', 'c'] });
    assert.equal(s.ackedPosition('a').index, 60);
    assert.equal(s.ackedPosition('c').index, 0, 'a new sink gets everything the spool holds');
    assert.throws(() => s.ackedPosition('b'), /unknown sink b/);
    ackNext(s, 'c', 10);
    s.close();
    assert.deepEqual(positionsOnDisk(dir), { a: 60, b: 30, c: 10 });
    s = open(dir, { sinks: ['b'] });
    assert.equal(s.ackedPosition('b').index, 30, 'b resumes where it stopped');
    s.close();
  });

  it('a cursor is saved only as far as the data known durable; past it, it waits for the next save', () => {
    let s = open(dir);
    fill(s, 0, 100);
    s.close();
    s = open(dir);
    const start = s.startPosition();
    const end = s.endPosition();
    const mid = s.read(start, 50, 1 << 20).next;
    s.close();
    const c = new SinkCursors(dir, ['a', 'b'], start, end, end.offset, () => undefined);
    c.move('a', mid);
    c.move('b', end);
    c.save(mid.offset);
    assert.deepEqual(positionsOnDisk(dir), { a: 50, b: 0 }, 'b points past the durable data: not saved');
    assert.equal(c.unsaved, true);
    c.save(end.offset);
    assert.deepEqual(positionsOnDisk(dir), { a: 50, b: 100 });
    assert.equal(c.unsaved, false);
    c.close();
  });

  it('slots too small for many sinks: the file grows (written whole) and reads back', () => {
    const many = new Map<string, SpoolPosition>();
    for (let i = 0; i < 200; i++) many.set(`sink-with-a-long-name-${i}`, { offset: i * 1000, index: i });
    assert.ok(encodeSlot(1, many).length > DEFAULT_SLOT_BYTES);
    const sinks = [...many.keys()];
    const s = open(dir, { sinks });
    fill(s, 0, 10);
    for (const sink of sinks) ackNext(s, sink, 3);
    s.close();
    const size = fs.statSync(path.join(dir, CURSOR_FILE)).size;
    assert.ok(size > 2 * DEFAULT_SLOT_BYTES && size % 2 === 0, `grew to ${size}`);
    const again = open(dir, { sinks });
    for (const sink of sinks) assert.equal(again.ackedPosition(sink).index, 3);
    again.close();
  });

  it('SIGKILL between data and cursor: acked-but-unsaved records are delivered again, nothing is skipped or lost', async () => {
    const first = 300, second = 200, third = 100;
    const child = new ManagedProcess(process.execPath, ['scripts/ts-run.js', 'test/bridge/helpers/cursor-crash-child.ts', dir, String(first), String(second), String(third)], { cwd: root, logFile: path.join(dir, '..', `${path.basename(dir)}-child.log`) });
    try {
      await waitFor(() => child.output().includes('written'), { timeoutMs: 20000, what: 'the child to write, ack and write again', detail: () => child.output() });
      await child.kill();
    } finally {
      await child.kill();
    }
    assert.match(child.output(), new RegExp(`saved ${first}\\b`));
    const s = open(dir, { sinks: ['a'] });
    assert.equal(s.ackedPosition('a').index, first, 'the saved cursor, not the one only memory knew');
    const rest = readAll(s, s.ackedPosition('a')).payloads;
    assert.equal(rest.length, second + third, 'the acked-but-unsaved records come again, and the unacked ones');
    assert.equal(rest[0], `${first + 1} record`);
    assert.equal(rest[rest.length - 1], `${first + second + third} record`);
    s.close();
  });
});
