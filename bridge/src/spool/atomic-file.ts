/**
 * Small state files (sink cursors, boot anchors) replaced atomically: a reader after a
 * crash finds either the old content or the new, never half of each.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Makes a directory entry change (create, rename, unlink) durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the data files are still fsynced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes `data` to a temporary file beside `file`, fsyncs it, renames it over `file`. */
export function writeFileAtomicSync(file: string, data: string): void {
  const tmp = file + '.tmp';
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}
