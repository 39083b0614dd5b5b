/**
 * Where the reading sequence stands, kept across restarts: the tracker starts from the
 * newest reading in the spool (or, with an empty spool, the last saved state), and its
 * state is saved at most every 30 s after it changed (the file only matters when the spool
 * holds no reading, so it may lag): the save is armed by the frame that changed it, so an
 * idle bridge has no timer waking it for this, and a reading a second does not cost a
 * file write, two fsyncs and a rename each.
 */
import type { Logger } from '../log/logger';
import type { Spool } from '../spool/spool';
import { decodeSpooledFrame, isSpooledReading } from '../spool/spooled-frame';
import { SequenceTracker, TrackerState } from './sequence-tracker';
import { TrackerFile } from './state-files';

/**
 * The newest reading in the spool, which holds every frame read before a crash. The
 * tracker file is saved lazily and can lag it: starting from that would count the
 * readings in between as a gap although they were received.
 */
function lastSpooledReading(spool: Spool): TrackerState | null {
  let pos = spool.tailPosition();
  let last: string | null = null;
  for (let batches = 0; batches < 100000; batches++) {
    const b = spool.read(pos, 5000, 4 * 1024 * 1024);
    if (b.payloads.length === 0) break;
    for (const p of b.payloads) if (isSpooledReading(p)) last = p;
    pos = b.next;
  }
  const f = last === null ? null : decodeSpooledFrame(last);
  return f && f.frame.type === 'R' ? { boot: f.frame.boot, seq: f.frame.seq, up: f.frame.up } : null;
}

const SAVE_DELAY_MS = 30_000;

export class SequenceState {
  readonly tracker: SequenceTracker;
  private readonly file: TrackerFile;
  private timer: NodeJS.Timeout | undefined;
  private lastSaved = '';
  private saveError = '';
  private running = false;

  constructor(spool: Spool, dir: string, private readonly log: Logger) {
    this.file = new TrackerFile(dir);
    this.tracker = new SequenceTracker(lastSpooledReading(spool) ?? this.file.load());
  }

  start(): void {
    this.running = true;
  }

  /** A frame went through the tracker: save its state within SAVE_DELAY_MS. */
  changed(): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save();
    }, SAVE_DELAY_MS);
    this.timer.unref();
  }

  private save(): void {
    const s = this.tracker.state();
    if (!s) return;
    const text = JSON.stringify(s);
    if (text === this.lastSaved) return;
    this.lastSaved = text;
    try {
      this.file.save(s);
      this.saveError = '';
    } catch (e) {
      // Once per kind of failure: on a full disk this fails every second until space returns.
      const msg = (e as Error).message;
      if (msg !== this.saveError) this.log.warn(`could not save the last reading: ${msg} (retried; said again only if the error changes)`);
      this.saveError = msg;
      this.lastSaved = '';
    }
  }

  /** Saves a last time. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.save();
  }
}
