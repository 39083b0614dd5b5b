/**
 * The spool directory's lock: a file holding the pid of the bridge using it, so two
 * bridges never append to one spool. A lock left by a dead process (crash, SIGKILL) is
 * taken over; one held by a live process is an error naming it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from './atomic-file';

export class SpoolError extends Error {}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SpoolLock {
  private readonly file: string;

  /** Takes the lock of `dir` (which exists), or throws SpoolError if a live process holds it. */
  constructor(dir: string) {
    this.file = path.join(dir, 'lock');
    try {
      const held = Number(fs.readFileSync(this.file, 'utf8').trim());
      if (Number.isInteger(held) && held > 0 && held !== process.pid && pidAlive(held)) {
        throw new SpoolError(`spool directory ${dir} is in use by process ${held}`);
      }
    } catch (e) {
      if (e instanceof SpoolError) throw e;
      // No lock file, or an unreadable one left by a crash: ours to take.
    }
    writeFileAtomicSync(this.file, String(process.pid) + '\n');
  }

  release(): void {
    try {
      if (fs.readFileSync(this.file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(this.file);
    } catch {
      // Already gone.
    }
  }
}
