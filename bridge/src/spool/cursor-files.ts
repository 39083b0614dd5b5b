/**
 * Each sink's place in the spool, one file per sink: cursor-<sink>.json holding
 * { offset, index } of the first record the sink has NOT had confirmed, replaced
 * atomically. Saved after the data they point past is durable (the spool's tick orders it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from './atomic-file';

/** A place in the spool: byte offset in the logical stream, and records before it. */
export interface SpoolPosition {
  offset: number;
  index: number;
}

const CURSOR_RE = /^cursor-([A-Za-z0-9_.-]+)\.json$/;

/** Every readable cursor in `dir`; `warn` hears about the unreadable ones. */
export function loadCursorFiles(dir: string, warn: (message: string) => void): Map<string, SpoolPosition> {
  const found = new Map<string, SpoolPosition>();
  for (const name of fs.readdirSync(dir)) {
    const m = CURSOR_RE.exec(name);
    if (!m) continue;
    try {
      const c = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as SpoolPosition;
      if (Number.isSafeInteger(c.offset) && Number.isSafeInteger(c.index)) found.set(m[1], { offset: c.offset, index: c.index });
    } catch {
      warn(`spool: unreadable cursor file ${name}, that sink starts from the oldest record`);
    }
  }
  return found;
}

export function saveCursorFile(dir: string, sink: string, pos: SpoolPosition): void {
  writeFileAtomicSync(path.join(dir, `cursor-${sink}.json`), JSON.stringify(pos) + '\n');
}

/** Every sink's confirmed position, what it lost to the byte bound, and which cursors await saving. */
export class SinkCursors {
  private readonly acked = new Map<string, SpoolPosition>();
  private readonly dropped = new Map<string, number>();
  private readonly dirty = new Set<string>();
  /** The last save error logged, so a full disk does not log it every second. */
  private saveError = '';

  /** Loads the saved cursors of `sinks`, each kept within [start, end]. */
  constructor(private readonly dir: string, sinks: readonly string[], start: SpoolPosition, end: SpoolPosition, private readonly warn: (message: string) => void) {
    const found = loadCursorFiles(dir, warn);
    for (const sink of sinks) {
      let pos = found.get(sink) ?? start;
      // A cursor before the oldest segment: that data was dropped while the sink was away
      // (or its segment deleted); one past the end: the tail it pointed into was torn.
      if (pos.offset < start.offset) pos = start;
      if (pos.offset > end.offset) pos = end;
      this.acked.set(sink, pos);
      this.dropped.set(sink, 0);
    }
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

  /** Saves the moved cursors; one that cannot be saved (a full disk) stays unsaved for the next try. */
  save(): void {
    for (const sink of [...this.dirty]) {
      try {
        saveCursorFile(this.dir, sink, this.acked.get(sink)!);
        this.dirty.delete(sink);
        this.saveError = '';
      } catch (e) {
        const msg = (e as Error).message;
        // A stale cursor only means records delivered again after a crash: warn, retry.
        if (msg !== this.saveError) this.warn(`spool: cannot save the ${sink} cursor (${msg}); retrying, a crash meanwhile would deliver some records again`);
        this.saveError = msg;
      }
    }
  }
}
