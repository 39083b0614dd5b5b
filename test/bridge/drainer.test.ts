/**
 * The drainer's pacing against a real spool: a trickle is gathered for gatherMs into one
 * delivery, while a backlog, a burst (its last partial batch included) and a busy stream
 * go back to back without waiting out the interval. The sink here is a stand-in for a
 * server that confirms each batch after a fixed delay; the InfluxDB tests run the same
 * drainer against influxd.
 */
import assert from 'node:assert/strict';
import { BatchBuilder, SinkDelivery, SinkDrainer, Spool } from '../../bridge/src';
import { makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';

interface Delivery { records: string[]; startedAt: number; confirmedAt: number }

/** A sink whose server takes `latencyMs` to confirm a batch; keeps what it was sent, and when. */
class TimedSink implements SinkDelivery {
  readonly name = 's';
  readonly deliveries: Delivery[] = [];
  constructor(private readonly latencyMs: number) {}
  batch(): BatchBuilder {
    const records: string[] = [];
    return {
      add: (buf, start, end) => { records.push(buf.toString('latin1', start, end)); },
      send: async () => {
        const d: Delivery = { records, startedAt: Date.now(), confirmedAt: 0 };
        this.deliveries.push(d);
        await sleep(this.latencyMs);
        d.confirmedAt = Date.now();
      },
    };
  }
  get confirmed(): number {
    return this.deliveries.filter((d) => d.confirmedAt > 0).reduce((n, d) => n + d.records.length, 0);
  }
}

describe('bridge sink drainer: gathering a trickle, back to back when busy', function () {
  this.timeout(30000);
  let dir: string;
  let spool: Spool;
  let drainer: SinkDrainer | null;
  let seq: number;
  /** When each record was appended (and flushed, which is when the drainer hears of it). */
  let appendedAt: Map<string, number>;

  beforeEach(() => {
    dir = makeTempDir('drainer');
    spool = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncIntervalMs: 1000, sinks: ['s'] });
    drainer = null;
    seq = 0;
    appendedAt = new Map();
  });
  afterEach(async () => {
    await drainer?.stop(1000);
    spool.close();
    removeDir(dir);
  });

  function append(n: number): void {
    for (let i = 0; i < n; i++) {
      const p = `record ${++seq}`;
      assert.ok(spool.append(p));
      appendedAt.set(p, Date.now());
    }
    spool.flush();
  }

  function start(sink: TimedSink, gatherMs: number, batchRecords = 10): SinkDrainer {
    drainer = new SinkDrainer(spool, sink, { batchRecords, batchBytes: 1024 * 1024, maxInFlight: 2, gatherMs });
    drainer.start();
    return drainer;
  }

  /** Every record once, in order. */
  function assertAllOnce(sink: TimedSink): void {
    const got = sink.deliveries.flatMap((d) => d.records);
    assert.deepEqual(got, Array.from({ length: seq }, (_, i) => `record ${i + 1}`));
  }

  it('gathers a trickle into one delivery per gatherMs; a record arriving while it is in flight waits for the next one', async () => {
    const sink = new TimedSink(150);
    start(sink, 800);
    for (let i = 0; i < 5; i++) { append(1); await sleep(60); }
    await waitFor(() => sink.deliveries.length === 1, { timeoutMs: 5000, what: 'the gathered delivery' });
    const first = sink.deliveries[0];
    assert.equal(first.records.length, 5, 'the five records of the trickle in one delivery');
    assert.ok(first.startedAt - appendedAt.get('record 1')! >= 750, `sent ${first.startedAt - appendedAt.get('record 1')!} ms after the first record: it should have gathered for 800 ms`);
    append(1); // while the first delivery is in flight
    await waitFor(() => sink.confirmed === 6, { timeoutMs: 5000, what: 'record 6 confirmed' });
    assert.equal(sink.deliveries.length, 2);
    const second = sink.deliveries[1];
    assert.ok(second.startedAt - appendedAt.get('record 6')! >= 750, `record 6 went ${second.startedAt - appendedAt.get('record 6')!} ms after it arrived: a trickle's delivery ending is no reason to send it alone`);
    assertAllOnce(sink);
  });

  it('sends a backlog found at start at once, in full batches', async () => {
    append(25);
    const sink = new TimedSink(20);
    const t0 = Date.now();
    start(sink, 5000);
    await waitFor(() => sink.confirmed === 25, { timeoutMs: 4000, what: 'the backlog of 25 confirmed without waiting for the 5 s gathering' });
    assert.ok(Date.now() - t0 < 4000);
    assert.deepEqual(sink.deliveries.map((d) => d.records.length), [10, 10, 5]);
    assertAllOnce(sink);
  });

  it('sends a burst back to back, its last partial batch as soon as the delivery before it ends; then gathers a trickle again', async () => {
    const gatherMs = 3000;
    const sink = new TimedSink(20);
    start(sink, gatherMs);
    // 97 records in chunks of 3 every 8 ms: the sink keeps up, so what arrives during a
    // delivery is less than a batch, as at the end of any burst.
    for (let i = 0; i < 32; i++) { append(3); await sleep(8); }
    append(1);
    const lastAt = Date.now();
    await waitFor(() => sink.confirmed === 97, { timeoutMs: 10000, what: 'the burst confirmed' });
    const tail = Date.now() - lastAt;
    assert.ok(tail < gatherMs / 2, `the burst's last records were confirmed ${tail} ms after they arrived: they should not wait out the ${gatherMs} ms gathering`);
    assert.ok(sink.deliveries.length < 97 / 2, `${sink.deliveries.length} deliveries for 97 records: what arrives during a delivery goes together`);
    assertAllOnce(sink);

    // Quiet for longer than gatherMs: the stream is a trickle again.
    await sleep(gatherMs + 200);
    const before = sink.deliveries.length;
    for (let i = 0; i < 3; i++) { append(1); await sleep(50); }
    await sleep(500);
    assert.equal(sink.deliveries.length, before, 'a trickle after the burst is gathered, not sent record by record');
    await waitFor(() => sink.confirmed === 100, { timeoutMs: gatherMs + 3000, what: 'the trickle after the burst' });
    assert.equal(sink.deliveries.length, before + 1);
    assertAllOnce(sink);
  });

  it('keeps a busy stream (more than a batch per gatherMs) going back to back, none of it waiting out the interval', async () => {
    const gatherMs = 2000;
    const sink = new TimedSink(25);
    start(sink, gatherMs);
    // 2 records every 20 ms for 1.2 s: ~100 records a second against a batch of 10 per 2 s.
    for (let i = 0; i < 60; i++) { append(2); await sleep(20); }
    append(1); // the stream's end is not a whole batch
    await waitFor(() => sink.confirmed === seq, { timeoutMs: 10000, what: 'the stream confirmed' });
    let worst = 0;
    for (const d of sink.deliveries) for (const r of d.records) worst = Math.max(worst, d.confirmedAt - appendedAt.get(r)!);
    assert.ok(worst < gatherMs / 2, `a record waited ${worst} ms to be confirmed: a busy stream should not gather for ${gatherMs} ms`);
    assertAllOnce(sink);
  });

  it('a stop sends what a trickle was gathering and what a busy stream had waiting, within the grace', async () => {
    const sink = new TimedSink(100);
    const d = start(sink, 5000);
    append(3);
    await sleep(50);
    await d.stop(2000);
    assert.equal(sink.confirmed, 3, 'the gathered trickle went at the stop');
    drainer = null;

    const busySink = new TimedSink(100);
    const busy = start(busySink, 5000);
    append(25); // a full batch and more: busy
    await waitFor(() => busySink.deliveries.length > 0, { timeoutMs: 2000, what: 'the first delivery' });
    await waitFor(() => busySink.confirmed === 25, { timeoutMs: 2000, what: 'the first 25' });
    append(10);
    await sleep(30); // the second delivery is in flight...
    append(4); // ...and these wait for it to end
    await busy.stop(2000);
    assert.equal(busySink.confirmed, seq - 3, 'what waited for the delivery in flight went at the stop');
    assert.equal(spool.ackedPosition('s').offset, spool.endPosition().offset);
  });

  it('with gatherMs 0 sends each record as it arrives', async () => {
    const sink = new TimedSink(5);
    start(sink, 0);
    for (let i = 0; i < 4; i++) {
      append(1);
      await waitFor(() => sink.confirmed === i + 1, { timeoutMs: 2000, what: `record ${i + 1} confirmed` });
      await sleep(30);
    }
    assert.deepEqual(sink.deliveries.map((d) => d.records.length), [1, 1, 1, 1]);
    assert.equal(spool.ackedPosition('s').offset, spool.endPosition().offset, 'the cursor is at the end');
  });
});

/** A sink that keeps each record's bytes as delivered; while `held`, its server answers nothing. */
class GatedSink implements SinkDelivery {
  readonly records: Buffer[] = [];
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  constructor(readonly name: string) {}
  hold(): void {
    this.gate = new Promise((r) => { this.open = r; });
  }
  release(): void {
    this.open();
  }
  batch(): BatchBuilder {
    const got: Buffer[] = [];
    return {
      add: (buf, start, end) => { got.push(Buffer.from(buf.subarray(start, end))); },
      send: async () => {
        await this.gate;
        this.records.push(...got);
      },
    };
  }
}

describe('bridge sink drainer: what was just appended is handed over from memory, all else read from the file', function () {
  this.timeout(30000);
  let dir: string;
  let spool: Spool | null;
  const drainers: SinkDrainer[] = [];
  /** Every payload appended, in order. */
  let appended: string[];

  const open = (sinks: string[]): Spool => Spool.open({ dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncIntervalMs: 1000, sinks });
  const drain = (s: Spool, sink: SinkDelivery, batchRecords = 20): SinkDrainer => {
    const d = new SinkDrainer(s, sink, { batchRecords, batchBytes: 1024 * 1024, maxInFlight: 2 });
    drainers.push(d);
    d.start();
    return d;
  };
  /** Appends and flushes one record at a time, as the line rate does. */
  const trickle = (s: Spool, n: number): void => {
    for (let i = 0; i < n; i++) {
      // Not all the same length, and bytes a latin1 string holds but JSON would escape.
      const p = `{"seq":${appended.length + 1},"pad":"${'x'.repeat(150 + (appended.length % 37))}\u00e9\u00ff"}`;
      assert.ok(s.append(p));
      s.flush();
      appended.push(p);
    }
  };
  const asText = (records: Buffer[]): string[] => records.map((b) => b.toString('latin1'));
  /** As trickle(), letting the sinks' confirmations run after each record, as a paced stream does. */
  const paced = async (s: Spool, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      trickle(s, 1);
      await new Promise((r) => setImmediate(r));
    }
  };

  beforeEach(() => {
    dir = makeTempDir('drainer-handoff');
    spool = null;
    appended = [];
  });
  afterEach(async () => {
    for (const d of drainers.splice(0)) await d.stop(1000);
    spool?.close();
    removeDir(dir);
  });

  it('a sink caught up gets each new record without reading the file; a sink started after a restart reads the same bytes from it', async () => {
    spool = open(['live', 'later']);
    const live = new GatedSink('live');
    drain(spool, live);
    for (let i = 0; i < 30; i++) {
      trickle(spool, 1);
      await waitFor(() => live.records.length === i + 1, { timeoutMs: 2000, what: `record ${i + 1} delivered` });
    }
    let st = spool.stats();
    assert.equal(st.fileReads, 0, 'nothing read back from the file');
    assert.ok(st.memoryReads >= 30, `${st.memoryReads} reads from memory for 30 records`);
    assert.deepEqual(asText(live.records), appended);
    spool.close();

    // After a restart nothing is kept in memory: 'later' reads everything from the file.
    spool = open(['live', 'later']);
    const later = new GatedSink('later');
    const d = drain(spool, later);
    await waitFor(() => d.caughtUp(), { timeoutMs: 5000, what: 'the sink started late to catch up' });
    st = spool.stats();
    assert.ok(st.fileReads >= 2, `${st.fileReads} reads of the file`);
    assert.equal(st.memoryReads, 0);
    assert.equal(later.records.length, live.records.length);
    for (let i = 0; i < live.records.length; i++) assert.ok(later.records[i].equals(live.records[i]), `record ${i + 1}: the same bytes from memory and from the file`);
  });

  it('a sink behind what is kept in memory reads the file, in order, then takes new records from memory once caught up', async () => {
    spool = open(['fast', 'slow']);
    const fast = new GatedSink('fast');
    const slow = new GatedSink('slow');
    drain(spool, fast);
    drain(spool, slow, 5);
    slow.hold();
    // While slow's server answers nothing, far more than memory keeps (64 KiB) is appended.
    await paced(spool, 500);
    await waitFor(() => fast.records.length === 500, { timeoutMs: 5000, what: 'the fast sink to have all 500' });
    const before = spool.stats();
    assert.equal(before.fileReads, 0, 'the fast sink read nothing from the file');
    slow.release();
    await waitFor(() => slow.records.length === 500, { timeoutMs: 10000, what: 'the slow sink to catch up' });
    const after = spool.stats();
    // Memory keeps 64 KiB, at most 385 of these records (170 bytes at the least): the rest,
    // 115 or more, come from the file, 5 a batch.
    assert.ok(after.fileReads - before.fileReads >= 23, `${after.fileReads - before.fileReads} reads of the file for the slow sink's backlog`);
    assert.deepEqual(asText(slow.records), appended, 'every record once, in order');
    assert.deepEqual(asText(fast.records), appended);
    assert.equal(spool.ackedPosition('slow').offset, spool.endPosition().offset);

    // Caught up again: the next records come from memory for both.
    for (let i = 0; i < 5; i++) {
      trickle(spool, 1);
      await waitFor(() => slow.records.length === 501 + i && fast.records.length === 501 + i, { timeoutMs: 2000, what: `record ${501 + i} at both` });
    }
    const end = spool.stats();
    assert.equal(end.fileReads, after.fileReads, 'no more reads of the file once caught up');
    assert.ok(end.memoryReads >= after.memoryReads + 10, `${end.memoryReads - after.memoryReads} reads from memory for 5 records and 2 sinks`);
    assert.deepEqual(asText(slow.records), appended);
  });

  it('a sink caught up reads from memory across segment rolls', async () => {
    spool = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 8 * 1024, fsyncIntervalMs: 1000, sinks: ['s'] });
    const sink = new GatedSink('s');
    drain(spool, sink);
    await paced(spool, 200);
    await waitFor(() => sink.records.length === 200, { timeoutMs: 5000, what: 'all 200 delivered' });
    const st = spool.stats();
    assert.ok(st.segments === 1 || st.segments === 2, `${st.segments} segments left: the consumed ones were deleted`);
    assert.ok(st.appendedRecords === 200 && spool.endPosition().offset > 4 * 8 * 1024, `the records filled several segments (${spool.endPosition().offset} bytes)`);
    assert.equal(st.fileReads, 0, 'nothing read back from the file, across the rolls');
    assert.deepEqual(asText(sink.records), appended);
  });

  it('a position that does not start a record in memory is read from the file, as after a restart', () => {
    spool = open(['s']);
    trickle(spool, 5);
    const first = spool.read(spool.startPosition(), 1, 1 << 20).next;
    const inside = { offset: first.offset + 3, index: first.index };
    const fileReads = spool.stats().fileReads;
    const fromMemory = spool.read(inside, 10, 1 << 20);
    assert.ok(spool.stats().fileReads > fileReads, 'the copy in memory did not line up: the file was read');
    spool.close();
    spool = open(['s']);
    const fromFile = spool.read(inside, 10, 1 << 20);
    assert.deepEqual(fromMemory.payloads, fromFile.payloads);
    assert.deepEqual(fromMemory.payloads, appended.slice(2), 'the record it points into is stepped over as damage, to the next whole record');
    assert.deepEqual(fromMemory.next, fromFile.next);
  });
});
