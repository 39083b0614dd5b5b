/**
 * The spool directory's lock, so two bridges never append to one spool: a symbolic link
 * named `lock` whose target is the holder's pid. A short link lives in the inode itself
 * (ext4, tmpfs, xfs), so the lock is taken even on a disk with no free block: a bridge
 * must be able to start on a full disk, because only a running bridge drains the spool
 * and frees space. Creating the link is atomic (it fails if `lock` exists), so no
 * temporary file is ever left behind. A lock left by a dead process (crash, SIGKILL) is
 * taken over; one held by a live process is an error naming it. A plain file holding a
 * pid (the format of earlier versions) is honoured the same way.
 */
import fs from 'node:fs';
import path from 'node:path';

export class SpoolError extends Error {}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock (link target or file content), 0 when there is none or it is unreadable. */
function lockHolder(file: string): number {
  try {
    const text = fs.lstatSync(file).isSymbolicLink() ? fs.readlinkSync(file) : fs.readFileSync(file, 'utf8');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

export class SpoolLock {
  private readonly file: string;

  /** Takes the lock of `dir` (which exists), or throws SpoolError if a live process holds it. */
  constructor(dir: string) {
    this.file = path.join(dir, 'lock');
    // Earlier versions wrote the lock through a temporary file, which a full disk left behind.
    fs.rmSync(path.join(dir, 'lock.tmp'), { force: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.symlinkSync(String(process.pid), this.file);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new SpoolError(`cannot take the lock of spool directory ${dir}: ${(e as Error).message}`);
      }
      const held = lockHolder(this.file);
      if (held === process.pid) return;
      if (held > 0 && pidAlive(held)) throw new SpoolError(`spool directory ${dir} is in use by process ${held}`);
      // Stale (its process is gone) or unreadable: ours to take. Removing it frees space too.
      fs.rmSync(this.file, { force: true });
    }
    throw new SpoolError(`cannot take the lock of spool directory ${dir}: another process keeps taking it`);
  }

  release(): void {
    try {
      if (lockHolder(this.file) === process.pid) fs.unlinkSync(this.file);
    } catch {
      // Already gone.
    }
  }
}
