/**
 * Damage found in the spool's segments (a record torn by power loss, a flipped bit, bytes
 * overwritten), reported once: logged with where and why, counted by the caller, and the
 * damaged bytes copied to <spool>/quarantine/<segment>-<offset>.bad beside a .txt saying
 * why, for a person to inspect. The .bad file also marks the damage as reported: a later
 * start, or a second reader passing the same place, finds it and says nothing more.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from './atomic-file';

export interface SpoolDamageFound {
  /** The segment file. */
  file: string;
  /** Byte offset of the damage within that file. */
  offset: number;
  /** The damaged bytes themselves. */
  bytes: Buffer;
  why: string;
  /** cut: removed from the end of the file; skipped: left in place, readers step over it. */
  action: 'cut' | 'skipped';
}

export const QUARANTINE_DIR = 'quarantine';

export class SpoolDamage {
  private readonly dir: string;
  private readonly seen = new Set<string>();

  constructor(spoolDir: string, private readonly warn: (message: string) => void) {
    this.dir = path.join(spoolDir, QUARANTINE_DIR);
  }

  /** Logs and quarantines damage; false if it was reported already (this run or an earlier one). */
  report(d: SpoolDamageFound): boolean {
    const segment = path.basename(d.file);
    const name = `${path.basename(segment, '.log')}-${d.offset}`;
    if (this.seen.has(name)) return false;
    this.seen.add(name);
    const bad = path.join(this.dir, `${name}.bad`);
    try {
      // Same place and same length: the damage an earlier start reported and kept.
      if (fs.statSync(bad).size === d.bytes.length) return false;
    } catch {
      // Not reported before.
    }
    let kept: string;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const reason = `${d.bytes.length} damaged bytes ${d.action} from ${segment} at byte offset ${d.offset}: ${d.why}\nfound ${new Date().toISOString()}\n`;
      writeFileAtomicSync(path.join(this.dir, `${name}.txt`), reason);
      // The .bad file last: it is what marks the damage as reported.
      writeFileAtomicSync(bad, d.bytes);
      kept = `kept in ${QUARANTINE_DIR}/${name}.bad`;
    } catch (e) {
      kept = `could not keep them in ${QUARANTINE_DIR}/ (${(e as Error).message}), so they may be reported again on the next start`;
    }
    this.warn(`spool: ${d.bytes.length} damaged bytes in ${segment} at offset ${d.offset} (${d.why}), ${d.action}; ${kept}`);
    return true;
  }
}
