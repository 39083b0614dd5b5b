/**
 * What the bridge knows about its source between frames: when the last valid frame came
 * (its age on /metrics and /healthz, so a silent link shows even while "up"), and the
 * up/down log, rate-limited so a link that flaps twice a second costs a few lines a
 * minute (each summary says how many transitions it stands for and ends on the latest
 * state). The counters (connects, failures) still see every transition.
 */
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited-log';
import type { BridgeMetrics } from '../metrics/bridge-metrics';
import type { Source } from '../sources/source';

/** While the link flaps: at most LINK_LOG_BURST up/down lines per window, then one summary at its end. */
export const LINK_LOG_INTERVAL_MS = 60000;
export const LINK_LOG_BURST = 4;

export interface SilenceReport {
  /** Seconds since the last valid frame, or since the source was started when none came yet. */
  lastFrameAgeS: number;
  /** Whether any valid frame came since the source was started. */
  anyFrame: boolean;
  /** The source's silence limit in seconds (0 = not watched: a replay, or silence detection off). */
  limitS: number;
  silent: boolean;
}

export class SourceWatch {
  private readonly linkLog: RateLimitedLog;
  private startedAt: number;
  private lastFrameAt: number | null = null;

  constructor(
    private readonly source: Source,
    private readonly metrics: BridgeMetrics,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.linkLog = new RateLimitedLog(log, LINK_LOG_INTERVAL_MS, now, { summarize: true, burst: LINK_LOG_BURST });
    this.startedAt = now();
    metrics.registry.onCollect(() => metrics.lastFrameAge.set(Math.round(this.report().lastFrameAgeS * 1000) / 1000));
  }

  /** Each valid frame (reading, event, reply). */
  frame(): void {
    this.lastFrameAt = this.now();
    this.source.frameArrived?.();
  }

  up(): void {
    this.metrics.sourceUp.set(1);
    this.metrics.sourceConnects.inc();
    this.linkLog.emit('info', 'link', `${this.source.description} is up`, { connects: this.metrics.sourceConnects.get() });
  }

  down(reason: string): void {
    this.metrics.sourceUp.set(0);
    if (reason.startsWith('end of replay')) {
      this.linkLog.emit('info', 'link', `${this.source.description} is down: ${reason}`);
      return;
    }
    this.metrics.sourceFailures.inc();
    this.linkLog.warn('link', `${this.source.description} is down: ${reason}`, { failures: this.metrics.sourceFailures.get() });
  }

  report(): SilenceReport {
    const t = this.now();
    const since = this.lastFrameAt ?? this.startedAt;
    const lastFrameAgeS = Math.max(0, t - since) / 1000;
    const limitS = (this.source.silenceLimitMs ?? 0) / 1000;
    return { lastFrameAgeS, anyFrame: this.lastFrameAt !== null, limitS, silent: limitS > 0 && lastFrameAgeS > limitS };
  }

  /** Logs what the rate limit still holds (at shutdown). */
  close(): void {
    this.linkLog.close();
  }
}
