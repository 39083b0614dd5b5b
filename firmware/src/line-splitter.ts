/**
 * Line splitting for the serial link, shared by the MCU (host commands) and the bridge
 * (the MCU's frames). Its own module so the firmware bundle takes it without the codec.
 */

/**
 * Cuts a stream arriving in arbitrary chunks into lines. Holds at most `maxLength`
 * characters (plus one flag for a '\r' that may turn out to be the line end), so a
 * peer that never sends '\n' cannot make it grow. Feed it bytes decoded as latin1 so
 * that one byte is one character.
 */
export class LineSplitter {
  private buf = '';
  /** A '\r' arrived when buf was already full; it only fits if '\n' comes next. */
  private cr = false;
  /** Inside an overlong line: drop everything up to the next '\n'. */
  private skipping = false;

  constructor(
    private readonly maxLength: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow?: () => void,
  ) {}

  /** Calls onLine for every line completed by this chunk, without its "\n" or "\r\n". */
  push(chunk: string): void {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf('\n', from);
      if (nl < 0) {
        this.hold(chunk, from);
        return;
      }
      this.complete(chunk, from, nl);
      from = nl + 1;
    }
  }

  /** Characters currently held for an incomplete line (never more than maxLength). */
  bufferedLength(): number { return this.buf.length; }

  /** Forget any partial line, e.g. after a reconnect. */
  reset(): void {
    this.buf = '';
    this.cr = false;
    this.skipping = false;
  }

  private overflow(): void {
    this.buf = '';
    this.cr = false;
    if (this.onOverflow) this.onOverflow();
  }

  private hold(chunk: string, from: number): void {
    if (this.skipping) return;
    const held = this.buf.length + (this.cr ? 1 : 0);
    const total = held + chunk.length - from;
    if (total <= this.maxLength) {
      this.buf += chunk.slice(from);
      return;
    }
    if (!this.cr && total === this.maxLength + 1 && chunk.charCodeAt(chunk.length - 1) === 13) {
      this.buf += chunk.slice(from, chunk.length - 1);
      this.cr = true;
      return;
    }
    this.skipping = true;
    this.overflow();
  }

  private complete(chunk: string, from: number, nl: number): void {
    if (this.skipping) {
      this.skipping = false; // the overlong line ends here; it was reported when detected
      return;
    }
    const total = this.buf.length + (this.cr ? 1 : 0) + nl - from;
    if (total > this.maxLength + 1) {
      this.overflow();
      return;
    }
    let line = this.buf.length === 0 && !this.cr ? chunk.slice(from, nl) : this.buf + (this.cr ? '\r' : '') + chunk.slice(from, nl);
    this.buf = '';
    this.cr = false;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, line.length - 1);
    if (line.length > this.maxLength) {
      if (this.onOverflow) this.onOverflow();
      return;
    }
    this.onLine(line);
  }
}
