/**
 * Moves one sink through the spool: read a batch after the sink's position, hand it to
 * the sink, and once the sink's server confirmed it, advance the sink's cursor. Several
 * batches may be in flight; cursors advance strictly in order, so a crash replays from
 * the oldest unconfirmed batch and never skips one.
 */
import type { Spool, SpoolPosition } from '../spool/spool';

/** What a sink makes of one batch of spooled records while it is being read. */
export interface BatchBuilder {
  /**
   * One record's payload, bytes buf[start, end), in spool order. Called synchronously
   * while the spool reads: copy what is needed, `buf` is reused. Never throws: a record
   * the sink cannot read is counted and skipped by the sink.
   */
  add(buf: Buffer, start: number, end: number): void;
  /**
   * Sends what was added. Resolves when the server confirmed all of it (or the sink
   * deliberately set some aside, e.g. points InfluxDB rejects as invalid). Retries
   * internally; rejects only when the sink is being stopped.
   */
  send(): Promise<void>;
}

export interface SinkDelivery {
  readonly name: string;
  /** A builder for the next batch; only what it builds stays in memory while in flight. */
  batch(): BatchBuilder;
}

export interface DrainOptions {
  batchRecords: number;
  batchBytes: number;
  maxInFlight: number;
  /**
   * Wait up to this long after a record arrives for more to send with it (0: send at
   * once). For sinks where each request costs more than its records, such as one HTTP
   * write per reading at one reading a second. Only a trickle waits: a full batch goes at
   * once, and while the stream is busy (a full batch's worth read within the last gatherMs:
   * a backlog, a burst, a fast replay) deliveries go back to back, so a burst's last partial
   * batch does not wait out the interval. A trickle's write rides on the wake-up of a
   * record that arrives in the last RIDE_SHARE of the interval; the timer, set RIDE_SHARE
   * past it, sends only when the records stop.
   */
  gatherMs?: number;
}

/**
 * Each wake-up of the process costs more CPU than a small write (about 1 ms on a small
 * host, measured): a write that goes with a record's arrival costs none of its own. The
 * last 40 % of the default 5 s is wider than the source's read interval (3 s by default),
 * so a paced trickle always has a read in it; and the timer, 40 % past, is due after the
 * read that follows a ride (a Node timer that is cleared still wakes the process when it
 * was due, unless a sooner timer, here the read's, is set after it).
 */
const RIDE_SHARE = 0.4;

export class SinkDrainer {
  private readPos: SpoolPosition;
  private inFlight: Array<{ done: boolean; failed: boolean; next: SpoolPosition; count: number }> = [];
  private stopping = false;
  private readonly wake = (): void => this.appended();
  private gatherTimer: NodeJS.Timeout | undefined;
  /** When the gathering wait began (performance.now() ms). */
  private gatherSince = 0;
  private idleWaiters: Array<() => void> = [];
  /** The stream counts as busy until then (performance.now() ms); see DrainOptions.gatherMs. */
  private busyUntil = 0;
  /** Records read since windowStart: a full batch's worth within gatherMs makes the stream busy. */
  private windowRecords = 0;
  private windowStart = 0;

  constructor(
    private readonly spool: Spool,
    private readonly sink: SinkDelivery,
    private readonly options: DrainOptions,
    private readonly onConfirmed: (records: number) => void = () => undefined,
  ) {
    this.readPos = spool.ackedPosition(sink.name);
  }

  get sinkName(): string {
    return this.sink.name;
  }

  start(): void {
    this.spool.on('appended', this.wake);
    // What the spool held before the start is a backlog: it goes at once.
    this.pump();
  }

  /** New records in the spool: read them now, when the delivery in flight ends, or once the gathering wait is over. */
  private appended(): void {
    if ((this.options.gatherMs ?? 0) <= 0 || this.fullBatchWaiting()) {
      this.hurry();
      return;
    }
    if (this.busy()) {
      // settle() reads them when the delivery in flight ends: together, and without a wait.
      if (this.inFlight.length === 0) this.hurry();
      return;
    }
    const gatherMs = this.options.gatherMs!;
    if (this.gatherTimer !== undefined) {
      if (performance.now() - this.gatherSince >= gatherMs * (1 - RIDE_SHARE)) this.hurry();
      return;
    }
    this.gatherSince = performance.now();
    this.gatherTimer = setTimeout(() => {
      this.gatherTimer = undefined;
      this.pump();
    }, gatherMs * (1 + RIDE_SHARE));
    this.gatherTimer.unref();
  }

  private fullBatchWaiting(): boolean {
    return this.spool.endPosition().index - this.readPos.index >= this.options.batchRecords;
  }

  private busy(): boolean {
    return this.busyUntil !== 0 && performance.now() < this.busyUntil;
  }

  /** Counts what a delivery reads: a full batch's worth within gatherMs keeps the stream busy for another gatherMs. */
  private noteRead(records: number): void {
    const gatherMs = this.options.gatherMs ?? 0;
    if (gatherMs <= 0) return;
    const now = performance.now();
    if (now - this.windowStart >= gatherMs) {
      this.windowStart = now;
      this.windowRecords = 0;
    }
    this.windowRecords += records;
    if (this.windowRecords >= this.options.batchRecords) {
      this.busyUntil = now + gatherMs;
      this.windowStart = now;
      this.windowRecords = 0;
    }
  }

  /** Sends what is waiting without gathering more (a replay reached the end of its input). */
  hurry(): void {
    if (this.gatherTimer !== undefined) clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    this.pump();
  }

  private pump(): void {
    while (!this.stopping && this.inFlight.length < this.options.maxInFlight) {
      const builder = this.sink.batch();
      const batch = this.spool.readEach(this.readPos, this.options.batchRecords, this.options.batchBytes, (buf, start, end) => builder.add(buf, start, end));
      this.readPos = batch.next;
      if (batch.count === 0) {
        // Nothing to send, but a drop may have moved us: record that as confirmed ground.
        if (this.inFlight.length === 0) this.spool.ack(this.sink.name, batch.next);
        break;
      }
      this.noteRead(batch.count);
      const entry = { done: false, failed: false, next: batch.next, count: batch.count };
      this.inFlight.push(entry);
      builder.send().then(() => {
        entry.done = true;
        this.settle();
      }, () => {
        entry.failed = true;
        this.settle();
      });
    }
    this.notifyIdle();
  }

  private settle(): void {
    while (this.inFlight.length > 0 && this.inFlight[0].done) {
      const e = this.inFlight.shift()!;
      this.spool.ack(this.sink.name, e.next);
      this.onConfirmed(e.count);
    }
    if (this.inFlight.length > 0 && this.inFlight[0].failed) {
      // Only stopping makes a delivery fail; keep the cursor where the server left it.
      this.inFlight = [];
    }
    // While gathering a trickle, the timer reads what arrived: a delivery's end is no reason
    // to send early. A busy stream reads what arrived during the delivery now.
    if (!this.stopping && (this.gatherTimer === undefined || this.busy() || this.fullBatchWaiting())) this.hurry();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.inFlight.length > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when nothing is in flight (used by tests and by a finished replay). */
  whenIdle(): Promise<void> {
    if (this.inFlight.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops reading; waits (up to `graceMs`) for batches in flight to be confirmed. */
  async stop(graceMs: number): Promise<void> {
    // What was being gathered, or waiting for a busy stream's delivery to end, goes now,
    // within the grace; what misses it stays behind the cursor.
    if (this.gatherTimer !== undefined || this.busy()) this.hurry();
    this.stopping = true;
    this.spool.off('appended', this.wake);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.whenIdle(), new Promise<void>((r) => { timer = setTimeout(r, graceMs); })]);
    if (timer) clearTimeout(timer);
  }

  /** Whether the sink has everything the spool holds (for a replay to know it is done). */
  caughtUp(): boolean {
    return this.inFlight.length === 0 && this.spool.ackedPosition(this.sink.name).offset >= this.spool.endPosition().offset;
  }
}
