/**
 * When the spool's data is synced and its cursors saved, and the one rule between them:
 * a cursor is never durable ahead of the data it points past. Data written is synced
 * (fdatasync, off the event loop) within the fsync interval; moved cursors are saved
 * within CURSOR_SAVE_MAX_MS, and only as far as the data known durable (SinkCursors.save).
 * While readings flow, the save rides on a data sync once CURSOR_SAVE_MIN_MS have
 * passed, so cursors cost no wake-up of their own.
 *
 * At a trickle (the MCU's one reading a second) a write is synced at once, on the event
 * loop, in the turn that wrote it: a sync a timer tick later, off the loop, costs three
 * wake-ups (the tick, the pool thread, its completion), and on a small host each wake-up
 * costs more CPU than the sync's own work. Writes that come faster than the interval
 * are synced together off the loop, so a burst never waits for the disk.
 */
import fs from 'node:fs';
import type { SinkCursors } from './cursor-files';
import type { Segment } from './segment-files';

/**
 * Moved cursors are saved at most every 4 s, riding on a data sync: with the source read
 * every source.read_interval_ms (3 s by default) every second read carries a save, and
 * no save needs a wake-up of its own. A crash delivers a few seconds of records again
 * (at least once; InfluxDB points overwrite themselves).
 */
const CURSOR_SAVE_MIN_MS = 4000;
/**
 * The save's own timer, for when no sync comes to carry it (the readings stopped): 12 s.
 * Later than the read after a ride on purpose: a Node timer that is cleared still wakes
 * the process when it would have been due, unless a sooner timer is set after it, and
 * the read's own timer, set after the ride cleared this one, is that sooner timer.
 */
const CURSOR_SAVE_MAX_MS = 12000;

/** What the schedule needs from the spool. */
export interface SyncHost {
  /** The segment being written. */
  active(): Segment;
  /** The logical offset after the last record written to a file. */
  endOffset(): number;
  /** Arms the spool's one tick within `delayMs` (an earlier request wins). */
  wake(delayMs: number): void;
  warn(message: string): void;
  /** A data sync succeeded (counted in the spool's figures). */
  synced(): void;
  isClosed(): boolean;
}

export class SyncSchedule {
  private needsSync = false;
  private syncing = false;
  /** The cursors are saved when the data sync in flight completes. */
  private saveAfterSync = false;
  /** Logical offset up to which written data is known to be on disk. */
  private durableOffset = 0;
  private cursorsSavedMs = -Infinity;
  /** When records last reached the file (performance.now()). */
  private lastWriteMs = -Infinity;
  private cursors: SinkCursors | null = null;

  constructor(private readonly intervalMs: number, private readonly host: SyncHost) {}

  /**
   * A process killed before its sync leaves its last writes in the page cache only: they
   * are synced here, before any cursor pointing past them is saved. The segment before
   * the last too, in case it was killed while rolling.
   */
  syncOnOpen(segments: readonly Segment[], startOffset: number): void {
    const n = segments.length;
    try {
      if (n > 1) {
        const fd = fs.openSync(segments[n - 2].file, 'r');
        try { fs.fdatasyncSync(fd); } finally { fs.closeSync(fd); }
      }
      fs.fdatasyncSync(segments[n - 1].fd);
      this.durableOffset = this.host.endOffset();
    } catch (e) {
      this.host.warn(`spool: fdatasync on open failed: ${(e as Error).message}`);
      this.durableOffset = startOffset;
    }
  }

  /** How far the data is known to be on disk (a logical offset). */
  get durable(): number {
    return this.durableOffset;
  }

  attach(cursors: SinkCursors): void {
    this.cursors = cursors;
  }

  /** Records reached the segment file. */
  written(): void {
    const now = performance.now();
    const quiet = now - this.lastWriteMs >= this.intervalMs;
    this.lastWriteMs = now;
    this.needsSync = true;
    if (quiet && !this.syncing) this.syncNow();
    else this.host.wake(this.intervalMs);
  }

  /** Asks the host's tick again for what is still due (the host dropped its timer). */
  rearm(): void {
    if (this.needsSync) this.host.wake(this.intervalMs);
    else if (this.cursors?.unsaved && !this.saveAfterSync) this.cursorsMoved();
  }

  /** A segment was finished (synced when `synced`); the new one starts at `newBase`. */
  rolled(synced: boolean, newBase: number): void {
    if (synced && newBase > this.durableOffset) this.durableOffset = newBase;
    this.needsSync = false;
  }

  /** Cursors are saved at most every CURSOR_SAVE_MIN_MS, by CURSOR_SAVE_MAX_MS: a stale one only means records delivered twice. */
  cursorsMoved(): void {
    const since = performance.now() - this.cursorsSavedMs;
    this.host.wake(Math.max(this.intervalMs, CURSOR_SAVE_MAX_MS - since));
  }

  /** The spool's tick: sync what was written, save cursors when due. */
  tick(): void {
    if (this.needsSync) {
      if (this.syncing) this.host.wake(this.intervalMs);
      else this.syncData();
    }
    if (this.cursors!.unsaved && !this.saveAfterSync) {
      const since = performance.now() - this.cursorsSavedMs;
      if (this.syncing && since >= CURSOR_SAVE_MIN_MS) this.saveAfterSync = true;
      else if (!this.syncing && since >= CURSOR_SAVE_MIN_MS) this.saveCursors();
      else this.cursorsMoved();
    }
  }

  /**
   * fdatasync, not fsync: the size (which an append changes) is synced either way, and
   * the mtime is not worth a journal commit. Off the event loop: it waits for the disk.
   */
  private syncData(): void {
    const fd = this.host.active().fd;
    const upTo = this.host.endOffset();
    this.needsSync = false;
    this.syncing = true;
    fs.fdatasync(fd, (err) => {
      this.syncing = false;
      if (this.host.isClosed()) return;
      if (err) {
        this.host.warn(`spool: fsync failed: ${err.message}`);
      } else {
        this.syncedUpTo(upTo);
      }
      if (this.saveAfterSync) {
        this.saveAfterSync = false;
        this.saveCursors();
      }
    });
  }

  /**
   * The trickle's sync, on the loop (an append's fdatasync waits about a millisecond on
   * an SSD); cursors due within the ride window are saved behind it.
   */
  private syncNow(): void {
    this.needsSync = false;
    this.syncOnLoop();
    if (this.cursors?.unsaved && performance.now() - this.cursorsSavedMs >= CURSOR_SAVE_MIN_MS) this.saveCursors();
  }

  /** The segment being written, fdatasynced on the event loop. */
  private syncOnLoop(): void {
    const upTo = this.host.endOffset();
    try {
      fs.fdatasyncSync(this.host.active().fd);
    } catch (e) {
      this.host.warn(`spool: fsync failed: ${(e as Error).message}`);
      return;
    }
    this.syncedUpTo(upTo);
  }

  /** A sync of the data written up to `upTo` succeeded. */
  private syncedUpTo(upTo: number): void {
    this.host.synced();
    if (upTo > this.durableOffset) this.durableOffset = upTo;
  }

  /** Cursors after data: only those within the durable data are saved, the others wait. */
  private saveCursors(): void {
    this.cursorsSavedMs = performance.now();
    this.cursors!.save(this.durableOffset);
    if (this.cursors!.unsaved) this.cursorsMoved();
  }

  /** At close (the spool is closed, its tick disarmed): syncs the data, then saves every cursor it allows. */
  closeSync(): void {
    this.syncOnLoop();
    this.cursors!.save(this.durableOffset);
    this.cursors!.close();
  }
}
