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

/**
 * Writes `data` to a temporary file beside `file`, fsyncs it, renames it over `file`. On
 * failure (a full disk) the temporary file is removed and `file` keeps its old content.
 */
export function writeFileAtomicSync(file: string, data: string | Buffer): void {
  const tmp = file + '.tmp';
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      // A short write is a full disk that has not said so yet: never rename half a file in.
      if (fs.writeSync(fd, bytes) !== bytes.length) throw new Error(`short write to ${tmp} (disk full?)`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(path.dirname(file));
}
