/**
 * Logs a recurring problem once per kind per interval: the first occurrence at once, then
 * silence, then one line saying how many were suppressed. A stream of garbage on the
 * serial line then costs a few log lines a minute, not one per byte, while the counters
 * (metrics) still see every occurrence.
 *
 * With `summarize`, the count is not left waiting for the next occurrence (which may
 * never come once a flood stops): at the end of each window with suppressed entries, the
 * latest suppressed entry is logged with how many it stands for. The last line a person
 * reads for a kind is then its latest state (a link that flapped and ended down says
 * down), and a flood of N costs about one line per kind per interval.
 */
import type { LogFields, Logger, LogLevel } from './logger';

interface Latest {
  level: LogLevel;
  msg: string;
  fields?: LogFields;
}

interface KindState {
  at: number;
  /** Entries logged in this window. */
  logged: number;
  suppressed: number;
  latest: Latest | null;
  timer?: NodeJS.Timeout;
}

export interface RateLimitOptions {
  /** Log the latest suppressed entry, with the count, when its window ends. */
  summarize?: boolean;
  /** Entries of one kind logged per window before suppression starts (default 1). */
  burst?: number;
}

export class RateLimitedLog {
  private readonly last = new Map<string, KindState>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    private readonly options: RateLimitOptions = {},
  ) {}

  /** Logs unless this kind was logged less than the interval ago. Returns whether it logged. */
  emit(level: LogLevel, kind: string, msg: string, fields?: LogFields): boolean {
    const t = this.now();
    const seen = this.last.get(kind);
    if (seen && t - seen.at < this.intervalMs && seen.logged < (this.options.burst ?? 1)) {
      seen.logged++;
      this.log[level](msg, { ...fields, kind });
      return true;
    }
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      if (this.options.summarize) {
        seen.latest = { level, msg, fields };
        if (!seen.timer && !this.closed) {
          seen.timer = setTimeout(() => this.summarize(kind), Math.max(1, seen.at + this.intervalMs - t));
          seen.timer.unref();
        }
      }
      return false;
    }
    const suppressed = seen ? seen.suppressed : 0;
    if (seen?.timer) clearTimeout(seen.timer);
    this.last.set(kind, { at: t, logged: 1, suppressed: 0, latest: null });
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

  /** The window of `kind` ended with entries suppressed: log the latest, standing for all of them. */
  private summarize(kind: string): void {
    const s = this.last.get(kind);
    if (!s || s.suppressed === 0 || !s.latest) return;
    const { level, msg, fields } = s.latest;
    const n = s.suppressed;
    // The summary opens a new window, so a flood that goes on costs one line per interval.
    this.last.set(kind, { at: this.now(), logged: 1, suppressed: 0, latest: null });
    this.log[level](`${msg} (latest of ${n} like it in ${Math.round(this.intervalMs / 1000)} s, not logged one by one)`, { ...fields, kind, suppressed: n });
  }

  /** Logs every pending summary now and stops the timers (at shutdown). */
  close(): void {
    this.closed = true;
    for (const [kind, s] of [...this.last]) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
      if (this.options.summarize) this.summarize(kind);
    }
  }
}
