/**
 * The spool's state while it cannot write (a full disk, a quota, an I/O error): since
 * when and why, the bounded retry backoff, and what could not be kept. Pure: the caller
 * passes the clock.
 *
 * While stalled, records are held in memory up to a byte bound and written when a retry
 * succeeds; past the bound every further record is refused and counted as lost until the
 * stall ends, so what is lost is one unbroken run (one "from .. to" in the log) and the
 * newest records are the ones refused: the held ones are older and already promised.
 */

/** First retry after a failed write, and the ceiling the backoff doubles up to. */
export const STALL_RETRY_MIN_MS = 250;
export const STALL_RETRY_MAX_MS = 5000;

/** Error codes that mean "no room", as opposed to a failing device. */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);

export class WriteStall {
  /** Records refused (not kept) during this stall. */
  lost = 0;
  /** Set at the first refusal: from then on every record is refused until the stall ends. */
  losing = false;
  private retryMs = STALL_RETRY_MIN_MS;
  /** When (performance.now() scale) the next write may be tried. */
  retryAtMs: number;
  readonly reason: string;

  constructor(readonly sinceMs: number, readonly error: Error, nowMono: number) {
    const code = (error as NodeJS.ErrnoException).code;
    this.reason = code !== undefined && NO_SPACE_CODES.has(code) ? 'spool disk full' : `spool cannot write (${error.message})`;
    this.retryAtMs = nowMono + this.retryMs;
  }

  /** A retry failed again: back off (bounded). */
  failedAgain(nowMono: number): void {
    this.retryMs = Math.min(this.retryMs * 2, STALL_RETRY_MAX_MS);
    this.retryAtMs = nowMono + this.retryMs;
  }

  /** Something freed space (a segment deleted): try at once, and from a short backoff again. */
  spaceFreed(nowMono: number): void {
    this.retryMs = STALL_RETRY_MIN_MS;
    this.retryAtMs = nowMono;
  }

  /** Whether a record of `size` bytes may be held, with `heldBytes` held already; counts a refusal. */
  mayHold(heldBytes: number, size: number, holdBytes: number): boolean {
    if (!this.losing && heldBytes + size <= holdBytes) return true;
    this.losing = true;
    this.lost++;
    return false;
  }
}
