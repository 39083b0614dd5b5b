/**
 * When a live link may stop reading for a while, so that a trickle of readings arrives a
 * few at a time instead of one per wake-up. Pure: the caller passes the clock.
 *
 * Why: at one reading a second the bridge's cost is mostly the wake-up itself (cold
 * caches, mostly interpreted code), not the work on the reading; five readings read in
 * one wake-up cost about 40 % less CPU than five wake-ups (bridge/README.md, "Performance
 * and memory"). While the link is paused the bytes wait in the kernel's socket buffer,
 * so a pause is bounded twice:
 * - by time (`maxPauseMs`): what waits is that much later on every topic, and is lost
 *   if the bridge dies meanwhile, as are the bytes that arrive while it restarts;
 * - by bytes (`budgetBytes`): from the rate just seen, the pause ends before about that
 *   many bytes wait, so a fast stream (50 readings/s, a backlog) is read in short pauses
 *   and a burst not at all.
 * `hold` reads at once for a while: a command waits for its reply, a live page is open.
 */

export interface ReadPacing {
  /** Longest pause after a read, ms (0: never pause). */
  maxPauseMs: number;
  /** Bytes the link may hold back during a pause, at the rate just seen. */
  budgetBytes: number;
  /** A pause shorter than this is not worth a timer: read on. */
  minPauseMs: number;
}

/** 2 KiB: about 8 readings. */
export const READ_BUDGET_BYTES = 2048;
export const MIN_READ_PAUSE_MS = 20;

export class ReadPacer {
  private lastReadAt = 0;
  private heldUntil = -Infinity;
  private holders = 0;

  constructor(private readonly pacing: ReadPacing) {}

  /** A link opened at `now`: the next read's rate is measured from here. */
  opened(now: number): void {
    this.lastReadAt = now;
  }

  /** After a read of `bytes` at `now`: how long to pause before reading again (0: read on). */
  afterRead(bytes: number, now: number): number {
    const elapsed = now - this.lastReadAt;
    this.lastReadAt = now;
    if (this.pacing.maxPauseMs <= 0 || this.holders > 0 || now < this.heldUntil) return 0;
    const pause = elapsed <= 0 || bytes <= 0
      ? this.pacing.maxPauseMs
      : Math.min(this.pacing.maxPauseMs, (this.pacing.budgetBytes * elapsed) / bytes);
    return pause < this.pacing.minPauseMs ? 0 : Math.floor(pause);
  }

  /** Read at once until `until` (e.g. a command's reply is due by then). */
  holdUntil(until: number): void {
    if (until > this.heldUntil) this.heldUntil = until;
  }

  /** Read at once while held (counted: each hold(true) needs its hold(false)). */
  hold(on: boolean): void {
    this.holders = Math.max(0, this.holders + (on ? 1 : -1));
  }

  held(now: number): boolean {
    return this.holders > 0 || now < this.heldUntil;
  }
}
