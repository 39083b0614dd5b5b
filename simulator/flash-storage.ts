/**
 * The MCU's flash filesystem (Espruino's Storage) as the simulator keeps it: it survives
 * watchdog resets (it is flash), optionally lives in a JSON file so it also survives
 * simulator runs, and counts writes so flash wear is visible in run.json.
 */
import fs from 'node:fs';

/** Espruino 2v2x file names are at most 28 characters (JsfFileName). */
export const STORAGE_MAX_NAME = 28;

export interface FlashStats {
  writes: number;
  bytesWritten: number;
  erases: number;
  /** Writes per file name. */
  writesByFile: Record<string, number>;
}

export class FlashStorage {
  readonly stats: FlashStats = { writes: 0, bytesWritten: 0, erases: 0, writesByFile: {} };
  /** Fault injection: writes fail (return false) while set. */
  failWrites = false;
  private readonly files = new Map<string, string>();
  private readonly path: string | undefined;

  /** With a path, the contents are loaded from it (if it exists) and saved on every change. */
  constructor(path?: string) {
    this.path = path;
    if (path && fs.existsSync(path)) {
      const data = JSON.parse(fs.readFileSync(path, 'utf8')) as Record<string, unknown>;
      for (const [name, value] of Object.entries(data)) {
        if (typeof value !== 'string') throw new Error(`${path}: file ${name} is not a string`);
        this.files.set(name, value);
      }
    }
  }

  read(name: string): string | undefined {
    return this.files.get(name);
  }

  write(name: string, data: string): boolean {
    if (this.failWrites) return false;
    this.files.set(name, data);
    this.stats.writes++;
    this.stats.bytesWritten += data.length;
    this.stats.writesByFile[name] = (this.stats.writesByFile[name] ?? 0) + 1;
    this.persist();
    return true;
  }

  erase(name: string): void {
    if (this.files.delete(name)) {
      this.stats.erases++;
      this.persist();
    }
  }

  names(): string[] {
    return [...this.files.keys()].sort();
  }

  private persist(): void {
    if (!this.path) return;
    const out: Record<string, string> = {};
    for (const name of this.names()) out[name] = this.files.get(name) as string;
    fs.writeFileSync(this.path, JSON.stringify(out, null, 1));
  }
}
