/**
 * npm start's stdout, which may go away while it runs: `npm start | head -5` (head exits
 * after five lines), `npm start | tee log` and Ctrl-C (tee dies with the same signal), a
 * terminal closed under it. A write to it then fails with EPIPE (or EIO), delivered as an
 * 'error' event that, unheard, kills the process before it can stop the bridge, print its
 * summary or remove its temporary directory. Here the first such error marks the output
 * closed (later writes are dropped) and tells the caller once, so it can stop as cleanly
 * as after Ctrl-C.
 */

export class ClosableOutput {
  private closedBy: string | null = null;
  private readonly listeners: Array<(why: string) => void> = [];

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', (e: NodeJS.ErrnoException) => this.markClosed(e.code ?? e.message));
  }

  /** Why the output went away (e.g. "EPIPE"), or null while it is open. */
  get closed(): string | null {
    return this.closedBy;
  }

  /** Called once, when the output goes away. */
  onClose(listener: (why: string) => void): void {
    this.listeners.push(listener);
  }

  write(text: string): void {
    if (this.closedBy !== null) return;
    try {
      this.stream.write(text);
    } catch (e) {
      // A destroyed stream may throw instead of emitting.
      this.markClosed((e as NodeJS.ErrnoException).code ?? (e as Error).message);
    }
  }

  private markClosed(why: string): void {
    if (this.closedBy !== null) return;
    this.closedBy = why;
    for (const l of this.listeners) l(why);
  }
}
