/**
 * Hands each spooled frame, and each change of the MCU link, to the features listening.
 * Synchronous and in order; a listener that throws is logged (rate-limited) and the
 * others still run, so one broken feature cannot stop readings being spooled.
 */
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited-log';
import type { SpooledFrame } from '../spool/spooled-frame';
import { Listeners } from './listeners';

export type FrameListener = (rec: SpooledFrame) => void;
export type LinkListener = (up: boolean, reason?: string) => void;

export class FrameBus {
  private readonly frameListeners = new Listeners<[SpooledFrame]>();
  private readonly linkListeners = new Listeners<[boolean, string | undefined]>();
  private readonly limited: RateLimitedLog;
  private latest: SpooledFrame | null = null;
  private latestAtMs = 0;

  constructor(log: Logger, private readonly now: () => number = Date.now) {
    this.limited = new RateLimitedLog(log, 10000);
  }

  onFrame(listener: FrameListener): () => void {
    return this.frameListeners.add(listener);
  }

  onLink(listener: LinkListener): () => void {
    return this.linkListeners.add(listener);
  }

  private readonly frameFailed = (e: Error): void => { this.limited.warn('frame_listener', `a feature failed on a frame: ${e.message}`); };
  private readonly linkFailed = (e: Error): void => { this.limited.warn('link_listener', `a feature failed on a link change: ${e.message}`); };

  frame(rec: SpooledFrame): void {
    if (rec.frame.type === 'R') {
      this.latest = rec;
      this.latestAtMs = this.now();
    }
    this.frameListeners.emit1(this.frameFailed, rec);
  }

  link(up: boolean, reason?: string): void {
    this.linkListeners.emit(this.linkFailed, up, reason);
  }

  latestReading(): { record: SpooledFrame; receivedAtMs: number } | null {
    return this.latest ? { record: this.latest, receivedAtMs: this.latestAtMs } : null;
  }
}
