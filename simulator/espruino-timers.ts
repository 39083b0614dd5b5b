/**
 * Espruino's timers on virtual time: a binary heap ordered by due time, ties broken by
 * creation order (Espruino walks its timer list in that order). An interval is
 * rescheduled from its previous due time, so it never drifts. Cancelled timers stay in
 * the heap, marked, until they reach the top: cancelling is O(1).
 */

/** Espruino's TIMER_MIN_INTERVAL, 0.1 ms. */
export const MIN_INTERVAL_S = 0.0001;

export interface Timer {
  id: number;
  /** Virtual time it is due. */
  time: number;
  /** Seconds; 0 for a timeout. */
  interval: number;
  fn: (...args: unknown[]) => unknown;
  args: unknown[];
  /** Creation order, to break ties between timers due at the same instant. */
  seq: number;
  cancelled: boolean;
}

function dueBefore(a: Timer, b: Timer): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export class TimerQueue {
  private heap: Timer[] = [];
  private readonly byId = new Map<number, Timer>();
  private nextId = 1;
  private created = 0;

  /** Adds a timer due `delayS` from `now` (at least MIN_INTERVAL_S); returns its id. */
  add(fn: (...args: unknown[]) => unknown, args: unknown[], delayS: number, repeat: boolean, now: number): number {
    const s = delayS >= MIN_INTERVAL_S ? delayS : MIN_INTERVAL_S;
    const timer: Timer = { id: this.nextId++, time: now + s, interval: repeat ? s : 0, fn, args, seq: this.created++, cancelled: false };
    this.byId.set(timer.id, timer);
    this.push(timer);
    return timer.id;
  }

  cancel(id: number): void {
    const t = this.byId.get(id);
    if (t) {
      t.cancelled = true;
      this.byId.delete(t.id);
    }
  }

  cancelAll(): void {
    for (const t of this.byId.values()) t.cancelled = true;
    this.byId.clear();
  }

  /** Forgets every timer (a reset). Ids keep counting, so an id kept from before a reset matches nothing after it. */
  clear(): void {
    this.heap = [];
    this.byId.clear();
  }

  /** The next live timer, or undefined. */
  peek(): Timer | undefined {
    const heap = this.heap;
    while (heap.length > 0 && heap[0].cancelled) this.pop();
    return heap[0];
  }

  /** Takes the timer `peek` returned off the top: an interval goes back in at its next due time. */
  take(timer: Timer): void {
    this.pop();
    if (timer.interval > 0) {
      // Rescheduled from its due time, not from now; it keeps its place among timers
      // due at the same instant.
      timer.time += timer.interval;
      this.push(timer);
    } else {
      this.byId.delete(timer.id);
    }
  }

  private push(t: Timer): void {
    const heap = this.heap;
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!dueBefore(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as Timer;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && dueBefore(heap[l], heap[m])) m = l;
      if (r < heap.length && dueBefore(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
}
