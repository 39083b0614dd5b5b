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
