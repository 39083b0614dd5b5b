/**
 * Hands each spooled frame, and each change of the MCU link, to the features listening.
 * Synchronous and in order; a listener that throws is logged (rate-limited) and the
 * others still run, so one broken feature cannot stop readings being spooled.
 */
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited-log';
import type { SpooledFrame } from '../spool/spooled-frame';

export type FrameListener = (rec: SpooledFrame) => void;
export type LinkListener = (up: boolean, reason?: string) => void;

export class FrameBus {
  private frameListeners: FrameListener[] = [];
  private linkListeners: LinkListener[] = [];
  private readonly limited: RateLimitedLog;
  private latest: { record: SpooledFrame; receivedAtMs: number } | null = null;

  constructor(log: Logger, private readonly now: () => number = Date.now) {
    this.limited = new RateLimitedLog(log, 10000);
  }

  onFrame(listener: FrameListener): () => void {
    this.frameListeners = [...this.frameListeners, listener];
    return () => { this.frameListeners = this.frameListeners.filter((l) => l !== listener); };
  }

  onLink(listener: LinkListener): () => void {
    this.linkListeners = [...this.linkListeners, listener];
    return () => { this.linkListeners = this.linkListeners.filter((l) => l !== listener); };
  }

  frame(rec: SpooledFrame): void {
    if (rec.frame.type === 'R') this.latest = { record: rec, receivedAtMs: this.now() };
    const ls = this.frameListeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i](rec);
      } catch (e) {
        this.limited.warn('frame_listener', `a feature failed on a frame: ${(e as Error).message}`);
      }
    }
  }

  link(up: boolean, reason?: string): void {
    for (const l of this.linkListeners) {
      try {
        l(up, reason);
      } catch (e) {
        this.limited.warn('link_listener', `a feature failed on a link change: ${(e as Error).message}`);
      }
    }
  }

  latestReading(): { record: SpooledFrame; receivedAtMs: number } | null {
    return this.latest;
  }
}
