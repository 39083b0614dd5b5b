/**
 * The sink cursor file, cursors.bin in the spool directory: one file for every sink,
 * kept open, two checksummed slots (cursor-slots.ts). A save is one pwrite into the slot
 * not holding the newest good save and one fdatasync: the file's size and blocks never
 * change, so there is no metadata to sync and no block to allocate (a save works on a
 * full ext4/xfs disk). The file is created whole (temporary file, fsync, rename) when it
 * is missing or must grow.
 *
 * Earlier versions kept one cursor-<sink>.json per sink, replaced atomically on every
 * save. When cursors.bin is missing they are read, and deleted once their positions are
 * durable in cursors.bin.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from './atomic-file';
import { decodeCursorFile, encodeSlot, slotSizeFor } from './cursor-slots';
import type { SpoolPosition } from './spool-types';

export const CURSOR_FILE = 'cursors.bin';
const LEGACY_RE = /^cursor-([A-Za-z0-9_.-]+)\.json$/;

/** Where loaded positions came from: the file, the old per-sink files, nothing yet, or a file that could not be read. */
export type CursorOrigin = 'file' | 'legacy' | 'none' | 'lost';

export class CursorFile {
  readonly file: string;
  private fd = -1;
  private slotBytes = 0;
  private generation = 0;
  /** The slot holding the newest durable save: the next save writes the other one. */
  private durableSlot: 0 | 1 = 0;
  /** Old per-sink files, deleted after the first durable save here. */
  private legacy: string[] = [];

  constructor(private readonly dir: string, private readonly warn: (message: string) => void) {
    this.file = path.join(dir, CURSOR_FILE);
  }

  /** The saved positions of every sink the file knows (configured now or earlier). */
  load(): { positions: Map<string, SpoolPosition>; origin: CursorOrigin } {
    const names = fs.readdirSync(this.dir);
    this.legacy = names.filter((n) => LEGACY_RE.test(n));
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the sink cursors in ${this.file}: ${(e as Error).message}`);
      if (this.legacy.length === 0) return { positions: new Map(), origin: 'none' };
      return { positions: this.loadLegacy(), origin: 'legacy' };
    }
    const c = decodeCursorFile(buf);
    if (!c.newest) {
      this.warn(`spool: SINK CURSORS LOST: ${this.file} has no good slot (${c.damaged.join('; ')}); every sink starts again from the oldest record in the spool, so records are delivered again rather than skipped. The file is rewritten.`);
      return { positions: new Map(), origin: 'lost' };
    }
    // One torn slot is what a power cut during a save leaves; the other is the save before.
    for (const d of c.damaged) this.warn(`spool: ${this.file} ${d}; using the other slot (save ${c.newest.generation})`);
    this.fd = fs.openSync(this.file, 'r+');
    this.slotBytes = c.slotBytes;
    this.generation = c.newest.generation;
    this.durableSlot = c.newest.slot;
    return { positions: c.newest.positions, origin: 'file' };
  }

  private loadLegacy(): Map<string, SpoolPosition> {
    const found = new Map<string, SpoolPosition>();
    for (const name of this.legacy) {
      const sink = LEGACY_RE.exec(name)![1];
      try {
        const c = JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as SpoolPosition;
        if (Number.isSafeInteger(c.offset) && Number.isSafeInteger(c.index) && c.offset >= 0 && c.index >= 0) {
          found.set(sink, { offset: c.offset, index: c.index });
          continue;
        }
      } catch {
        // Said below, as for a bad shape.
      }
      this.warn(`spool: unreadable cursor file ${name}, the ${sink} sink starts from the oldest record`);
    }
    return found;
  }

  /** Makes `positions` durable (the whole set: sinks left out are forgotten); throws when it cannot. */
  save(positions: ReadonlyMap<string, SpoolPosition>): void {
    const slot = encodeSlot(this.generation + 1, positions);
    if (this.fd < 0 || slot.length > this.slotBytes) {
      this.create(slot);
    } else {
      const target = this.durableSlot === 0 ? 1 : 0;
      const n = fs.writeSync(this.fd, slot, 0, slot.length, target * this.slotBytes);
      if (n !== slot.length) throw new Error(`short write to ${this.file}`);
      // The slot's blocks exist and the size does not change: the data is all there is to sync.
      fs.fdatasyncSync(this.fd);
      // Only now: after a failed write or sync the next save goes to the same slot again,
      // so the last good save is never the one overwritten.
      this.durableSlot = target;
    }
    this.generation++;
    if (this.legacy.length > 0) this.removeLegacy();
  }

  /** Writes a new file holding `slot` in slot 0, both slots' blocks allocated (zeros, not a hole). */
  private create(slot: Buffer): void {
    const size = slotSizeFor(slot.length);
    const whole = Buffer.alloc(2 * size);
    slot.copy(whole, 0);
    writeFileAtomicSync(this.file, whole);
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.slotBytes = size;
    this.durableSlot = 0;
    try {
      this.fd = fs.openSync(this.file, 'r+');
    } catch (e) {
      // The save is durable; the next one creates the file again.
      this.warn(`spool: cannot open ${this.file} after writing it: ${(e as Error).message}`);
    }
  }

  private removeLegacy(): void {
    for (const name of this.legacy) {
      try {
        fs.rmSync(path.join(this.dir, name), { force: true });
      } catch (e) {
        this.warn(`spool: cannot delete the old cursor file ${name}: ${(e as Error).message}`);
      }
    }
    this.legacy = [];
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
