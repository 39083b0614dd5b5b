/**
 * The ingest side's small state files in the spool directory: boot anchors (written
 * synchronously when a boot is first seen) and the sequence tracker's last reading
 * (written lazily: on start the newest reading in the spool wins over it, see bridge.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../spool/atomic-file';
import type { AnchorStore } from './boot-clock';
import type { TrackerState } from './sequence-tracker';

export class AnchorFile implements AnchorStore {
  private readonly file: string;
  constructor(dir: string, private readonly onWarning: (msg: string) => void = () => undefined) {
    this.file = path.join(dir, 'boot-anchors.json');
  }

  load(): Map<number, number> {
    const out = new Map<number, number>();
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return out;
    }
    try {
      const obj = JSON.parse(text) as { anchors?: Array<[number, number]> };
      for (const [boot, anchor] of obj.anchors ?? []) {
        if (Number.isSafeInteger(boot) && Number.isSafeInteger(anchor)) out.set(boot, anchor);
      }
    } catch {
      this.onWarning(`unreadable ${this.file}: boots seen again get new anchors (a replay may then duplicate points)`);
    }
    return out;
  }

  /**
   * On a full disk the anchor cannot be made durable: warned, and retried with the next
   * boot's save. Readings go on being stamped; only a replay of this boot after a restart
   * would get a new anchor (duplicate points at other times).
   */
  save(anchors: Map<number, number>): void {
    try {
      writeFileAtomicSync(this.file, JSON.stringify({ anchors: [...anchors] }) + '\n');
    } catch (e) {
      this.onWarning(`cannot save ${this.file}: ${(e as Error).message}`);
    }
  }
}

export class TrackerFile {
  private readonly file: string;
  constructor(dir: string) {
    this.file = path.join(dir, 'last-reading.json');
  }

  load(): TrackerState | null {
    try {
      const s = JSON.parse(fs.readFileSync(this.file, 'utf8')) as TrackerState;
      if (Number.isSafeInteger(s.boot) && Number.isSafeInteger(s.seq) && typeof s.up === 'number') return s;
    } catch {
      // Missing or unreadable: the first reading after start is simply "first".
    }
    return null;
  }

  save(state: TrackerState): void {
    writeFileAtomicSync(this.file, JSON.stringify(state) + '\n');
  }
}
