/**
 * Logs a recurring problem once per kind per interval: the first occurrence at once, then
 * silence, then one line saying how many were suppressed. A stream of garbage on the
 * serial line then costs a few log lines a minute, not one per byte, while the counters
 * (metrics) still see every occurrence.
 */
import type { LogFields, Logger, LogLevel } from './logger';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs unless this kind was logged less than the interval ago. Returns whether it logged. */
  emit(level: LogLevel, kind: string, msg: string, fields?: LogFields): boolean {
    const t = this.now();
    const seen = this.last.get(kind);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return false;
    }
    const suppressed = seen ? seen.suppressed : 0;
    this.last.set(kind, { at: t, suppressed: 0 });
    this.log[level](msg, suppressed > 0 ? { ...fields, kind, suppressed_since_last: suppressed } : { ...fields, kind });
    return true;
  }

  warn(kind: string, msg: string, fields?: LogFields): boolean {
    return this.emit('warn', kind, msg, fields);
  }

  /** Suppressed occurrences of a kind not yet reported. */
  suppressed(kind: string): number {
    return this.last.get(kind)?.suppressed ?? 0;
  }
}
