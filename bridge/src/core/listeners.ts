/**
 * A list of listeners that can be removed while it is being called: each call walks the
 * list as it was when the call began (adding or removing replaces the array).
 */
export class Listeners<A extends unknown[]> {
  private list: ReadonlyArray<(...args: A) => void> = [];

  /** Returns the unsubscribe. */
  add(fn: (...args: A) => void): () => void {
    this.list = [...this.list, fn];
    return () => { this.list = this.list.filter((l) => l !== fn); };
  }

  /**
   * emit() for one argument, without the rest-parameter array and spread call per
   * listener: the frame bus calls it for every frame.
   */
  emit1(this: Listeners<[A[0]]>, failed: (e: Error) => void, arg: A[0]): void {
    const ls = this.list;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i](arg);
      } catch (e) {
        failed(e as Error);
      }
    }
  }

  /** Calls each; a listener that throws is reported to `failed` and the others still run. */
  emit(failed: ((e: Error) => void) | null, ...args: A): void {
    const ls = this.list;
    for (let i = 0; i < ls.length; i++) {
      if (!failed) {
        ls[i](...args);
        continue;
      }
      try {
        ls[i](...args);
      } catch (e) {
        failed(e as Error);
      }
    }
  }
}
