/**
 * When the values features compute go out on MQTT. A retained QoS 1 publish (and its
 * PUBACK) per value per reading was most of the bridge's work at one reading a second, for
 * numbers that move a little with every reading (state of charge, time to go). So a number
 * that changed goes at most once per interval, the newest winning; a change of kind goes
 * at once, because that is what automations react to: a yes/no or state value (night
 * forecast, time_to_go_state), a value becoming unknown or known again, a key's first
 * value. Pure bookkeeping: the caller says what time it is.
 */
import type { DerivedValue } from '../../core/derived-values';

export class DerivedPacer {
  /** Each key's payload as last handed out for publishing (published again on reconnect). */
  private readonly sent = new Map<string, string>();
  /** Changed since then; the newest value per key. */
  private readonly pending = new Map<string, string>();
  private urgent = false;
  private takenMs = -Infinity;

  constructor(private readonly intervalMs: number) {}

  /** null goes as "None" (Home Assistant's unknown; an empty retained payload would delete the topic). */
  set(key: string, value: DerivedValue): void {
    const text = value === null ? 'None' : String(value);
    const before = this.sent.get(key);
    if (before === text) {
      // Back where it was published: nothing to say.
      this.pending.delete(key);
      return;
    }
    this.pending.set(key, text);
    if (typeof value !== 'number' || before === undefined || before === 'None') this.urgent = true;
  }

  /** Milliseconds until the pending values are due (0: now), or null when nothing is pending. */
  dueInMs(nowMs: number): number | null {
    if (this.pending.size === 0) return null;
    if (this.urgent) return 0;
    return Math.max(0, this.takenMs + this.intervalMs - nowMs);
  }

  /** The pending values, now counted as published. */
  take(nowMs: number): Array<[string, string]> {
    const out = [...this.pending];
    for (const [k, text] of out) this.sent.set(k, text);
    this.pending.clear();
    this.urgent = false;
    this.takenMs = nowMs;
    return out;
  }

  /** Every value as last published. */
  published(): IterableIterator<[string, string]> {
    return this.sent.entries();
  }
}
