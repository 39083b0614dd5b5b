/**
 * Each sink's place in the spool: the { offset, index } of the first record the sink has
 * NOT had confirmed, kept in memory and saved to the cursor file (cursor-store.ts). A
 * position is saved only once the data it points past is durable: save() is told how
 * far that is, and a cursor ahead of it keeps its previous saved position until a later save.
 */
import { CursorFile, CursorOrigin } from './cursor-store';
import type { SpoolPosition } from './spool-types';

export type { SpoolPosition } from './spool-types';

/** Every sink's confirmed position, what it lost to the byte bound, and which cursors await saving. */
export class SinkCursors {
  private readonly acked = new Map<string, SpoolPosition>();
  private readonly dropped = new Map<string, number>();
  private readonly dirty = new Set<string>();
  /**
   * What the cursor file holds, the base of the next save: the configured sinks and the
   * sinks of earlier starts, kept so that a sink configured again resumes where it was.
   */
  private saved: Map<string, SpoolPosition>;
  private readonly file: CursorFile;
  /** The last save error logged, so a failing disk does not log it every save. */
  private saveError = '';
  readonly origin: CursorOrigin;

  /**
   * Loads the saved cursors of `sinks`, each kept within [start, end]. A new file
   * (upgrade, or one lost) is written at once, with what `durableOffset` allows.
   */
  constructor(dir: string, sinks: readonly string[], start: SpoolPosition, end: SpoolPosition, durableOffset: number, private readonly warn: (message: string) => void) {
    this.file = new CursorFile(dir, warn);
    const loaded = this.file.load();
    this.origin = loaded.origin;
    this.saved = loaded.positions;
    for (const sink of sinks) {
      let pos = this.saved.get(sink) ?? start;
      // A cursor before the oldest segment: that data was dropped while the sink was away
      // (or its segment deleted); one past the end: the tail it pointed into was torn.
      if (pos.offset < start.offset) pos = start;
      if (pos.offset > end.offset) pos = end;
      this.acked.set(sink, pos);
      this.dropped.set(sink, 0);
      if (loaded.origin !== 'file') this.dirty.add(sink);
    }
    // Upgrading from the per-sink files (deleted once this save is durable) or replacing a
    // lost file: written now, so a crash before the first cursor moves finds it.
    if (loaded.origin === 'legacy' || loaded.origin === 'lost') this.save(durableOffset, true);
  }

  /** The sink's position, or undefined for a sink the spool does not know. */
  get(sink: string): SpoolPosition | undefined {
    return this.acked.get(sink);
  }

  entries(): IterableIterator<[string, SpoolPosition]> {
    return this.acked.entries();
  }

  /** The lowest offset any sink is at: everything before it is delivered everywhere. */
  minOffset(): number {
    let min = Infinity;
    for (const pos of this.acked.values()) min = Math.min(min, pos.offset);
    return min;
  }

  move(sink: string, pos: SpoolPosition): void {
    this.acked.set(sink, { offset: pos.offset, index: pos.index });
    this.dirty.add(sink);
  }

  /** `records` the sink never got were dropped; it moves on to `pos`. */
  drop(sink: string, records: number, pos: SpoolPosition): void {
    this.dropped.set(sink, (this.dropped.get(sink) ?? 0) + records);
    this.move(sink, pos);
  }

  droppedOf(sink: string): number {
    return this.dropped.get(sink) ?? 0;
  }

  get unsaved(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * Saves the moved cursors that point no further than `durableOffset` (the end of the
   * data known to be on disk), in one write. A cursor past it, or a save that fails (an
   * I/O error), stays unsaved for the next try. `always`: write even if nothing moved.
   */
  save(durableOffset: number, always = false): void {
    const next = new Map(this.saved);
    const done: string[] = [];
    for (const sink of this.dirty) {
      const pos = this.acked.get(sink)!;
      if (pos.offset > durableOffset) continue;
      next.set(sink, pos);
      done.push(sink);
    }
    if (done.length === 0 && !always) return;
    try {
      this.file.save(next);
      this.saved = next;
      for (const sink of done) this.dirty.delete(sink);
      this.saveError = '';
    } catch (e) {
      const msg = (e as Error).message;
      // A stale cursor only means records delivered again after a crash: warn, retry.
      if (msg !== this.saveError) this.warn(`spool: cannot save the sink cursors to ${this.file.file} (${msg}); retrying, a crash meanwhile would deliver some records again`);
      this.saveError = msg;
    }
  }

  close(): void {
    this.file.close();
  }
}
