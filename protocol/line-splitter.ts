/**
 * Line splitting for the serial link, shared by the MCU (host commands) and the bridge
 * (the MCU's frames). Its own module so the firmware bundle takes it without the codec.
 */

/**
 * Cuts a stream arriving in arbitrary chunks into lines. Holds at most `maxLength`
 * characters of a line, plus one '\r' that may turn out to be its terminator, so a peer
 * that never sends '\n' cannot make it grow. A longer line is reported once through
 * onOverflow and skipped up to its '\n'. Feed it bytes decoded as latin1 so that one
 * byte is one character.
 */
export class LineSplitter {
  private buf = '';
  /** Inside an overlong line: drop everything up to the next '\n'. */
  private skipping = false;

  constructor(
    private readonly maxLength: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow?: () => void,
  ) {}

  /** Calls onLine for every line completed by this chunk, without its "\n" or "\r\n". */
  push(chunk: string): void {
    const max = this.maxLength;
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', from);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.skipping) {
        // Never copy more than can still fit: a huge chunk costs no extra memory.
        const room = max + 2 - this.buf.length;
        const buf = this.buf + chunk.slice(from, end - from > room ? from + room : end);
        const n = buf.length;
        this.buf = buf;
        if (n > max + 1 || (n === max + 1 && buf.charCodeAt(n - 1) !== 13)) {
          this.buf = '';
          this.skipping = true;
          if (this.onOverflow) this.onOverflow();
        }
      }
      if (nl < 0) return;
      if (!this.skipping) {
        const line = this.buf;
        this.buf = '';
        this.onLine(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, line.length - 1) : line);
      }
      this.skipping = false;
      from = nl + 1;
    }
  }

  /** Characters of the current incomplete line held (never more than maxLength). */
  bufferedLength(): number {
    return this.buf.length > this.maxLength ? this.maxLength : this.buf.length;
  }

  /** Forget any partial line, e.g. after a reconnect. */
  reset(): void {
    this.buf = '';
    this.skipping = false;
  }
}
